package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
)

// TestTrainFullCommand pretrains the tiny preset from scratch for two steps
// on the corpus data and checks the model directory it writes, then ships
// it with `pretrain ship`.
func TestTrainFullCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("trains and measures a model")
	}
	out := filepath.Join(t.TempDir(), "run")
	stdout, stderr, err := runCmdAll(
		"train", "full", "--model", "tiny", "--from-scratch", "--data", "corpus", "--loss-on", "all", "--debug",
		"--max-steps", "2", "--out", out, "--config", "../../../configs", "--max-eval-examples", "1", "--save-dtype", "bfloat16",
		"--set", "data.debug.max_seq_length=96", "--set", "dpo.max_length=96", "--set", "dpo.max_prompt_length=48",
		"--set", "training.per_device_train_batch_size=2", "--set", "training.gradient_accumulation_steps=1",
	)
	if err != nil {
		t.Fatalf("train full: %v\n%s", err, stderr)
	}
	if got := strings.TrimSpace(stdout); got != out {
		t.Errorf("stdout %q, want the run directory %q", got, out)
	}
	testutil.WantFiles(t, out, "config.yaml", "data_summary.json", "metrics.jsonl", "summary.json",
		"model/config.json", "model/model.safetensors", "model/tokenizer.json", "model/generation_config.json",
		"best_model/model.safetensors", "checkpoints/step-00000002/state.json")
	var summary struct {
		Full        bool   `json:"full"`
		FromScratch bool   `json:"from_scratch"`
		LossOn      string `json:"loss_on"`
		SaveDType   string `json:"save_dtype"`
		Steps       int    `json:"steps"`
	}
	testutil.ReadJSON(t, filepath.Join(out, "summary.json"), &summary)
	if !summary.Full || !summary.FromScratch || summary.LossOn != "all" || summary.SaveDType != "bfloat16" || summary.Steps != 2 {
		t.Errorf("summary.json: %+v", summary)
	}
	if !strings.Contains(stderr, "model: "+filepath.Join(out, "model")+" (bfloat16)") {
		t.Errorf("stderr lacks the model line:\n%s", stderr)
	}

	// `generate` takes the trained model directory.
	if _, stderr, err := runCmdAll("generate", "--model", filepath.Join(out, "model"), "--prompt", "I feel stuck.", "--max-new-tokens", "3"); err != nil {
		t.Fatalf("generate with the trained model: %v\n%s", err, stderr)
	}
}

func TestTrainFullCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "full", "--out", "x"}, "--data and --out are required"},
		{[]string{"train", "full", "--data", "corpus", "--out", "x", "--loss-on", "user"}, `loss on "user"`},
		{[]string{"train", "full", "--data", "corpus", "--out", "x", "--save-dtype", "int8"}, `save dtype "int8"`},
		{[]string{"pretrain", "ship", "--run", "x"}, "--run and --out are required"},
		{[]string{"pretrain", "check", "--run", "x"}, "--run and --shipped are required"},
	} {
		_, _, err := runCmdAll(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}
