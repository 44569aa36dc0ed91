package train

import (
	"bytes"
	stdcontext "context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
)

func TestCheckpointRoundTripAndRestore(t *testing.T) {
	src := mustLMSource(t, toyExamples(8, 20, 6, 20), LMSourceConfig{BatchSize: 2, MaxLen: 32, Buckets: []int{32}})
	cfg := testConfig(t.TempDir())
	cfg.Steps = 2
	scope := newToyModel(20)
	res, err := newTrainer(t, scope, CausalLM(toyLogits), src, cfg).Run(stdcontext.Background())
	if err != nil {
		t.Fatal(err)
	}
	ckpt, err := LoadCheckpoint(res.LastCheckpoint)
	if err != nil {
		t.Fatal(err)
	}
	if ckpt.Step != 2 || !slices.Equal(ckpt.Trainable, toyTrainable) {
		t.Fatalf("step %d, trainable %v", ckpt.Step, ckpt.Trainable)
	}
	for _, key := range []string{"/train/adamw/adapter/A_m", "/train/adamw/adapter/B_v", "/" + model.RNGStateVariableName} {
		if ckpt.Variables[key] == nil {
			t.Errorf("checkpoint lacks %s", key)
		}
	}
	if ckpt.Variables["/embed/weights"] != nil {
		t.Error("a frozen base weight was saved")
	}
	// Restoring the adapter alone into a fresh model: A exists already, B and
	// the scale are created later by the model and come from the loader.
	want := testutil.Snapshot(t, scope, toyTrainable...)
	fresh := newToyModel(99)
	if err := ckpt.Restore(fresh, true); err != nil {
		t.Fatal(err)
	}
	if fresh.GetVariable("/train/adamw/adapter/A_m") != nil { // neither loaded nor pending in the loader
		t.Error("trainableOnly restored optimizer state")
	}
	for _, key := range toyTrainable {
		if fresh.GetVariable(key) == nil {
			t.Fatalf("%s not restorable", key)
		}
	}
	got := testutil.Snapshot(t, fresh, toyTrainable...)
	for _, key := range toyTrainable {
		if testutil.MaxAbsDiff(want[key], got[key]) != 0 {
			t.Errorf("%s differs after restore", key)
		}
	}
	// A shape mismatch is an error naming the variable.
	bad := newToyModel(1)
	bad.VariableWithValue("/adapter/B", tensors.FromFlatDataAndDimensions(make([]float32, 4), 2, 2))
	if err := ckpt.Restore(bad, true); err == nil || !strings.Contains(err.Error(), "/adapter/B") {
		t.Errorf("err = %v", err)
	}
}

