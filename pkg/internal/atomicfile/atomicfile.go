// Package atomicfile writes files so that a crash or a kill never leaves a
// half-written one: the content goes to a synced temporary file in the
// destination's directory, which is renamed over the destination only once
// complete.
package atomicfile

import (
	"bufio"
	"bytes"
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
