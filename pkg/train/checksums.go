package train

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
)

// ChecksumsFileName is the file in every checkpoint directory that holds
// the SHA-256 of each other file of the directory, in the format of
// sha256sum ("HEX  NAME" lines; `sha256sum -c checksums.sha256` checks it
// in the directory). It is written with the checkpoint, before the atomic
// rename that makes the checkpoint visible.
const ChecksumsFileName = "checksums.sha256"

// CorruptCheckpointError reports a checkpoint file whose content does not
// match the checksum recorded when it was written (or that is missing, or
// a checksum file that cannot be read).
type CorruptCheckpointError struct {
	Dir    string // the checkpoint directory
	File   string // the file's name in Dir
	Reason string
}

func (e *CorruptCheckpointError) Error() string {
	return fmt.Sprintf("checkpoint %s is corrupt: %s: %s", e.Dir, e.File, e.Reason)
}

// writeChecksums writes ChecksumsFileName in dir for every regular file of
// dir: known holds the digests already computed while writing (by file
// name); the other files are read and hashed.
func writeChecksums(dir string, known map[string][]byte) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("train: checkpoint checksums: %w", err)
	}
	var b bytes.Buffer
	for _, e := range entries { // sorted by name
		name := e.Name()
		if name == ChecksumsFileName || !e.Type().IsRegular() {
			continue
		}
		sum, ok := known[name]
		if !ok {
			if sum, err = hashFile(filepath.Join(dir, name)); err != nil {
				return fmt.Errorf("train: checkpoint checksums: %w", err)
			}
		}
		fmt.Fprintf(&b, "%x  %s\n", sum, name)
	}
	return writeFileSync(filepath.Join(dir, ChecksumsFileName), b.Bytes())
}

// hashFile returns the SHA-256 of a file's content.
func hashFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, bufio.NewReaderSize(f, 1<<20)); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// readChecksums parses a checksums file: one "HEX  NAME" (or "HEX *NAME")
// line per file, NAME a plain file name of the checkpoint directory.
func readChecksums(dir string) (map[string][]byte, error) {
	data, err := os.ReadFile(filepath.Join(dir, ChecksumsFileName))
	if err != nil {
		return nil, err
	}
	corrupt := func(format string, args ...any) error {
		return &CorruptCheckpointError{Dir: dir, File: ChecksumsFileName, Reason: fmt.Sprintf(format, args...)}
	}
	if len(data) == 0 || data[len(data)-1] != '\n' {
		return nil, corrupt("empty or cut short (no final newline)")
	}
	sums := map[string][]byte{}
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		hexSum, name, ok := strings.Cut(line, " ")
		name, binary := strings.CutPrefix(name, "*")
		if !binary {
			name, ok = strings.CutPrefix(name, " ")
		}
		sum, err := hex.DecodeString(hexSum)
		switch {
		case !ok || err != nil || len(sum) != sha256.Size:
			return nil, corrupt("line %d: want \"<64 hex digits>  <file name>\", got %q", i+1, line)
		case name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) || name == ChecksumsFileName:
			return nil, corrupt("line %d: %q is not a file of the checkpoint directory", i+1, name)
		case sums[name] != nil:
			return nil, corrupt("line %d: %s is listed twice", i+1, name)
		}
		sums[name] = sum
	}
	for _, required := range []string{StateFileName, variablesFileName} {
		if sums[required] == nil {
			return nil, corrupt("does not list %s", required)
		}
	}
	return sums, nil
}

// VerifyCheckpoint checks every file listed in a checkpoint's checksums
// file against its SHA-256. It returns verified = false without an error
// for a checkpoint written before checkpoints carried checksums (no
// checksums file), and a *CorruptCheckpointError naming the first file
// that is missing or differs.
func VerifyCheckpoint(dir string) (verified bool, err error) {
	sums, err := readChecksums(dir)
	if errors.Is(err, os.ErrNotExist) {
		if _, statErr := os.Stat(dir); statErr != nil {
			return false, statErr
		}
		return false, nil
	}
	if err != nil {
		return false, err
	}
	names := make([]string, 0, len(sums))
	for name := range sums {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		got, err := hashFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			return false, &CorruptCheckpointError{Dir: dir, File: name, Reason: "missing (listed in " + ChecksumsFileName + ")"}
		}
		if err != nil {
			return false, fmt.Errorf("checkpoint %s: %w", dir, err)
		}
		if !bytes.Equal(got, sums[name]) {
			return false, &CorruptCheckpointError{Dir: dir, File: name,
				Reason: fmt.Sprintf("its SHA-256 is %x, %s recorded %x when it was written", got, ChecksumsFileName, sums[name])}
		}
	}
	return true, nil
}

