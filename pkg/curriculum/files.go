package curriculum

import (
	"errors"
	"io"
	"os"
	"path/filepath"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
)

// writeJSON writes v, indented, to path atomically.
func writeJSON(path string, v any) error { return atomicfile.WriteJSON(path, v) }

// concatFiles writes the files' contents, in order, to path atomically;
// files that do not exist are skipped.
func concatFiles(path string, files []string) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		for _, name := range files {
			f, err := os.Open(name)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			_, err = io.Copy(w, f)
			f.Close()
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// copyDir copies the regular files of src (not its subdirectories) into a
// new directory that replaces dst as a whole.
func copyDir(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	return atomicfile.ReplaceDir(dst, func(tmp string) error {
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			if err := atomicfile.CopyFile(filepath.Join(src, e.Name()), filepath.Join(tmp, e.Name())); err != nil {
				return err
			}
		}
		return nil
	})
}
