package train

import (
	"bytes"
	stdcontext "context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
)

// checksumRun trains a toy run of steps steps with a checkpoint every 2
// steps in dir and returns its final trainable values.
func checksumRun(t *testing.T, dir string, steps int, edit func(*Config)) (map[string][]float32, *Result, error) {
	t.Helper()
	src := mustLMSource(t, toyExamples(12, 31, 6, 20), LMSourceConfig{BatchSize: 2, MaxLen: 32, Buckets: []int{32}, Shuffle: true, Seed: 3})
	cfg := testConfig(dir)
	cfg.Steps = steps
	cfg.CheckpointEvery = 2
	cfg.Schedule = ScheduleConstant // a shorter run is a prefix of a longer one
	if edit != nil {
		edit(&cfg)
	}
	store := newToyModel(31)
	res, err := newTrainer(t, store, CausalLM(toyLogits), src, cfg).Run(stdcontext.Background())
	if err != nil {
		return nil, res, err
	}
	snap := testutil.Snapshot(t, store, toyTrainable...)
	out := map[string][]float32{}
	for k, v := range snap {
		out[k] = v
	}
	return out, res, nil
}

func flipBit(t *testing.T, path string, offset int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[offset] ^= 0x10
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCheckpointCarriesChecksumsAndIsReadable(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := checksumRun(t, dir, 2, nil); err != nil {
		t.Fatal(err)
	}
	ckptDir := filepath.Join(dir, checkpointsDirName, "step-00000002")
	info, err := os.Stat(ckptDir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o755 {
		t.Errorf("checkpoint directory mode %v, want 0755", perm)
	}
	sums, err := os.ReadFile(filepath.Join(ckptDir, ChecksumsFileName))
	if err != nil {
		t.Fatalf("no checksums file: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(sums)), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[0], "  "+StateFileName) || !strings.HasSuffix(lines[1], "  "+variablesFileName) {
		t.Errorf("checksums file:\n%s", sums)
	}
	ckpt, err := LoadCheckpoint(ckptDir)
	if err != nil || !ckpt.Verified || len(ckpt.Warnings) != 0 {
		t.Fatalf("LoadCheckpoint: verified %v, warnings %v, err %v", ckpt != nil && ckpt.Verified, ckpt.Warnings, err)
	}
	// The file is what sha256sum -c checks, in the checkpoint directory.
	if _, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command("sha256sum", "--quiet", "-c", ChecksumsFileName)
		cmd.Dir = ckptDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, out)
		}
	}
}