// corruptNewestError explains that the newest checkpoint of runDir cannot
// be resumed and names the newest older checkpoint that verifies, to be
// chosen explicitly (Config.ResumeFrom): a run never falls back to an older
// checkpoint on its own.
func corruptNewestError(runDir, newest string, err error) error {
	dirs, _ := CheckpointDirs(runDir)
	for i := len(dirs) - 1; i >= 0; i-- {
		dir := dirs[i]
		if dir == newest {
			continue
		}
		verified, verr := VerifyCheckpoint(dir)
		if verr != nil {
			continue
		}
		note := "is intact"
		if !verified {
			note = "has no checksums (written before checkpoints carried them) and cannot be verified"
		}
		return fmt.Errorf("train: cannot resume: %w; the previous checkpoint %s %s: resume from it explicitly (--resume-from %s), or move %s out of %s",
			err, dir, note, dir, filepath.Base(newest), filepath.Dir(newest))
	}
	return fmt.Errorf("train: cannot resume: %w; no earlier checkpoint of %s is intact: start a new run directory", err, runDir)
}

// discardedPrefix names the checkpoints moved aside by Config.ResumeFrom.
const discardedPrefix = "discarded-"

// resumeFromDir checks that Config.ResumeFrom is a complete checkpoint of
// the run directory and returns it.
func (t *Trainer) resumeFromDir() (string, error) {
	dirs, err := CheckpointDirs(t.cfg.RunDir)
	if err != nil {
		return "", err
	}
	want, err := filepath.Abs(t.cfg.ResumeFrom)
	if err != nil {
		return "", fmt.Errorf("train: resume from %s: %w", t.cfg.ResumeFrom, err)
	}
	var names []string
	for _, dir := range dirs {
		abs, err := filepath.Abs(dir)
		if err == nil && abs == want {
			return dir, nil
		}
		names = append(names, filepath.Base(dir))
	}
	return "", fmt.Errorf("train: cannot resume from %s: it is not a checkpoint of %s (its checkpoints: %s)",
		t.cfg.ResumeFrom, filepath.Join(t.cfg.RunDir, checkpointsDirName), strings.Join(names, ", "))
}

// discardNewerCheckpoints moves the checkpoints after step aside (renamed
// discarded-step-N, which CheckpointDirs ignores) and makes best.json agree
// with the restored state.
func (t *Trainer) discardNewerCheckpoints(step int) error {
	dirs, err := CheckpointDirs(t.cfg.RunDir)
	if err != nil {
		return err
	}
	root := filepath.Join(t.cfg.RunDir, checkpointsDirName)
	for _, dir := range dirs {
		m := checkpointDirPattern.FindStringSubmatch(filepath.Base(dir))
		if n, _ := strconv.Atoi(m[1]); n <= step {
			continue
		}
		aside := filepath.Join(root, discardedPrefix+filepath.Base(dir))
		for i := 2; ; i++ {
			if _, err := os.Lstat(aside); errors.Is(err, os.ErrNotExist) {
				break
			}
			aside = filepath.Join(root, fmt.Sprintf("%s%s-%d", discardedPrefix, filepath.Base(dir), i))
		}
		if err := os.Rename(dir, aside); err != nil {
			return fmt.Errorf("train: moving aside the checkpoint after the one resumed: %w", err)
		}
		t.log.Warn("train: resuming from an earlier checkpoint: moved a newer one aside", "resumed", checkpointDirName(step), "moved", dir, "to", aside)
	}
	atomicfile.SyncDir(root)
	best := filepath.Join(root, bestFileName)
	if t.state.HasBest {
		if _, err := os.Stat(filepath.Join(root, checkpointDirName(t.state.BestStep))); err == nil {
			return t.writeBest()
		}
	}
	if err := os.Remove(best); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}
