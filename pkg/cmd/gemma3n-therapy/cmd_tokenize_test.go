package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

func runWithStdin(t *testing.T, stdin string, args ...string) (stdout string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = runMain(&runContext{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut}, args)
	return out.String(), err
}

// decodeIDLines parses the {"ids": [...]} output lines.
func decodeIDLines(t *testing.T, out string) [][]int32 {
	t.Helper()
	var all [][]int32
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var rec struct {
			IDs []int32 `json:"ids"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.IDs == nil {
			t.Fatalf("bad output line %q: %v", line, err)
		}
		all = append(all, rec.IDs)
	}
	return all
}

func TestTokenizeCommand(t *testing.T) {
	in := `{"text": "Hello, my dog is cute"}
{"text": ""}

{"text": "<start_of_turn>user\nI feel anxious.<end_of_turn>\n", "id": 7}
{"text": "café naïve résumé"}
`
	want := [][]int32{
		{9259, 236764, 1041, 4799, 563, 12864},
		{},
		{105, 2364, 107, 236777, 2597, 34835, 236761, 106, 107},
		{123125, 236859, 120362, 118515},
	}
	out, err := runWithStdin(t, in, "tokenize")
	if err != nil {
		t.Fatal(err)
	}
	got := decodeIDLines(t, out)
	if len(got) != len(want) {
		t.Fatalf("%d output lines, want %d:\n%s", len(got), len(want), out)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("line %d: ids %v, want %v", i, got[i], want[i])
		}
	}
	if !strings.HasPrefix(out, `{"ids":[9259,`) || !strings.Contains(out, "{\"ids\":[]}\n") {
		t.Errorf("unexpected format:\n%s", out)
	}

	out, err = runWithStdin(t, in, "tokenize", "--bos")
	if err != nil {
		t.Fatal(err)
	}
	for i, ids := range decodeIDLines(t, out) {
		if !slices.Equal(ids, append([]int32{2}, want[i]...)) {
			t.Errorf("--bos line %d: ids %v", i, ids)
		}
	}
}

// TestTokenizeCommandOrder checks that the parallel batches keep the order.
func TestTokenizeCommandOrder(t *testing.T) {
	var in strings.Builder
	for i := range 3000 {
		in.WriteString(`{"text": "` + strings.Repeat("word ", i%17) + `"}` + "\n")
	}
	out, err := runWithStdin(t, in.String(), "tokenize")
	if err != nil {
		t.Fatal(err)
	}
	got := decodeIDLines(t, out)
	if len(got) != 3000 {
		t.Fatalf("%d lines", len(got))
	}
	tok, err := tokenizer.Default()
	if err != nil {
		t.Fatal(err)
	}
	for i, ids := range got {
		if want := tok.Encode(strings.Repeat("word ", i%17)); !slices.Equal(ids, want) {
			t.Fatalf("line %d: ids %v, want %v", i, ids, want)
		}
	}
}

func TestTokenizeCommandTokenizerFlag(t *testing.T) {
	dir := t.TempDir()
	tiny := `{"model": {"type": "BPE", "vocab": {"<bos>": 0, "a": 1, "b": 2, "ab": 3, "<unk>": 4}, "merges": [["a", "b"]], "unk_token": "<unk>"}}`
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(tiny), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{dir, filepath.Join(dir, "tokenizer.json")} {
		out, err := runWithStdin(t, `{"text": "abxa"}`, "tokenize", "--bos", "--tokenizer", path)
		if err != nil {
			t.Fatal(err)
		}
		if out != "{\"ids\":[0,3,4,1]}\n" {
			t.Errorf("--tokenizer %s: output %q", path, out)
		}
	}
	if _, err := runWithStdin(t, "", "tokenize", "--tokenizer", filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing tokenizer was accepted")
	}
}

func TestTokenizeCommandErrors(t *testing.T) {
	for _, c := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"{\"text\": \"a\"}\n{\"text\": 3}\n", nil, "line 2:"},
		{"{\"text\": \"a\"}\n\n{\"txt\": \"b\"}\n", nil, `line 3: no "text" string`},
		{"not json\n", nil, "line 1:"},
		{"", []string{"extra"}, `unexpected argument "extra"`},
		{"", []string{"--nope"}, "flag provided but not defined"},
	} {
		_, err := runWithStdin(t, c.stdin, append([]string{"tokenize"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("stdin %q args %v: error %v, want %q", c.stdin, c.args, err, c.want)
		}
	}
	if out, err := runWithStdin(t, "", "tokenize"); err != nil || out != "" {
		t.Errorf("empty input: %q, %v", out, err)
	}
}
