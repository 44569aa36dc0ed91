package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

func runShrink(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := runMain(&runContext{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut},
		append([]string{"tokenizer-shrink"}, args...))
	return out.String(), err
}

// TestTokenizerShrinkCommand remakes the embedded tiny tokenizer and checks
// that the written files load and agree with it.
func TestTokenizerShrinkCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tiny")
	out, err := runShrink(t, "--out", dir, "--gzip", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var stats struct {
		Dir       string  `json:"dir"`
		VocabSize int     `json:"vocab_size"`
		Ratio     float64 `json:"token_ratio"`
	}
	if err := json.Unmarshal([]byte(out), &stats); err != nil || stats.Dir != dir || stats.VocabSize != tokenizer.TinyVocabSize || stats.Ratio < 1 {
		t.Fatalf("output %q: %+v, %v", out, stats, err)
	}
	testutil.WantFiles(t, dir, "tokenizer.json.gz", "tokenizer_config.json.gz", "NOTICE")
	written, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	tiny, err := tokenizer.Tiny()
	if err != nil {
		t.Fatal(err)
	}
	text := "<start_of_turn>user\nI keep procrastinating — why?<end_of_turn>\n"
	if got, want := written.EncodeWithBOS(text), tiny.EncodeWithBOS(text); !slices.Equal(got, want) || written.VocabSize() != tiny.VocabSize() {
		t.Errorf("written tokenizer: %v (%d ids), embedded: %v (%d ids)", got, written.VocabSize(), want, tiny.VocabSize())
	}
}

func TestTokenizerShrinkCommandErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--out DIR is required"},
		{[]string{"--out", t.TempDir(), "extra"}, `unexpected argument "extra"`},
		{[]string{"--out", t.TempDir(), "--data-dir", t.TempDir()}, "not a datasets directory"},
		{[]string{"--vocab", "x"}, "invalid value"},
	} {
		if _, err := runShrink(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
}
