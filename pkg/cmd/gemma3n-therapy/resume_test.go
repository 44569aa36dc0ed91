package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/runcheck"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// TestResumeChecksTheRun: for every command with --resume, on the tiny
// preset, a resume must continue the run its directory records.
//   - A resume whose configuration, model, adapter or data differs from the
//     run's exits non-zero with an error that names each differing key,
//     old → new, and leaves config.yaml, and every other file of the run,
//     byte-identical.
//   - --resume of a directory without a checkpoint (a typo) is an error
//     that says where it looked and to drop --resume, and creates nothing.
//   - A resume that changes only settings that may change (max_steps, the
//     logging frequency) trains on, leaves config.yaml byte-identical and
//     records the change in run.json's "resumes".
func TestResumeChecksTheRun(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the tiny model with every training command")
	}
	sftStart := func(out string) []string {
		return []string{"train", "sft", "--model", "tiny", "--data", "counselchat", "--debug", "--max-steps", "1", "--out", out,
			"--config", "../../../configs", "--dtype", "float32", "--max-eval-examples", "1",
			"--set", "data.debug.max_seq_length=96", "--set", "data.debug.counselchat_questions=4",
			"--set", "training.per_device_train_batch_size=1", "--set", "training.gradient_accumulation_steps=1"}
	}
	fullStart := func(out string) []string {
		return []string{"train", "full", "--model", "tiny", "--from-scratch", "--data", "corpus", "--loss-on", "all", "--debug",
			"--max-steps", "1", "--out", out, "--config", "../../../configs", "--max-eval-examples", "1",
			"--set", "data.debug.max_seq_length=96", "--set", "dpo.max_length=96", "--set", "dpo.max_prompt_length=48",
			"--set", "training.per_device_train_batch_size=2", "--set", "training.gradient_accumulation_steps=1"}
	}
	dpoStart := func(out string) []string {
		return []string{"dpo", "--model", tinyFixture, "--adapter", tinyLoRAFixture, "--config", shippedDPOYAML,
			"--out", out, "--debug", "--max-steps", "1", "--dtype", "float32",
			"--set", "dpo.max_length=64", "--set", "dpo.max_prompt_length=32", "--set", "dpo.gradient_accumulation_steps=1",
			"--set", "data.debug.counselchat_questions=6", "--set", "training.per_device_eval_batch_size=4"}
	}
	sequentialStart := func(out string) []string {
		return []string{"train", "sequential", "--model", "tiny", "--config", "../../../configs", "--out", out, "--debug",
			"--dtype", "float32", "--max-eval-examples", "1", "--dpo-max-steps", "1", "--merge-final-model=false",
			"--set", "data.debug.annomi_transcripts=1", "--set", "data.debug.max_seq_length=96",
			"--set", "training.per_device_train_batch_size=4", "--set", "training.max_steps=1", "--set", "training.gradient_accumulation_steps=1",
			"--set", "lora.r=4", "--set", "lora.lora_alpha=8",
			"--set", "dpo.per_device_train_batch_size=1", "--set", "dpo.gradient_accumulation_steps=1"}
	}
	type differ struct {
		flags []string // added to the start command, after --resume
		want  []string // what the error names
	}
	for _, tc := range []struct {
		name    string
		start   func(out string) []string
		differ  []differ
		noRun   string   // where a resume without a run looked (DIR: the run directory)
		mutable []string // flags that change only settings that may change
		record  string   // the change run.json records for them
	}{
		{
			name: "train sft", start: sftStart,
			differ: []differ{
				{[]string{"--set", "training.learning_rate=1e-3"}, []string{"configuration differs", "config.yaml", "training.learning_rate: 0.0002 → 0.001"}},
				{[]string{"--set", "lora.r=8", "--set", "training.seed=7"}, []string{"2 key(s)", "training.seed: 42 → 7", "lora.r: 64 → 8"}},
				{[]string{"--max-eval-examples", "2"}, []string{"trains from differs", "run.json", "data.eval.counselchat.examples: 1 → 2"}},
			},
			noRun:   "there is no checkpoint in DIR/checkpoints",
			mutable: []string{"--max-steps", "2"}, record: "training.max_steps: 1 → 2",
		},
		{
			name: "train full", start: fullStart,
			differ: []differ{
				{[]string{"--set", "training.weight_decay=0.1"}, []string{"training.weight_decay: 0.01 → 0.1"}},
				{[]string{"--loss-on", "assistant"}, []string{"trains from differs", `data.loss_on: "all" → "assistant"`}},
			},
			noRun:   "there is no checkpoint in DIR/checkpoints",
			mutable: []string{"--max-steps", "2"}, record: "training.max_steps: 1 → 2",
		},
		{
			name: "dpo", start: dpoStart,
			differ: []differ{
				{[]string{"--set", "dpo.beta=0.2"}, []string{"dpo.beta: 0.1 → 0.2"}},
				{[]string{"--adapter", "DIR/adapter"}, []string{"trains from differs", "adapter_sha256: "}},
			},
			noRun:   "there is no checkpoint in DIR/checkpoints",
			mutable: []string{"--max-steps", "2", "--set", "training.logging_steps=1"}, record: "training.logging_steps: 10 → 1",
		},
		{
			name: "train sequential", start: sequentialStart,
			differ: []differ{
				{[]string{"--set", "training.learning_rate=1e-3"}, []string{"configuration differs", "training.learning_rate: 0.0002 → 0.001"}},
			},
			noRun:   "there is no run in it (no DIR/config.yaml)",
			mutable: []string{"--set", "training.logging_steps=1"}, record: "training.logging_steps: 10 → 1",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run")
			if _, stderr, err := runCmdAll(tc.start(out)...); err != nil {
				t.Fatalf("start: %v\n%s", err, stderr)
			}
			cfgPath := filepath.Join(out, runcheck.ConfigFileName)
			before := testutil.DirFiles(t, out)
			if before[cfgPath] == "" {
				t.Fatalf("the run wrote no %s", cfgPath)
			}
			for _, d := range tc.differ {
				flags := strings.Split(strings.ReplaceAll(strings.Join(d.flags, "\x00"), "DIR", out), "\x00")
				_, stderr, err := runCmdAll(append(append(tc.start(out), "--resume"), flags...)...)
				if err == nil {
					t.Errorf("resume with %v: no error\n%s", flags, stderr)
					continue
				}
				for _, want := range append(d.want, "cannot resume "+out) {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("resume with %v: the error lacks %q:\n%v", flags, want, err)
					}
				}
				if changed := testutil.ChangedFiles(before, testutil.DirFiles(t, out)); len(changed) > 0 {
					t.Errorf("resume with %v changed %v (config.yaml byte-identical: %v)", flags, changed, !slices.Contains(changed, cfgPath))
				}
			}

			typo := filepath.Join(t.TempDir(), "typo")
			_, _, err := runCmdAll(append(tc.start(typo), "--resume")...)
			for _, want := range []string{"cannot resume " + typo, strings.ReplaceAll(tc.noRun, "DIR", typo), "drop --resume"} {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("resume without a run: the error lacks %q: %v", want, err)
				}
			}
			if _, err := os.Stat(typo); !os.IsNotExist(err) {
				t.Errorf("resume without a run created %s (%v)", typo, err)
			}

			if _, stderr, err := runCmdAll(append(append(tc.start(out), "--resume"), tc.mutable...)...); err != nil {
				t.Fatalf("resume with %v: %v\n%s", tc.mutable, err, stderr)
			}
			if after, err := os.ReadFile(cfgPath); err != nil || string(after) != before[cfgPath] {
				t.Errorf("a resume with %v changed %s (%v)", tc.mutable, cfgPath, err)
			}
			var rec struct {
				Resumes []runcheck.Event `json:"resumes"`
			}
			raw, err := os.ReadFile(filepath.Join(out, runcheck.RecordFileName))
			if err == nil {
				err = json.Unmarshal(raw, &rec)
			}
			if err != nil || len(rec.Resumes) != 1 || !slices.ContainsFunc(rec.Resumes[0].Changes, func(c config.Change) bool { return c.String() == tc.record }) {
				t.Errorf("run.json does not record the resume with %q (%v):\n%s", tc.record, err, raw)
			}
			if tc.name != "train sequential" {
				if latest, _ := train.LatestCheckpoint(out); filepath.Base(latest) != "step-00000002" || rec.Resumes[0].Step != 1 {
					t.Errorf("resumed from step %d to %s, want from 1 to step-00000002", rec.Resumes[0].Step, latest)
				}
			}
		})
	}
}
