package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/dpo"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

const shippedDPOYAML = "../../../configs/dpo.yaml"

// A debug DPO run on the shipped CounselChat pairs with the shipped
// dpo.yaml, shrunk with --set, then resumed for one more step.
func TestDPOCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the tiny model on CounselChat pairs")
	}
	runDir := t.TempDir()
	args := func(maxSteps string, extra ...string) []string {
		return append([]string{"dpo", "--model", tinyFixture, "--adapter", tinyLoRAFixture, "--config", shippedDPOYAML,
			"--out", runDir, "--debug", "--max-steps", maxSteps, "--dtype", "float32",
			"--set", "dpo.max_length=64", "--set", "dpo.max_prompt_length=32", "--set", "dpo.gradient_accumulation_steps=1",
			"--set", "data.debug.counselchat_questions=6", "--set", "training.per_device_eval_batch_size=4"}, extra...)
	}
	out, err := runCmd(t, args("2")...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"adapter: trainable params:", "loss: sigmoid, beta 0.1; reference: sft, precomputed",
		"steps: 2 (0 skipped)", "eval validation: loss", "wrote " + filepath.Join(runDir, stage.AdapterDirName)} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var summary struct {
		TrainPairs struct{ Pairs int } `json:"train_pairs"`
		EvalPairs  struct{ Pairs int } `json:"eval_pairs"`
		Train      struct{ Steps int } `json:"train"`
	}
	testutil.ReadJSON(t, filepath.Join(runDir, dpo.SummaryFileName), &summary)
	if summary.TrainPairs.Pairs == 0 || summary.EvalPairs.Pairs == 0 || summary.Train.Steps != 2 {
		t.Errorf("summary %+v", summary)
	}
	if _, err := os.Stat(filepath.Join(runDir, train.MetricsFileName)); err != nil {
		t.Error(err)
	}

	// Without --resume the run directory is not reused; with it, the run continues.
	if _, err := runCmd(t, args("2")...); err == nil || !strings.Contains(err.Error(), "already has checkpoints") {
		t.Errorf("second run without --resume: %v", err)
	}
	out, err = runCmd(t, args("3", "--resume")...)
	if err != nil || !strings.Contains(out, "steps: 3 (0 skipped)") {
		t.Errorf("resumed run: %v\n%s", err, out)
	}
}

func TestDPOCommandErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing flags", []string{"dpo", "--model", tinyFixture}, "--model and --out are required"},
		{"extra argument", []string{"dpo", "--model", tinyFixture, "--out", dir, "extra"}, `unexpected argument "extra"`},
		{"bad config", []string{"dpo", "--model", tinyFixture, "--out", dir, "--config", filepath.Join(dir, "missing.yaml")}, "missing.yaml"},
		{"bad setting", []string{"dpo", "--model", tinyFixture, "--out", dir, "--set", "dpo.beta=-1"}, "beta"},
		{"unknown key", []string{"dpo", "--model", tinyFixture, "--out", dir, "--set", "dpo.bta=1"}, "bta"},
		{"bad dtype", []string{"dpo", "--model", tinyFixture, "--out", dir, "--dtype", "fp8"}, "fp8"},
		{"negative steps", []string{"dpo", "--model", tinyFixture, "--out", dir, "--max-steps", "-1"}, "--max-steps"},
		{"missing adapter", []string{"dpo", "--model", tinyFixture, "--out", dir, "--adapter", filepath.Join(dir, "nope"), "--dtype", "float32"}, "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runCmd(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
