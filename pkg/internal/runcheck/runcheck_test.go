package runcheck

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// runDir makes a run directory with config.yaml (the defaults with
// assignments), run.json with identity id (unless nil) and, when
// checkpoint, one checkpoint at step 2.
func runDir(t *testing.T, checkpoint bool, id Identity, assignments ...string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := configWith(t, assignments...)
	if id != nil {
		if err := Start(dir, cfg, id); err != nil {
			t.Fatal(err)
		}
	} else if err := cfg.WriteYAML(filepath.Join(dir, ConfigFileName)); err != nil {
		t.Fatal(err)
	}
	if checkpoint {
		step := filepath.Join(train.CheckpointsDir(dir), "step-00000002")
		if err := os.MkdirAll(step, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(step, "state.json"), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func configWith(t *testing.T, assignments ...string) *config.All {
	t.Helper()
	cfg := config.Default()
	if err := cfg.Apply(assignments...); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestPrepare: a changed setting outside Mutable, a missing checkpoint and
// a second run without resume are errors that name what differs or where
// the check looked, and write nothing; Mutable settings may change.
func TestPrepare(t *testing.T) {
	for _, tc := range []struct {
		name       string
		checkpoint bool
		resume     bool
		now        []string
		want       []string // parts of the error; none: no error
		changes    []string
	}{
		{name: "same configuration", checkpoint: true, resume: true},
		{name: "learning rate", checkpoint: true, resume: true, now: []string{"training.learning_rate=1e-3"},
			want: []string{"configuration differs", "config.yaml", "1 key(s)", "training.learning_rate: 0.0002 → 0.001", "training.max_steps"}},
		{name: "adapter rank and seed", checkpoint: true, resume: true, now: []string{"lora.r=8", "training.seed=7", "training.max_steps=9"},
			want: []string{"2 key(s)", "training.seed: 42 → 7", "lora.r: 64 → 8"}},
		{name: "mutable settings", checkpoint: true, resume: true, now: []string{"training.max_steps=9", "training.logging_steps=3", "model.backend=go"},
			changes: []string{`model.backend: "" → "go"`, "training.max_steps: 0 → 9", "training.logging_steps: 10 → 3"}},
		{name: "no checkpoint", resume: true, want: []string{"cannot resume", "no checkpoint in DIR/checkpoints;", "drop --resume"}},
		{name: "checkpoints without resume", checkpoint: true, want: []string{"already has checkpoints (newest step-00000002)"}},
		{name: "new run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := runDir(t, tc.checkpoint, Identity{"model": "tiny"})
			before := testutil.DirFiles(t, dir)
			r, err := Prepare(dir, tc.resume, configWith(t, tc.now...))
			if tc.want != nil {
				if err == nil {
					t.Fatal("no error")
				}
				for _, part := range append(tc.want, dir) {
					part = strings.ReplaceAll(part, "DIR", dir)
					if !strings.Contains(err.Error(), part) {
						t.Errorf("error lacks %q:\n%v", part, err)
					}
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if r != nil {
				var got []string
				for _, c := range r.Changes() {
					got = append(got, c.String())
				}
				if !slices.Equal(got, tc.changes) {
					t.Errorf("changes %q, want %q", got, tc.changes)
				}
			} else if tc.resume && err == nil {
				t.Error("no resumption for a resume")
			}
			if after := testutil.DirFiles(t, dir); !maps.Equal(before, after) {
				t.Error("Prepare wrote into the run directory")
			}
		})
	}
	// Without any directory: no checkpoint, and nothing is created.
	missing := filepath.Join(t.TempDir(), "typo")
	if _, err := Prepare(missing, true, config.Default()); err == nil || !strings.Contains(err.Error(), train.CheckpointsDir(missing)) {
		t.Errorf("resume of a missing directory: %v", err)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("Prepare created %s", missing)
	}
}

// TestIdentityAndRecord: a different identity is an error naming each key
// (nested objects key by key) and writes nothing; Record appends the resume
// with its changes and keeps run.json's other fields; a run without a
// recorded identity gets the resumed one.
func TestIdentityAndRecord(t *testing.T) {
	id := Identity{
		"model_architecture_sha256": "aaa",
		"data":                      map[string]any{"train": map[string]int{"examples": 10}, "sources": []map[string]any{{"source": "annomi", "tokens": 100}}, "buckets": []int{32, 64}},
	}
	dir := runDir(t, true, id)
	r, err := Prepare(dir, true, configWith(t, "training.max_steps=9"))
	if err != nil {
		t.Fatal(err)
	}
	before := testutil.DirFiles(t, dir)
	other := Identity{
		"model_architecture_sha256": "bbb",
		"adapter_sha256":            "ccc",
		"data":                      map[string]any{"train": map[string]int{"examples": 12}, "sources": []map[string]any{{"source": "annomi", "tokens": 100}}, "buckets": []int{32}},
	}
	err = r.CheckIdentity(other)
	for _, part := range []string{dir, "run.json", "4 key(s)", "adapter_sha256: (none) → \"ccc\"", "data.buckets: [32,64] → [32]",
		"data.train.examples: 10 → 12", `model_architecture_sha256: "aaa" → "bbb"`} {
		if err == nil || !strings.Contains(err.Error(), part) {
			t.Errorf("error lacks %q:\n%v", part, err)
		}
	}
	if after := testutil.DirFiles(t, dir); !maps.Equal(before, after) {
		t.Error("CheckIdentity wrote into the run directory")
	}

	if err := r.CheckIdentity(id); err != nil {
		t.Fatalf("the same identity: %v", err)
	}
	for range 2 {
		if err := r.Record(filepath.Join(dir, "checkpoints", "step-00000002"), 2); err != nil {
			t.Fatal(err)
		}
	}
	var rec struct {
		Identity map[string]any `json:"identity"`
		Resumes  []Event        `json:"resumes"`
	}
	readJSON(t, filepath.Join(dir, RecordFileName), &rec)
	if rec.Identity["model_architecture_sha256"] != "aaa" || len(rec.Resumes) != 2 || rec.Resumes[1].Step != 2 ||
		len(rec.Resumes[1].Changes) != 1 || rec.Resumes[1].Changes[0].String() != "training.max_steps: 0 → 9" || rec.Resumes[1].Time.IsZero() {
		t.Errorf("run.json: %+v", rec)
	}
	cfg, err := os.ReadFile(filepath.Join(dir, ConfigFileName))
	if err != nil || !bytes.Equal([]byte(before[filepath.Join(dir, ConfigFileName)]), cfg) {
		t.Errorf("config.yaml changed (%v)", err)
	}

	// A pipeline's run.json keeps its own fields; a run without an
	// identity gets this one.
	dir = runDir(t, false, nil)
	if err := os.WriteFile(filepath.Join(dir, RecordFileName), []byte(`{"pipeline": "curriculum", "debug": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err = Compare(dir, config.Default())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CheckIdentity(Identity{"model": "tiny"}); err != nil {
		t.Fatal(err)
	}
	if err := r.Record("", 0); err != nil {
		t.Fatal(err)
	}
	var pipeline map[string]any
	readJSON(t, filepath.Join(dir, RecordFileName), &pipeline)
	if pipeline["pipeline"] != "curriculum" || pipeline["debug"] != true || pipeline["identity"].(map[string]any)["model"] != "tiny" || len(pipeline["resumes"].([]any)) != 1 {
		t.Errorf("run.json: %v", pipeline)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}

func TestHashFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("adapter_config.json", "{}")
	write("adapter_model.safetensors", "weights")
	a, err := HashFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	write("adapter_model.safetensors", "weightz")
	b, _ := HashFiles(dir)
	if a == b || len(a) != 64 {
		t.Errorf("hashes %s and %s", a, b)
	}
	if _, err := HashFiles(filepath.Join(dir, "none")); err == nil {
		t.Error("no error for a missing directory")
	}
}
