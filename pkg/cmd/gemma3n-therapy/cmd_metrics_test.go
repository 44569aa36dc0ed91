package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMetricsCommand(t *testing.T) {
	in := `{"hyp": "It sounds like you feel stuck.", "ref": "It sounds like you're feeling stuck right now."}
{"hyp": "a", "ref": "b"}
`
	for _, corpus := range []bool{false, true} {
		var out, errOut bytes.Buffer
		args := []string{"metrics"}
		if corpus {
			args = append(args, "--corpus")
		}
		if err := runMain(&runContext{stdin: strings.NewReader(in), stdout: &out, stderr: &errOut}, args); err != nil {
			t.Fatalf("%v: %v (%s)", args, err, errOut.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		want := 2
		if corpus {
			want = 3
		}
		if len(lines) != want {
			t.Fatalf("%v: %d lines:\n%s", args, len(lines), out.String())
		}
		var first map[string]float64
		if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
			t.Fatal(err)
		}
		// Golden values from sacreBLEU 2.6.0 and torchmetrics.
		for k, v := range map[string]float64{"bleu": 20.873176328735713, "chrf": 49.31298651069517,
			"rouge1": 0.6666666865348816, "rouge2": 0.4615384638309479, "rougeL": 0.6666666865348816} {
			if got, ok := first[k]; !ok || got-v > 1e-6 || v-got > 1e-6 {
				t.Errorf("%s = %v, want %v", k, got, v)
			}
		}
		if len(first) != 5 {
			t.Errorf("keys of %s", lines[0])
		}
		if corpus {
			var c map[string]float64
			if err := json.Unmarshal([]byte(lines[2]), &c); err != nil || len(c) != 1 || c["corpus_bleu"] <= 0 {
				t.Errorf("corpus line %s (%v)", lines[2], err)
			}
		}
	}
}

func TestMetricsCommandFileAndErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pairs.jsonl")
	if err := os.WriteFile(path, []byte("{\"hyp\": \"x\", \"ref\": \"x y\"}\n{\"hyp\": \"x\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err := runMain(&runContext{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}, []string{"metrics", "--in", path})
	if err == nil || !strings.Contains(err.Error(), path+`:2: missing field "ref"`) {
		t.Errorf("err = %v", err)
	}
	if err := runMain(&runContext{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}, []string{"metrics", "extra"}); err == nil {
		t.Error("extra argument accepted")
	}
	if err := runMain(&runContext{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}, []string{"metrics", "--in", path + ".missing"}); err == nil {
		t.Error("missing input file accepted")
	}
}
