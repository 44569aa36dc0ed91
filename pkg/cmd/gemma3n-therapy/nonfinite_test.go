package main

import (
	"encoding/binary"
	"encoding/json"
	"github.com/gomlx/gomlx/core/tensors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// poisonedModel copies the tiny fixture model and sets the first elements
// of one float32 weight to value.
func poisonedModel(t *testing.T, tensor string, value float32) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(tinyFixture)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(tinyFixture, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "model.safetensors" {
			n := binary.LittleEndian.Uint64(data)
			var header map[string]json.RawMessage
			if err := json.Unmarshal(data[8:8+n], &header); err != nil {
				t.Fatal(err)
			}
			var info struct {
				DType   string  `json:"dtype"`
				Offsets []int64 `json:"data_offsets"`
			}
			if err := json.Unmarshal(header[tensor], &info); err != nil || info.DType != "F32" {
				t.Fatalf("tensor %s: %s (%v)", tensor, header[tensor], err)
			}
			for i := int64(0); i < 8; i++ {
				binary.LittleEndian.PutUint32(data[8+int64(n)+info.Offsets[0]+4*i:], math.Float32bits(value))
			}
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestNonFiniteOutputIsAnError: a model with a NaN weight makes logits,
// generate and chat fail with an error naming the weight, instead of
// writing a NaN loss with exit status 0 or emitting token 0 forever.
func TestNonFiniteOutputIsAnError(t *testing.T) {
	const bad = "model.layers.1.mlp.down_proj.weight"
	model := poisonedModel(t, bad, float32(math.NaN()))
	ids := writeIDs(t, [][]int{{2, 10, 11, 12, 13}})
	out := filepath.Join(t.TempDir(), "logits.safetensors")
	_, stderr, err := runCmdAll("logits", "--model", model, "--ids", ids, "--out", out)
	for _, want := range []string{"logits are not finite: row 1", "the first bad tensor is the weight layers.1.mlp.down_proj.weight", "element 0 is NaN", "nothing was written"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("logits: err = %v, want %q\n%s", err, want, stderr)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("logits wrote %s", out)
	}
	stdout, _, err := runCmdAll("generate", "--model", model, "--ids", ids, "--max-new-tokens", "4")
	for _, want := range []string{"not finite", "layers.1.mlp.down_proj.weight"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("generate: err = %v, want %q; stdout %q", err, want, stdout)
		}
	}
	var chatOut, chatErr strings.Builder
	err = runMain(&runContext{stdin: strings.NewReader("hello\n"), stdout: &chatOut, stderr: &chatErr}, []string{"chat", "--model", model, "--max-new-tokens", "4"})
	if err == nil || !strings.Contains(err.Error(), "layers.1.mlp.down_proj.weight") {
		t.Errorf("chat: err = %v", err)
	}
	// The same command on the fixture's own weights succeeds.
	if _, _, err := runCmdAll("logits", "--model", tinyFixture, "--ids", ids, "--out", out); err != nil {
		t.Fatalf("the fixture model: %v", err)
	}
}

// TestNonFiniteActivationsNameTheLayer: with finite but huge weights the
// weights pass the check, and the layer-by-layer run names the first layer
// whose output overflows.
func TestNonFiniteActivationsNameTheLayer(t *testing.T) {
	model := poisonedModel(t, "model.layers.2.mlp.gate_proj.weight", 3e38)
	_, _, err := runCmdAll("logits", "--model", model, "--ids", writeIDs(t, [][]int{{2, 10, 11, 12, 13}}), "--out", filepath.Join(t.TempDir(), "l.safetensors"))
	if err == nil || !strings.Contains(err.Error(), "every weight is finite; the first layer whose output is not finite is layers.2") {
		t.Errorf("err = %v", err)
	}
}

func tensorOf(values []float32) *tensors.Tensor { return tensors.FromValue(values) }

func TestFirstNonFinite(t *testing.T) {
	for _, tc := range []struct {
		values []float32
		index  int
		what   string
	}{{[]float32{1, 2}, -1, ""}, {[]float32{1, float32(math.Inf(-1)), float32(math.NaN())}, 1, "-Inf"}, {[]float32{float32(math.NaN())}, 0, "NaN"}} {
		i, what := firstNonFinite(tensorOf(tc.values))
		if i != tc.index || what != tc.what {
			t.Errorf("%v: %d %q, want %d %q", tc.values, i, what, tc.index, tc.what)
		}
	}
}

// TestInputsLongerThanTheContextAreRefused: logits, generate and chat name
// max_position_embeddings (256 for the tiny fixture) instead of running
// past it.
func TestInputsLongerThanTheContextAreRefused(t *testing.T) {
	long := make([]int, 300)
	for i := range long {
		long[i] = 10 + i%100
	}
	out := filepath.Join(t.TempDir(), "logits.safetensors")
	_, _, err := runCmdAll("logits", "--model", tinyFixture, "--ids", writeIDs(t, [][]int{long}), "--out", out)
	if err == nil || !strings.Contains(err.Error(), "input_ids is 300 tokens, more than the model's context of 256 positions (max_position_embeddings)") {
		t.Errorf("logits: err = %v", err)
	}
	_, _, err = runCmdAll("generate", "--model", tinyFixture, "--ids", writeIDs(t, [][]int{{2, 3}, long[:250]}), "--max-new-tokens", "10")
	if err == nil || !strings.Contains(err.Error(), "input_ids row 2 is 250 tokens and 10 new ones are asked for: 260 in all, more than the model's context of 256 positions") {
		t.Errorf("generate --ids: err = %v", err)
	}
	_, _, err = runCmdAll("generate", "--model", tinyFixture, "--prompt", strings.Repeat("word ", 400), "--max-new-tokens", "10")
	if err == nil || !strings.Contains(err.Error(), "the prompt is") || !strings.Contains(err.Error(), "context of 256 positions (max_position_embeddings)") {
		t.Errorf("generate --prompt: err = %v", err)
	}
	var chatOut strings.Builder
	err = runMain(&runContext{stdin: strings.NewReader(strings.Repeat("word ", 400) + "\nhello\n/quit\n"), stdout: &chatOut, stderr: &strings.Builder{}},
		[]string{"chat", "--model", tinyFixture, "--max-new-tokens", "4"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(chatOut.String(), "(not sent: your message") || !strings.Contains(chatOut.String(), "context of 256 positions (max_position_embeddings)") {
		t.Errorf("chat output lacks the refusal:\n%s", chatOut.String())
	}

	// logits --out DIR names the problem.
	_, _, err = runCmdAll("logits", "--model", tinyFixture, "--ids", writeIDs(t, [][]int{{2, 3}}), "--out", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("logits --out DIR: err = %v", err)
	}
}
