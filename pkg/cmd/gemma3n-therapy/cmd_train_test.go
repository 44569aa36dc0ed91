package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
)

// TestTrainSFTCommand runs `train sft --model tiny --data counselchat
// --debug --max-steps 3` on the shipped data, shrunk for a CPU (float32,
// sequences of 96 tokens, batch 1, one evaluation example), and checks the
// run directory it prints.
func TestTrainSFTCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	stdout, stderr, err := runCmdAll(
		"train", "sft", "--model", "tiny", "--data", "counselchat", "--debug", "--max-steps", "3", "--out", out,
		"--config", "../../../configs", "--dtype", "float32", "--max-eval-examples", "1",
		"--set", "data.debug.max_seq_length=96", "--set", "data.debug.counselchat_questions=4",
		"--set", "training.per_device_train_batch_size=1", "--set", "training.gradient_accumulation_steps=1",
	)
	if err != nil {
		t.Fatalf("train sft: %v\n%s", err, stderr)
	}
	if got := strings.TrimSpace(stdout); got != out {
		t.Errorf("stdout %q, want the run directory %q", got, out)
	}
	testutil.WantFiles(t, out, "config.yaml", "data_summary.json", "metrics.jsonl", "summary.json",
		"adapter/adapter_config.json", "adapter/adapter_model.safetensors",
		"best_adapter/adapter_config.json", "best_adapter/adapter_model.safetensors",
		"checkpoints/step-00000003/state.json", "checkpoints/best.json")
	var summary struct {
		Steps        int                `json:"steps"`
		DType        string             `json:"dtype"`
		Data         string             `json:"data"`
		Debug        bool               `json:"debug"`
		Compilations int                `json:"compilations"`
		EvalLoss     map[string]float64 `json:"final_eval_loss"`
	}
	testutil.ReadJSON(t, filepath.Join(out, "summary.json"), &summary)
	if summary.Steps != 3 || summary.DType != "float32" || summary.Data != "counselchat" || !summary.Debug ||
		summary.Compilations < 3 || summary.EvalLoss["counselchat"] <= 0 {
		t.Errorf("summary.json: %+v", summary)
	}
	if !strings.Contains(stderr, "trained 3 of 3 steps") {
		t.Errorf("stderr lacks the summary line:\n%s", stderr)
	}
}

func TestTrainSFTCommandErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"train", "sft", "--out", "x"}, "--data and --out are required"},
		{[]string{"train", "sft", "--data", "annomi"}, "--data and --out are required"},
		{[]string{"train", "sft", "--data", "annomi", "--out", "x", "extra"}, `unexpected argument "extra"`},
		{[]string{"train", "sft", "--data", "annomi", "--out", "x", "--set", "training.lr=1"}, `unknown key "training.lr"`},
		{[]string{"train", "sft", "--data", "annomi", "--out", "x", "--dtype", "int8"}, `dtype "int8"`},
	}
	for _, tc := range tests {
		_, _, err := runCmdAll(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}
