package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
)

// The shared fixtures (pkg/internal/testutil/testdata): the tiny Gemma 3n
// (vocabulary 512) with HF transformers' float32 outputs and a small
// tokenizer in its directory, and a PEFT adapter for it with PEFT's outputs.
var (
	tinyFixture     = testutil.TinyModel()
	tinyLoRAFixture = testutil.TinyAdapter()
)

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := runMain(&runContext{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}, args)
	return out.String(), err
}

func readTensor(t *testing.T, path, name string, dtype dtypes.DType) *tensors.Tensor {
	t.Helper()
	ck, err := safetensors.OpenCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	x, err := ck.Tensor(name, dtype)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func writeIDs(t *testing.T, ids any) string {
	t.Helper()
	data, err := json.Marshal(map[string]any{"input_ids": ids})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ids.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLogitsCommandMatchesReference(t *testing.T) {
	ref := tinyFixture + "/reference.safetensors"
	ids := readTensor(t, ref, "input_ids", dtypes.Int32).Value().([][]int32)
	out := filepath.Join(t.TempDir(), "out.safetensors")
	if _, err := runCmd(t, "logits", "--model", tinyFixture, "--ids", writeIDs(t, ids), "--out", out); err != nil {
		t.Fatal(err)
	}
	got := readTensor(t, out, "logits", dtypes.InvalidDType)
	if got.DType() != dtypes.Float32 || !slices.Equal(got.Shape().Dimensions, []int{2, 24, 512}) {
		t.Fatalf("logits %s, want float32 [2 24 512]", got.Shape())
	}
	want := tensors.MustCopyFlatData[float32](readTensor(t, ref, "logits", dtypes.Float32))
	worst := 0.0
	for i, v := range tensors.MustCopyFlatData[float32](got) {
		worst = max(worst, math.Abs(float64(v-want[i])))
	}
	if worst > 1e-4 {
		t.Errorf("logits max |Δ| = %.3g > 1e-4", worst)
	}
	loss := readTensor(t, out, "loss", dtypes.InvalidDType)
	if !slices.Equal(loss.Shape().Dimensions, []int{1}) || loss.DType() != dtypes.Float32 {
		t.Fatalf("loss %s, want float32 [1]", loss.Shape())
	}
	wantLoss := tensors.MustCopyFlatData[float32](readTensor(t, ref, "loss", dtypes.Float32))[0]
	if d := math.Abs(float64(tensors.MustCopyFlatData[float32](loss)[0] - wantLoss)); d > 1e-5 {
		t.Errorf("loss |Δ| = %.3g > 1e-5", d)
	}
}

func TestLogitsCommandTinyPreset(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.safetensors")
	if _, err := runCmd(t, "logits", "--model", "tiny", "--ids", writeIDs(t, [][]int{{2, 105, 2364, 107}}), "--out", out); err != nil {
		t.Fatal(err)
	}
	if got := readTensor(t, out, "logits", dtypes.InvalidDType); !slices.Equal(got.Shape().Dimensions, []int{1, 4, gemma3n.TinyVocabSize}) {
		t.Errorf("logits shape %v, want [1 4 %d]", got.Shape(), gemma3n.TinyVocabSize)
	}
}

func TestLogitsCommandErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(bad, []byte(`{"input_ids": [[1, 2], [3]`), 0o644)
	out := filepath.Join(dir, "out.safetensors")
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"missing flags", []string{"logits", "--model", tinyFixture}, "required"},
		{"unequal rows", []string{"logits", "--model", tinyFixture, "--ids", writeIDs(t, [][]int{{2, 3}, {4}}), "--out", out}, "row 2 has 1 ids, row 1 has 2"},
		{"id out of range", []string{"logits", "--model", tinyFixture, "--ids", writeIDs(t, [][]int{{2, 512}}), "--out", out}, "row 1, column 2"},
		{"bad json", []string{"logits", "--model", tinyFixture, "--ids", bad, "--out", out}, "bad.json"},
		{"no model", []string{"logits", "--model", filepath.Join(dir, "nope"), "--ids", bad, "--out", out}, "nope"},
		{"bad backend", []string{"logits", "--backend", "tpu", "--model", tinyFixture, "--ids", bad, "--out", out}, "backend"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := runCmd(t, c.args...)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error %v, want one mentioning %q", err, c.wantErr)
			}
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed command left an output file")
	}
}