// TestCorruptCheckpointIsNamedAndThePreviousOneOffered: a same-size bit
// flip in variables.bin of the newest checkpoint stops a resume with an
// error naming the file, the checkpoint and the previous intact one; only
// an explicit ResumeFrom continues from that one, to the same variables as
// an uninterrupted run.
func TestCorruptCheckpointIsNamedAndThePreviousOneOffered(t *testing.T) {
	want, _, err := checksumRun(t, t.TempDir(), 6, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, _, err := checksumRun(t, dir, 4, nil); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, checkpointsDirName)
	newest, previous := filepath.Join(root, "step-00000004"), filepath.Join(root, "step-00000002")
	flipBit(t, filepath.Join(newest, variablesFileName), 5)

	_, err = LoadCheckpoint(newest)
	var corrupt *CorruptCheckpointError
	if !errors.As(err, &corrupt) || corrupt.File != variablesFileName || corrupt.Dir != newest {
		t.Fatalf("LoadCheckpoint of a flipped bit: err = %v", err)
	}
	var resumed []string // what OnResume was told: only resumes that restored a checkpoint
	onResume := func(ckpt string, step int) error {
		resumed = append(resumed, fmt.Sprintf("%s@%d", ckpt, step))
		return nil
	}
	_, _, err = checksumRun(t, dir, 6, func(c *Config) { c.Resume, c.OnResume = true, onResume })
	if err == nil {
		t.Fatal("resumed from a corrupt checkpoint")
	}
	for _, part := range []string{newest, variablesFileName, "SHA-256", previous + " is intact", "--resume-from " + previous} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not name %q", err, part)
		}
	}
	// Nothing was written or moved by the refused resume.
	if _, err := os.Stat(newest); err != nil {
		t.Errorf("the corrupt checkpoint was moved or removed: %v", err)
	}

	// A ResumeFrom outside the run's checkpoints is refused.
	if _, _, err := checksumRun(t, dir, 6, func(c *Config) { c.ResumeFrom = t.TempDir() }); err == nil || !strings.Contains(err.Error(), "not a checkpoint of") {
		t.Errorf("ResumeFrom elsewhere: err = %v", err)
	}
	var logBuf bytes.Buffer
	got, res, err := checksumRun(t, dir, 6, func(c *Config) {
		c.ResumeFrom, c.OnResume = previous, onResume
		c.Logger = slog.New(slog.NewTextHandler(&logBuf, nil))
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{previous + "@2"}; !slices.Equal(resumed, want) {
		t.Errorf("OnResume calls %q, want %q", resumed, want)
	}
	if res.ResumedFrom != previous || res.Steps != 6 {
		t.Errorf("resumed from %q to step %d", res.ResumedFrom, res.Steps)
	}
	if _, err := os.Stat(filepath.Join(root, "discarded-step-00000004", variablesFileName)); err != nil {
		t.Errorf("the corrupt checkpoint was not kept aside: %v", err)
	}
	if !strings.Contains(logBuf.String(), "moved a newer one aside") {
		t.Errorf("log does not say that a checkpoint was moved aside:\n%s", logBuf.String())
	}
	for _, key := range toyTrainable {
		if d := testutil.MaxAbsDiff(want[key], got[key]); d > 1e-6 {
			t.Errorf("%s: resumed from the previous checkpoint differs from an uninterrupted run by %g", key, d)
		}
	}
	// A later plain resume finds the new newest checkpoint, not the discarded one.
	if latest, _ := LatestCheckpoint(dir); filepath.Base(latest) != "step-00000006" {
		t.Errorf("latest = %q", latest)
	}
}

func TestCorruptStateOrChecksumsFileIsNamed(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := checksumRun(t, dir, 2, nil); err != nil {
		t.Fatal(err)
	}
	ckptDir := filepath.Join(dir, checkpointsDirName, "step-00000002")
	state := filepath.Join(ckptDir, StateFileName)
	data, _ := os.ReadFile(state)
	i := bytes.Index(data, []byte(`"step": 2`))
	if i < 0 {
		t.Fatalf("state.json:\n%s", data)
	}
	flipBit(t, state, int64(i+len(`"step": `))) // '2' → '"': same size
	if _, err := LoadCheckpoint(ckptDir); err == nil || !strings.Contains(err.Error(), StateFileName) || !strings.Contains(err.Error(), ckptDir) {
		t.Errorf("flipped state.json: err = %v", err)
	}
	// No earlier checkpoint: the resume error says so.
	if _, _, err := checksumRun(t, dir, 4, func(c *Config) { c.Resume = true }); err == nil || !strings.Contains(err.Error(), "no earlier checkpoint") {
		t.Errorf("resume: err = %v", err)
	}
	flipBit(t, state, int64(i+len(`"step": `))) // back
	sums := filepath.Join(ckptDir, ChecksumsFileName)
	for _, content := range []string{"", "abc  state.json\n", "0000000000000000000000000000000000000000000000000000000000000000  ../x\n"} {
		if err := os.WriteFile(sums, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadCheckpoint(ckptDir); err == nil || !strings.Contains(err.Error(), ChecksumsFileName) {
			t.Errorf("checksums file %q: err = %v", content, err)
		}
	}
	// A listed file that is missing is named.
	if err := os.WriteFile(sums, []byte(strings.Repeat("0", 64)+"  "+StateFileName+"\n"+strings.Repeat("0", 64)+"  "+variablesFileName+"\n"+strings.Repeat("0", 64)+"  extra.bin\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCheckpoint(ckptDir); err == nil || !strings.Contains(err.Error(), "extra.bin: missing") {
		t.Errorf("missing listed file: err = %v", err)
	}
}

// TestCheckpointWithoutChecksumsLoadsWithAWarning: checkpoints written
// before checksums existed still resume, and the run says that they could
// not be verified.
func TestCheckpointWithoutChecksumsLoadsWithAWarning(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := checksumRun(t, dir, 2, nil); err != nil {
		t.Fatal(err)
	}
	ckptDir := filepath.Join(dir, checkpointsDirName, "step-00000002")
	if err := os.Remove(filepath.Join(ckptDir, ChecksumsFileName)); err != nil {
		t.Fatal(err)
	}
	ckpt, err := LoadCheckpoint(ckptDir)
	if err != nil {
		t.Fatal(err)
	}
	if ckpt.Verified || len(ckpt.Warnings) != 1 || !strings.Contains(ckpt.Warnings[0], "cannot be verified") {
		t.Errorf("verified %v, warnings %q", ckpt.Verified, ckpt.Warnings)
	}
	var logBuf bytes.Buffer
	if _, _, err := checksumRun(t, dir, 4, func(c *Config) {
		c.Resume = true
		c.Logger = slog.New(slog.NewTextHandler(&logBuf, nil))
	}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logBuf.String(), "level=WARN") || !strings.Contains(logBuf.String(), "has no "+ChecksumsFileName) {
		t.Errorf("no warning about the missing checksums:\n%s", logBuf.String())
	}
}
