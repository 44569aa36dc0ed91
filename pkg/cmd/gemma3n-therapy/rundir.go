package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// startFiles are what a run writes into its directory before its first
// step: the resolved configuration, the data summary, the settings of a
// pipeline, and a pipeline's summary of a failed start. A run directory
// holding nothing else (besides an empty metrics log and empty folders)
// holds no work.
var startFiles = []string{"config.yaml", "data_summary.json", "run.json", "summary.json"}

// runDirGuard remembers whether a run directory existed before the run, so
// that a failed start can remove what it created (and nothing else).
type runDirGuard struct {
	dir     string
	existed bool
}

// guardRunDir notes whether dir exists now; an error other than "does not
// exist" counts as existing, so that nothing is ever removed on a doubt.
func guardRunDir(dir string) runDirGuard {
	_, err := os.Lstat(dir)
	return runDirGuard{dir: dir, existed: !errors.Is(err, fs.ErrNotExist)}
}

// cleanUpFailedStart removes the run directory after a failed run when the
// run created it and it holds only start files (no checkpoint, no metric
// record, no adapter), and says so on w. It reports whether it removed it.
func (g runDirGuard) cleanUpFailedStart(w io.Writer) bool {
	if g.existed || g.dir == "" {
		return false
	}
	var files []string
	onlyStart := true
	err := filepath.WalkDir(g.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		name := d.Name()
		switch {
		case !d.Type().IsRegular():
			onlyStart = false
		case slices.Contains(startFiles, name):
		case name == "metrics.jsonl" && info.Size() == 0:
		default:
			onlyStart = false
		}
		if !onlyStart {
			return filepath.SkipAll
		}
		rel, _ := filepath.Rel(g.dir, path)
		files = append(files, rel)
		return nil
	})
	if err != nil || !onlyStart {
		return false
	}
	if err := os.RemoveAll(g.dir); err != nil {
		return false
	}
	what := "it was empty"
	if len(files) > 0 {
		what = "it held only " + strings.Join(files, ", ")
	}
	fmt.Fprintf(w, "removed the run directory %s, which this failed start created (%s)\n", g.dir, what)
	return true
}
