package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
)

func TestLogitsCommandWithAdapterMatchesPEFT(t *testing.T) {
	ref := tinyLoRAFixture + "/reference.safetensors"
	ids := readTensor(t, ref, "input_ids", dtypes.Int32).Value().([][]int32)
	out := filepath.Join(t.TempDir(), "out.safetensors")
	if _, err := runCmd(t, "logits", "--model", tinyFixture, "--adapter", tinyLoRAFixture, "--ids", writeIDs(t, ids), "--out", out); err != nil {
		t.Fatal(err)
	}
	want := tensors.MustCopyFlatData[float32](readTensor(t, ref, "logits", dtypes.Float32))
	worst := 0.0
	for i, v := range tensors.MustCopyFlatData[float32](readTensor(t, out, "logits", dtypes.Float32)) {
		worst = max(worst, math.Abs(float64(v-want[i])))
	}
	if worst > 1e-4 {
		t.Errorf("adapter logits max |Δ| = %.3g > 1e-4", worst)
	}
	wantLoss := tensors.MustCopyFlatData[float32](readTensor(t, ref, "loss", dtypes.Float32))[0]
	gotLoss := tensors.MustCopyFlatData[float32](readTensor(t, out, "loss", dtypes.Float32))[0]
	if d := math.Abs(float64(gotLoss - wantLoss)); d > 1e-5 {
		t.Errorf("adapter loss %.6f, want %.6f", gotLoss, wantLoss)
	}
}

func TestGenerateCommandWithAdapterChangesTokens(t *testing.T) {
	ids := writeIDs(t, [][]int{{2, 10, 20, 30, 40, 50}})
	run := func(extra ...string) [][]int32 {
		args := append([]string{"generate", "--model", tinyFixture, "--ids", ids, "--max-new-tokens", "6", "--min-new-tokens", "6", "--greedy"}, extra...)
		out, err := runCmd(t, args...)
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ IDs [][]int32 }
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
		return got.IDs
	}
	base, adapted := run(), run("--adapter", tinyLoRAFixture)
	if len(base[0]) != 12 || len(adapted[0]) != 12 {
		t.Fatalf("lengths %d and %d, want 12", len(base[0]), len(adapted[0]))
	}
	if slicesEqual(base[0], adapted[0]) {
		t.Errorf("the adapter did not change the greedy continuation %v", base[0])
	}
}

func slicesEqual(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestGenerateCommandChatInputs(t *testing.T) {
	out, err := runCmd(t, "generate", "--model", "tiny", "--prompt", "I keep putting off my exercise.", "--max-new-tokens", "3")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(out, "\n") != 1 || strings.Contains(out, "<start_of_turn>") {
		t.Errorf("want one decoded line without special tokens, got %q", out)
	}
	msgs := filepath.Join(t.TempDir(), "msgs.json")
	if err := os.WriteFile(msgs, []byte(`{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"},{"role":"user","content":"I feel stuck"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := runCmd(t, "generate", "--model", "tiny", "--messages", msgs, "--max-new-tokens", "2"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"generate", "--model", "tiny", "--max-new-tokens", "2"}, "exactly one of"},
		{[]string{"generate", "--model", "tiny", "--prompt", "a", "--ids", msgs, "--max-new-tokens", "2"}, "exactly one of"},
		{[]string{"generate", "--model", "tiny", "--messages", filepath.Join(t.TempDir(), "none.json"), "--max-new-tokens", "2"}, "no such file"},
		{[]string{"logits", "--model", tinyFixture, "--adapter", t.TempDir(), "--ids", msgs, "--out", filepath.Join(t.TempDir(), "o.safetensors")}, "adapter"},
	} {
		if _, err := runCmd(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want it to mention %q", tc.args, err, tc.want)
		}
	}
}
