package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runEvalCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = runMain(&runContext{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}, args)
	return out.String(), errOut.String(), err
}

// TestEvalCommand evaluates the tiny fixture on one example per source with
// two new tokens, then compares the run with itself.
func TestEvalCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "base")
	stdout, stderr, err := runEvalCmd(t, "eval", "--model", tinyFixture, "--dtype", "float32", "--debug",
		"--limit", "1", "--max-new-tokens", "2", "--batch-size", "2", "--config", "../../../configs", "--out", out)
	if err != nil {
		t.Fatalf("eval: %v\n%s", err, stderr)
	}
	for _, s := range []string{"[1] base", "== overall ==", "== counselchat ==", "== annomi ==", "BERTScore F1", "therapeutic quality"} {
		if !strings.Contains(stdout, s) {
			t.Errorf("stdout lacks %q:\n%s", s, stdout)
		}
	}
	if !strings.Contains(stderr, "wrote "+filepath.Join(out, "metrics.json")) {
		t.Errorf("stderr lacks the written files:\n%s", stderr)
	}
	var m struct {
		Examples   int    `json:"examples"`
		Split      string `json:"split"`
		Generation struct {
			MaxNewTokens int `json:"max_new_tokens"`
		} `json:"generation"`
		BySource map[string]json.RawMessage `json:"by_source"`
	}
	raw, err := os.ReadFile(filepath.Join(out, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m.Examples != 2 || m.Split != "test" || m.Generation.MaxNewTokens != 2 || len(m.BySource) != 2 {
		t.Errorf("metrics.json: %s", raw)
	}
	lines, err := os.ReadFile(filepath.Join(out, "examples.jsonl"))
	if err != nil || strings.Count(string(lines), "\n") != 2 {
		t.Errorf("examples.jsonl: %v\n%s", err, lines)
	}

	// compare: flags after the runs, JSON and an HTML report.
	page := filepath.Join(dir, "report.html")
	stdout, stderr, err = runEvalCmd(t, "eval", "compare", out, filepath.Join(out, "metrics.json"), "--json", "--out", page)
	if err != nil {
		t.Fatalf("eval compare: %v\n%s", err, stderr)
	}
	var c struct {
		Runs []struct {
			Name string `json:"name"`
		} `json:"runs"`
		Sections []struct {
			Scope string `json:"scope"`
		} `json:"sections"`
		Warnings []string `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(stdout), &c); err != nil {
		t.Fatalf("compare --json: %v\n%s", err, stdout)
	}
	if len(c.Runs) != 2 || c.Runs[0].Name != "base" || c.Runs[1].Name != "base#2" || len(c.Sections) != 3 || len(c.Warnings) != 0 {
		t.Errorf("comparison %+v", c)
	}
	if html, err := os.ReadFile(page); err != nil || !strings.Contains(string(html), "<table") {
		t.Errorf("HTML report: %v", err)
	}
	stdout, _, err = runEvalCmd(t, "eval", "compare", out)
	if err != nil || !strings.Contains(stdout, "== annomi ==") {
		t.Errorf("compare text: %v\n%s", err, stdout)
	}
}

func TestEvalCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"eval", "--model", "tiny"}, "--out is required"},
		{[]string{"eval", "--out", "x", "--source", "reddit"}, "--source"},
		{[]string{"eval", "--out", "x", "--top-k", "5"}, "--temperature"},
		{[]string{"eval", "--out", "x", "extra"}, "unexpected argument"},
		{[]string{"eval", "--out", "x", "--limit", "-1", "--model", tinyFixture}, "negative"},
		{[]string{"eval", "compare"}, "at least one"},
		{[]string{"eval", "compare", "/nonexistent/run"}, "/nonexistent/run"},
	} {
		_, _, err := runEvalCmd(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one mentioning %q", tc.args, err, tc.want)
		}
	}
	for _, args := range [][]string{{"eval", "--help"}, {"eval", "compare", "--help"}} {
		_, stderr, err := runEvalCmd(t, args...)
		if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr, "Usage: gemma3n-therapy "+strings.Join(args[:len(args)-1], " ")) {
			t.Errorf("%v: %v\n%s", args, err, stderr)
		}
	}
}
