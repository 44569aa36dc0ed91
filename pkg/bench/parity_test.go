package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/backend"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
)

// fixtureDir is the shared Hugging Face reference fixture.
var fixtureDir = testutil.TinyModel()

func TestParityFixture(t *testing.T) {
	other, err := backend.New("go:ops_sequential")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parity(testBackend(t), "go", fixtureDir, other)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	if !r.OK {
		t.Fatalf("parity failed:\n%s", buf.String())
	}
	// logits, loss, 7 hidden states, 6 gradients, greedy tokens.
	if len(r.Checks) != 16 || len(r.SimpleGo) != 16 {
		t.Errorf("%d reference and %d SimpleGo checks, want 16 each:\n%s", len(r.Checks), len(r.SimpleGo), buf.String())
	}
	for _, c := range r.SimpleGo {
		if c.Value != 0 {
			t.Errorf("SimpleGo against itself: %s = %v, want 0", c.Name, c.Value)
		}
	}
	if !strings.Contains(buf.String(), "parity: all 32 checks pass") {
		t.Errorf("text report:\n%s", buf.String())
	}
}

// TestParityDetectsDifferences perturbs a copy of the reference and checks
// that the comparison fails on exactly what was changed.
func TestParityDetectsDifferences(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"config.json", "model.safetensors"} {
		data, err := os.ReadFile(filepath.Join(fixtureDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ck, err := safetensors.OpenCheckpoint(filepath.Join(fixtureDir, ReferenceFile))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	var entries []safetensors.Entry
	for _, name := range []string{"input_ids", "logits", "loss", "grad.model.layers.0.self_attn.q_proj.weight"} {
		x, err := ck.Tensor(name, dtypes.InvalidDType)
		if err != nil {
			t.Fatal(err)
		}
		dtype := safetensors.F32
		switch name {
		case "input_ids":
			dtype = safetensors.Int64
		case "logits":
			values := tensors.MustCopyFlatData[float32](x)
			values[17] += 1e-3
			x = tensors.FromFlatDataAndDimensions(values, x.Shape().Dimensions...)
		}
		e, err := safetensors.EntryFromTensor(name, x, dtype)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	if err := safetensors.Write(filepath.Join(dir, ReferenceFile), entries, nil); err != nil {
		t.Fatal(err)
	}
	r, err := Parity(testBackend(t), "go", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK || len(r.Checks) != 3 {
		t.Fatalf("report %+v: want 3 checks (no hidden states or greedy tokens in this reference), one failing", r)
	}
	if failed := r.Failed(); len(failed) != 1 || failed[0] != "logits vs reference" {
		t.Errorf("failed checks %v, want the logits only", failed)
	}
}

func TestParityErrors(t *testing.T) {
	if _, err := Parity(testBackend(t), "go", t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), ReferenceFile) {
		t.Errorf("missing reference: error %v", err)
	}
}

func TestComparisonHelpers(t *testing.T) {
	if d := relL2([]float32{3, 4}, []float32{0, 0}); d < 1e10 {
		t.Errorf("relL2 against zero = %v", d)
	}
	if d := relL2([]float32{1, 1}, []float32{1, 1}); d != 0 {
		t.Errorf("relL2 equal = %v", d)
	}
	if n := mismatches([]int32{1, 2, 3}, []int32{1, 5}); n != 2 {
		t.Errorf("mismatches = %d, want 2", n)
	}
}
