package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestMIClassifyCommand(t *testing.T) {
	in := `{"text": "What would you like to change?", "context": "I drink too much."}
{"text": "Mm-hmm."}
`
	var out, errOut bytes.Buffer
	if err := runMain(&runContext{stdin: strings.NewReader(in), stdout: &out, stderr: &errOut}, []string{"mi-classify"}); err != nil {
		t.Fatalf("%v (%s)", err, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines:\n%s", len(lines), out.String())
	}
	for i, want := range []struct{ behaviour, subtype string }{{"question", "open"}, {"other", ""}} {
		var got struct {
			Behaviour *string            `json:"behaviour"`
			Subtype   *string            `json:"subtype"`
			Scores    map[string]float64 `json:"scores"`
		}
		if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
			t.Fatal(err)
		}
		if got.Behaviour == nil || got.Subtype == nil || *got.Behaviour != want.behaviour || *got.Subtype != want.subtype {
			t.Errorf("line %d = %s, want behaviour %q subtype %q", i+1, lines[i], want.behaviour, want.subtype)
		}
		if p := got.Scores[want.behaviour]; p < 0.5 || p > 1 {
			t.Errorf("line %d: score of %s = %g", i+1, want.behaviour, p)
		}
	}
}

func TestMIClassifyCommandErrors(t *testing.T) {
	var out, errOut bytes.Buffer
	err := runMain(&runContext{stdin: strings.NewReader(`{"txt": "typo"}`), stdout: &out, stderr: &errOut}, []string{"mi-classify"})
	if err == nil || !strings.Contains(err.Error(), `stdin:1: missing field "text"`) {
		t.Errorf("err = %v", err)
	}
	err = runMain(&runContext{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}, []string{"mi-classify", "--model", "/nonexistent/model.gob.gz"})
	if err == nil {
		t.Error("missing model file accepted")
	}
}
