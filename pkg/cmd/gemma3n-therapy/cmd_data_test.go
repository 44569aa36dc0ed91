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

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
)

func runData(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := runMain(&runContext{stdin: strings.NewReader(""), stdout: &out, stderr: &out}, args)
	return out.String(), err
}

func TestDataStatsJSON(t *testing.T) {
	out, err := runData(t, "data", "stats", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out)
	}
	contract := map[string][]string{
		"annomi":      {"transcripts", "utterances", "quality", "interlocutor", "therapist_behaviour", "client_talk_type"},
		"counselchat": {"rows", "questions", "answers", "empty_answers", "topics", "preference_pairs"},
	}
	for section, keys := range contract {
		for _, k := range keys {
			if _, ok := got[section][k]; !ok {
				t.Errorf("missing %s.%s", section, k)
			}
		}
	}
	nested := map[string][]string{
		"quality":             {"high", "low"},
		"interlocutor":        {"therapist", "client"},
		"therapist_behaviour": {"question", "reflection", "therapist_input", "other"},
		"client_talk_type":    {"change", "neutral", "sustain"},
	}
	for k, subkeys := range nested {
		var m map[string]int
		if err := json.Unmarshal(got["annomi"][k], &m); err != nil {
			t.Fatalf("annomi.%s: %v", k, err)
		}
		for _, s := range subkeys {
			if _, ok := m[s]; !ok {
				t.Errorf("missing annomi.%s.%s", k, s)
			}
		}
	}
	for section, want := range map[string]string{"annomi.transcripts": "133", "annomi.utterances": "9699", "counselchat.preference_pairs": "255"} {
		parts := strings.Split(section, ".")
		if v := string(got[parts[0]][parts[1]]); v != want {
			t.Errorf("%s = %s, want %s", section, v, want)
		}
	}
}

func TestDataStatsTable(t *testing.T) {
	out, err := runData(t, "data", "stats")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"AnnoMI", "CounselChat", "133 (110 / 23)", "empty answers (skipped)"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if _, err := runData(t, "data", "stats", "--data-dir", t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a datasets directory") {
		t.Errorf("bad --data-dir: %v", err)
	}
	if _, err := runData(t, "data", "stats", "--help"); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
}

func TestDataExport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.jsonl")
	out, err := runData(t, "data", "export", "--out", path, "--source", "annomi", "--split", "test", "--quality", "high", "--debug")
	if err != nil {
		t.Fatal(err)
	}
	type record struct {
		Source, Group, Split, Quality string
		Messages                      []struct{ Role, Content string }
	}
	lines, groups := 0, map[string]bool{}
	for _, rec := range testutil.ReadJSONL[record](t, path) {
		if rec.Source != "annomi" || rec.Split != "test" || rec.Quality != "high" || len(rec.Messages) < 2 ||
			rec.Messages[0].Role != "user" || rec.Messages[len(rec.Messages)-1].Role != "assistant" {
			t.Fatalf("record %+v", rec)
		}
		groups[rec.Group] = true
		lines++
	}
	if lines == 0 || len(groups) != 6 {
		t.Errorf("%d lines from %d transcripts, want 6 transcripts", lines, len(groups))
	}
	if !strings.Contains(out, "wrote ") || !strings.Contains(out, path) {
		t.Errorf("summary %q", out)
	}

	pairsPath := filepath.Join(t.TempDir(), "pairs.jsonl")
	if _, err := runData(t, "data", "export", "--out", pairsPath, "--pairs"); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(pairsPath)
	if n := strings.Count(string(raw), "\n"); n != 255 {
		t.Errorf("%d pairs exported, want 255", n)
	}

	for _, bad := range [][]string{
		{"data", "export"},
		{"data", "export", "--out", path, "--source", "reddit"},
		{"data", "export", "--out", path, "--split", "dev"},
		{"data", "export", "--out", path, "--quality", "medium"},
		{"data", "export", "--out", path, "--tie-break", "coin"},
		{"data", "export", "--out", path, "extra"},
	} {
		if _, err := runData(t, bad...); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
