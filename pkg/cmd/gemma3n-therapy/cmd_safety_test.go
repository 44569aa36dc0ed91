package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safety"
)

func TestSafetyScreenCommand(t *testing.T) {
	in := `{"id": "a", "text": "k!ll mys3lf"}
{"id": "b", "text": "this traffic is killing me"}
{"id": "c", "messages": [{"role": "user", "content": "I want to die."}, {"role": "assistant", "content": "Tell me more."}, {"role": "user", "content": "I have the pills."}]}
`
	out, err := runWithStdin(t, in, "safety", "screen")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), out)
	}
	for i, want := range []string{"high", "none", "high"} {
		var got struct {
			ID       string            `json:"id"`
			Level    string            `json:"level"`
			Evidence []safety.Evidence `json:"evidence"`
		}
		if err := json.Unmarshal([]byte(lines[i]), &got); err != nil || got.Level != want || got.ID != string(rune('a'+i)) {
			t.Errorf("line %d: %s (%v)", i+1, lines[i], err)
		}
	}

	// A file input with a bad third line: nothing on stdout, the line named.
	path := filepath.Join(t.TempDir(), "in.jsonl")
	if err := os.WriteFile(path, []byte(in[:strings.Index(in, "{\"id\": \"c\"")]+"{\"id\": \"c\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = runWithStdin(t, "", "safety", "screen", "--in", path)
	if err == nil || !strings.Contains(err.Error(), path+":3:") || out != "" {
		t.Errorf("bad line: err %v, stdout %q", err, out)
	}
	if _, err := runWithStdin(t, "", "safety", "screen", "--in", path+".missing"); err == nil {
		t.Error("missing file accepted")
	}
	if _, err := runWithStdin(t, "", "safety", "screen", "extra"); err == nil {
		t.Error("extra argument accepted")
	}
}

func TestSafetyEvalCommand(t *testing.T) {
	out, err := runWithStdin(t, "", "safety", "eval", "--part", "dev", "--misses")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"set dev:", "suicidal_ideation", "high screened ≥ concern", "confusion"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = runWithStdin(t, "", "safety", "eval", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var reports []safety.Report
	if err := json.Unmarshal([]byte(out), &reports); err != nil {
		t.Fatal(err)
	}
	if len(reports) != len(safety.Parts)+1 || reports[len(reports)-1].Set != "all" || reports[0].Misses != nil {
		t.Errorf("%d reports, last %q", len(reports), reports[len(reports)-1].Set)
	}
	total := 0
	for _, r := range reports[:len(reports)-1] {
		total += r.Items
	}
	if reports[len(reports)-1].Items != total {
		t.Errorf("all has %d items, the parts %d", reports[len(reports)-1].Items, total)
	}
	if _, err := runWithStdin(t, "", "safety", "eval", "--part", "train"); err == nil || !strings.Contains(err.Error(), "want one of dev") {
		t.Errorf("unknown part: %v", err)
	}

	// A labelled file outside the shipped parts, scored on its own.
	path := filepath.Join(t.TempDir(), "fresh.jsonl")
	fresh := `{"id": "f-1", "text": "I'm going to kill myself tonight.", "level": "high", "categories": ["suicide_plan"], "subject": "self", "kind": "intent", "hard_negative": false}
{"id": "f-2", "text": "This commute is killing me.", "level": "none", "categories": [], "kind": "idiom", "hard_negative": true}
`
	if err := os.WriteFile(path, []byte(fresh), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = runWithStdin(t, "", "safety", "eval", "--file", path, "--json")
	if err != nil {
		t.Fatal(err)
	}
	reports = nil
	if err := json.Unmarshal([]byte(out), &reports); err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 || reports[0].Set != "fresh" || reports[0].Items != 2 || reports[0].HardNegatives != 1 {
		t.Errorf("--file: %+v", reports)
	}
	if _, err := runWithStdin(t, "", "safety", "eval", "--file", path, "--part", "dev"); err == nil || !strings.Contains(err.Error(), "exclude") {
		t.Errorf("--file with --part: %v", err)
	}
}

func TestSafetyCorpusCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("loads both corpora")
	}
	out, err := runWithStdin(t, "", "safety", "corpus", "--json", "--sample", "2")
	if err != nil {
		t.Fatal(err)
	}
	var scan safety.CorpusScan
	if err := json.Unmarshal([]byte(out), &scan); err != nil {
		t.Fatal(err)
	}
	if scan.CounselChat.Total != 940 || scan.AnnoMI.Total == 0 || len(scan.Sample) != 4 {
		t.Errorf("scan: %d questions, %d client turns, %d samples", scan.CounselChat.Total, scan.AnnoMI.Total, len(scan.Sample))
	}
	if _, err := runWithStdin(t, "", "safety", "corpus", "--sample", "-1"); err == nil {
		t.Error("negative sample accepted")
	}
}

func TestNewGate(t *testing.T) {
	var errOut bytes.Buffer
	ctx := &runContext{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &errOut}
	g, err := newGate(ctx, "", false)
	if err != nil || g.Off() || errOut.Len() != 0 {
		t.Fatalf("gate on: %v, off %v, stderr %q", err, g != nil && g.Off(), errOut.String())
	}
	if g, err = newGate(ctx, "", true); err != nil || !g.Off() || !strings.Contains(errOut.String(), safety.GateOffWarning) {
		t.Fatalf("gate off: %v, stderr %q", err, errOut.String())
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "safety.yaml"), []byte("emergency_number: \"999\"\nregion: the UK\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := loadSafetyResources(dir)
	if err != nil || res.EmergencyNumber != "999" || res.CrisisLine.Call != "988" {
		t.Errorf("resources from %s: %+v, %v", dir, res, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "safety.yaml"), []byte("enabled: false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := newGate(ctx, dir, false); err == nil || !strings.Contains(err.Error(), "safety.yaml:1:1: enabled: unknown key") {
		t.Errorf("a key to turn the gate off: %v", err)
	}
}

func TestEvalCommandWarnsWhenTheGateIsOff(t *testing.T) {
	var out, errOut bytes.Buffer
	err := runMain(&runContext{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut},
		[]string{"eval", "--model", "tiny", "--no-safety-gate", "--split", "bogus", "--out", t.TempDir()})
	if err == nil || !strings.Contains(errOut.String(), safety.GateOffWarning) {
		t.Errorf("error %v, stderr %q", err, errOut.String())
	}
}
