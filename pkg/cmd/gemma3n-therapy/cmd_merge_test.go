package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
)

// runCmdAll runs the program and returns stdout and stderr separately.
func runCmdAll(args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = runMain(&runContext{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}, args)
	return out.String(), errOut.String(), err
}

func TestMergeCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "merged")
	stdout, stderr, err := runCmdAll("merge", "--model", tinyFixture, "--adapter", tinyLoRAFixture, "--out", out,
		"--verify", "--test-generation", "--max-new-tokens", "3", "--message", "I feel stuck.")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, want := range []string{"merged 20 of 149 tensors (float32, Gemma3nForCausalLM, causal-lm", "into 1 file(s)", "tokenizer: copied from",
		"verified: reloaded logits within", "client: I feel stuck.\ncounsellor: "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if lines[len(lines)-1] != out {
		t.Errorf("last line %q, want the output directory %s", lines[len(lines)-1], out)
	}
	testutil.WantFiles(t, out, "model.safetensors", "config.json", "tokenizer.json", "merge_info.json")
	// The output directory now holds a model: a second merge refuses it.
	if _, _, err := runCmdAll("merge", "--model", tinyFixture, "--adapter", tinyLoRAFixture, "--out", out); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("merge into a full directory: got %v", err)
	}
}

func TestMergeCommandRejects(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"merge", "--model", "tiny", "--adapter", "a"}, "--model, --adapter and --out are required"},
		{[]string{"merge", "--model", "tiny", "--adapter", "a", "--out", "o", "extra"}, `unexpected argument "extra"`},
		{[]string{"merge", "--model", "tiny", "--adapter", "a", "--out", "o", "--test-generation", "--max-new-tokens", "0"}, "--max-new-tokens"},
		{[]string{"merge", "--model", "tiny", "--adapter", filepath.Join(t.TempDir(), "none"), "--out", filepath.Join(t.TempDir(), "o")}, "none"},
	} {
		if _, _, err := runCmdAll(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.args, err, tc.want)
		}
	}
}
