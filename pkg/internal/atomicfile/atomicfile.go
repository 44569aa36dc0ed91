// Package atomicfile writes files so that a crash or a kill never leaves a
// half-written one: the content goes to a synced temporary file in the
// destination's directory, which is renamed over the destination only once
// complete.
package atomicfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// tempInfix separates the destination's name from CreateTemp's random
// digits in a temporary file's name: "."+base+tempInfix+digits.
const tempInfix = ".tmp-"

// Write fills a temporary file next to path through fill (buffered), syncs
// it, makes it readable (0644), renames it over path and syncs the
// directory so that the rename survives a crash. On any error the
// temporary file is removed, path is left as it was, and the error names
// path. A temporary file left behind by a killed process is recognised by
// IsTemp.
func Write(path string, fill func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+tempInfix+"*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("writing %s: %w", path, err)
		}
	}()
	w := bufio.NewWriterSize(tmp, 1<<20)
	if err = fill(w); err != nil {
		return err
	}
	if err = w.Flush(); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	SyncDir(dir)
	return nil
}

// WriteBytes writes data to path atomically (see Write).
func WriteBytes(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := io.Copy(w, bytes.NewReader(data))
		return err
	})
}

// IsTemp reports whether name, a file's base name, has the shape of the
// temporary files Write creates ("."+destination+".tmp-"+digits). Such a
// file outside a running Write is the leftover of a killed process; the
// owner of a directory may remove it.
func IsTemp(name string) bool {
	i := strings.LastIndex(name, tempInfix)
	if i < 2 || name[0] != '.' {
		return false
	}
	digits := name[i+len(tempInfix):]
	if digits == "" {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// SyncDir makes a rename in dir durable (Write does it itself; this is for
// callers that rename directories). Not every system can sync a directory,
// hence no error.
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// WriteJSON writes v as indented JSON (with a final newline) to path
// atomically.
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", filepath.Base(path), err)
	}
	return WriteBytes(path, append(data, '\n'))
}

// CopyFile copies the regular file src to dst atomically (0644).
func CopyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return Write(dst, func(w io.Writer) error {
		if _, err := io.Copy(w, in); err != nil {
			return fmt.Errorf("copying %s: %w", src, err)
		}
		return nil
	})
}

// ReplaceDir fills a temporary directory next to dst and then puts it in
// dst's place (an existing dst is moved aside and removed), so that dst is
// never seen half written. On an error from fill the temporary directory
// is removed and dst is left as it was.
func ReplaceDir(dst string, fill func(tmp string) error) error {
	parent := filepath.Dir(dst)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, ".tmp-"+filepath.Base(dst)+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // a no-op after the rename
	if err := fill(tmp); err != nil {
		return err
	}
	return MoveDir(tmp, dst)
}

// MoveDir puts the complete directory src (made readable, 0755) in dst's
// place: an existing dst is moved aside and removed. src should be next to
// dst (same file system), as ReplaceDir's temporary directory is, for the
// rename to be atomic.
func MoveDir(src, dst string) error {
	if err := os.Chmod(src, 0o755); err != nil {
		return err
	}
	parent := filepath.Dir(dst)
	if _, err := os.Stat(dst); err == nil {
		// rename cannot replace a non-empty directory: move the old one aside.
		old, err := os.MkdirTemp(parent, ".old-"+filepath.Base(dst)+"-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(old)
		if err := os.Rename(dst, filepath.Join(old, "dir")); err != nil {
			return err
		}
	}
	if err := os.Rename(src, dst); err != nil {
		return err
	}
	SyncDir(parent)
	return nil
}

// ReadJSON decodes the JSON file at path into v (the reading side of
// WriteJSON). A missing file is the os error as it is (errors.Is
// os.ErrNotExist); a decoding error names path.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