func TestSaveOnCancelAndProgressBar(t *testing.T) {
	src := mustLMSource(t, toyExamples(12, 21, 6, 20), LMSourceConfig{BatchSize: 2, MaxLen: 32, Buckets: []int{32}})
	cfg := testConfig(t.TempDir())
	cfg.Steps = 6
	cfg.SaveOnCancel = true
	var bar bytes.Buffer
	cfg.NoProgress, cfg.Progress = false, &bar
	runCtx, cancel := stdcontext.WithCancel(stdcontext.Background())
	cfg.OnStep = func(m StepMetrics) {
		if m.Step == 3 {
			cancel()
		}
	}
	_, err := newTrainer(t, newToyModel(21), CausalLM(toyLogits), src, cfg).Run(runCtx)
	if !errors.Is(err, stdcontext.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if last, _ := LatestCheckpoint(cfg.RunDir); filepath.Base(last) != "step-00000003" {
		t.Errorf("checkpoint on cancel: %q", last)
	}
	if out := bar.String(); !strings.Contains(out, "3/6") || strings.Contains(out, "6/6") {
		t.Errorf("progress bar output %q", bar.String())
	}
}

func TestResumeRejectsChangedData(t *testing.T) {
	examples := toyExamples(8, 22, 6, 20)
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Steps = 2
	src := mustLMSource(t, examples, LMSourceConfig{BatchSize: 2, MaxLen: 32, Buckets: []int{32}})
	if _, err := newTrainer(t, newToyModel(22), CausalLM(toyLogits), src, cfg).Run(stdcontext.Background()); err != nil {
		t.Fatal(err)
	}
	cfg.Resume, cfg.Steps = true, 4
	other := mustLMSource(t, examples[:6], LMSourceConfig{BatchSize: 2, MaxLen: 32, Buckets: []int{32}})
	_, err := newTrainer(t, newToyModel(22), CausalLM(toyLogits), other, cfg).Run(stdcontext.Background())
	if err == nil || !strings.Contains(err.Error(), "batches per epoch") {
		t.Errorf("err = %v", err)
	}
}

// validCheckpointFiles builds the two files of a one-variable checkpoint.
func validCheckpointFiles() ([]byte, []byte) {
	meta := checkpointMeta{
		Format: checkpointFormat,
		State:  runState{Step: 3, Updates: 3, Position: Position{Epoch: 1, Index: 2}},
		Variables: []tensorEntry{
			{Scope: "/adapter", Name: "A", DType: "Float32", Dims: []int{2}, Offset: 0, Length: 8, Trainable: true},
			{Scope: "/", Name: "#rngState", DType: "Uint64", Dims: []int{1}, Offset: 8, Length: 8},
		},
	}
	data, _ := json.Marshal(meta)
	return data, []byte{0, 0, 128, 63, 0, 0, 0, 64, 1, 2, 3, 4, 5, 6, 7, 8}
}

func TestDecodeCheckpointErrors(t *testing.T) {
	state, bin := validCheckpointFiles()
	ckpt, err := decodeCheckpoint(state, bytes.NewReader(bin), int64(len(bin)))
	if err != nil {
		t.Fatal(err)
	}
	if v := ckpt.Variables["/adapter/A"].Value().([]float32); !slices.Equal(v, []float32{1, 2}) {
		t.Errorf("A = %v", v)
	}
	for _, tc := range []struct {
		edit func(string) string
		want string
	}{
		{func(s string) string { return strings.Replace(s, `"Float32"`, `"Complex64x"`, 1) }, `unsupported dtype "Complex64x"`},
		{func(s string) string { return strings.Replace(s, `"dims":[2]`, `"dims":[3]`, 1) }, "8 bytes for Float32[3]"},
		{func(s string) string { return strings.Replace(s, `"offset":8`, `"offset":9`, 1) }, "outside variables.bin"},
		{func(s string) string { return strings.Replace(s, checkpointFormat, "other", 1) }, "format"},
		{func(s string) string { return strings.Replace(s, `"scope":"/adapter"`, `"scope":"/"`, 1) }, ""},
		{func(s string) string { return s[:len(s)/2] }, "state.json"},
	} {
		_, err := decodeCheckpoint([]byte(tc.edit(string(state))), bytes.NewReader(bin), int64(len(bin)))
		if tc.want == "" {
			if err != nil {
				t.Errorf("unexpected error %v", err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
}

func FuzzDecodeCheckpoint(f *testing.F) {
	state, bin := validCheckpointFiles()
	f.Add(state, bin)
	f.Add([]byte(`{"format":"gemma3n-therapy/train-checkpoint/v1","variables":[{"scope":"/a","name":"x","dtype":"Float32","dims":[1099511627776,1099511627776],"offset":0,"length":0}]}`), []byte{})
	f.Fuzz(func(t *testing.T, state, bin []byte) {
		ckpt, err := decodeCheckpoint(state, bytes.NewReader(bin), int64(len(bin)))
		if err == nil {
			for key, v := range ckpt.Variables {
				if int64(v.Memory()) > int64(len(bin)) {
					t.Fatalf("%s: %d bytes from a %d-byte file", key, v.Memory(), len(bin))
				}
			}
		}
	})
}

func TestMetricsLogDropsReplayedAndTornLines(t *testing.T) {
	dir := t.TempDir()
	content := `{"kind":"train","step":1}
{"kind":"eval","step":2,"eval_loss":1}
{"kind":"train","step":3}
{"kind":"train","st`
	if err := os.WriteFile(filepath.Join(dir, MetricsFileName), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := openMetricsLog(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.write(StepMetrics{Step: 3, Loss: 1}); err != nil {
		t.Fatal(err)
	}
	l.close()
	var steps []float64
	for _, rec := range readLog(t, dir) {
		steps = append(steps, rec["step"].(float64))
	}
	if !slices.Equal(steps, []float64{1, 2, 3}) {
		t.Errorf("steps %v", steps)
	}
}

func TestRemoveTempDirsRemovesLeftoversOfKilledWrites(t *testing.T) {
	runDir := t.TempDir()
	root := filepath.Join(runDir, checkpointsDirName)
	write := func(path, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Complete files, which stay.
	write(filepath.Join(root, "step-00000002", StateFileName), "{}")
	write(filepath.Join(root, bestFileName), `{"step": 2}`)
	write(filepath.Join(runDir, MetricsFileName), "{}\n")
	write(filepath.Join(runDir, ".notes.txt.tmp-7"), "not the trainer's")
	// Leftovers: a checkpoint directory, best.json and metrics.jsonl being
	// written through atomicfile, and a temporary file of the old naming.
	write(filepath.Join(root, ".tmp-step-00000004-99", variablesFileName), "half")
	write(filepath.Join(root, "."+bestFileName+".tmp-123"), `{"st`)
	write(filepath.Join(root, ".tmp-"+bestFileName+"-456"), `{"st`)
	write(filepath.Join(runDir, "."+MetricsFileName+".tmp-789"), "{")

	removeTempDirs(runDir)
	var left []string
	for _, dir := range []string{runDir, root} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			left = append(left, e.Name())
		}
	}
	slices.Sort(left)
	want := []string{".notes.txt.tmp-7", bestFileName, checkpointsDirName, MetricsFileName, "step-00000002"}
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Errorf("left %q, want %q", left, want)
	}

	// best.json written the way the trainer writes it leaves nothing else.
	if err := writeFileAtomic(filepath.Join(root, bestFileName), []byte(`{"step": 4}`)); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 2 {
		t.Errorf("%d entries in %s after writing best.json, want 2", len(entries), root)
	}
	if err := writeFileAtomic(filepath.Join(runDir, "missing", bestFileName), nil); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("error %v, want one naming the file", err)
	}
}
