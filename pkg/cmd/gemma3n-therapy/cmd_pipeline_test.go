package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/curriculum"
)

// The sequential pipeline end to end through the command line, on the
// tiny preset, two steps per stage (training.max_steps applies to the
// sequential stages): stage 1 on CounselChat, stage 2 on AnnoMI, DPO and
// the merge; the last line of stdout is the run directory.
func TestTrainSequentialCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two SFT stages and DPO on the tiny model")
	}
	out := filepath.Join(t.TempDir(), "run")
	stdout, stderr, err := runCmdAll("train", "sequential", "--model", "tiny", "--config", "../../../configs",
		"--out", out, "--debug", "--dtype", "float32", "--lr-scale", "100", "--epochs", "2", "--max-eval-examples", "2",
		"--dpo-max-steps", "1", "--merge-final-model", "--verify-merge", "--set", "data.debug.annomi_transcripts=1",
		"--set", "data.debug.max_seq_length=128", "--set", "training.per_device_train_batch_size=4", "--set", "training.max_steps=2", "--set", "training.gradient_accumulation_steps=1",
		"--set", "training.warmup_ratio=0", "--set", "lora.r=4", "--set", "lora.lora_alpha=8",
		"--set", "dpo.per_device_train_batch_size=1", "--set", "dpo.gradient_accumulation_steps=1")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if lines[len(lines)-1] != out {
		t.Errorf("last line of stdout %q, want the run directory %s\n%s", lines[len(lines)-1], out, stdout)
	}
	for _, want := range []string{curriculum.StageCounselChat, curriculum.StageAnnoMI, "dpo", "merged model: " + filepath.Join(out, "merged")} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	raw, err := os.ReadFile(filepath.Join(out, curriculum.SummaryFileName))
	if err != nil {
		t.Fatal(err)
	}
	var s curriculum.Summary
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	if s.Pipeline != curriculum.PipelineSequential || !s.Complete || len(s.Phases) != 2 || s.Phases[0].Steps != 2 || s.Phases[1].Steps != 2 ||
		s.Phases[1].InitAdapter != s.Phases[0].Adapter || s.DPO == nil || s.DPO.Steps != 1 || s.Merge == nil {
		t.Errorf("summary.json: %s", raw)
	}

	// Resuming the complete run does nothing new and prints the same directory.
	stdout, stderr, err = runCmdAll("train", "sequential", "--resume", "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if lines := strings.Split(strings.TrimSpace(stdout), "\n"); lines[len(lines)-1] != out || !strings.Contains(stderr, "already complete") {
		t.Errorf("resume of a complete run:\n%s\n%s", stdout, stderr)
	}
}

func TestTrainPipelineCommandRejects(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // a failed run must not leave runs/ behind
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "curriculum", "extra"}, `unexpected argument "extra"`},
		{[]string{"train", "curriculum", "--resume"}, "--resume needs --out"},
		{[]string{"train", "sequential", "--run-dpo-after"}, "--run-dpo-after applies to train curriculum"},
		{[]string{"train", "curriculum", "--lr-scale", "-2", "--config", filepath.Join(wd(t), "../../../configs")}, "learning-rate scale"},
		{[]string{"train", "curriculum", "--set", "curriculum.no_such_key=1", "--config", filepath.Join(wd(t), "../../../configs")}, "no_such_key"},
		{[]string{"train", "curriculum", "--resume", "--out", filepath.Join(dir, "none"), "--dpo-max-steps", "-1"}, "DPO max steps"},
	} {
		if _, _, err := runCmdAll(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "runs")); err == nil {
		t.Error("a rejected run created runs/")
	}
}

var startDir, _ = os.Getwd()

// wd is the package directory the test binary started in.
func wd(t *testing.T) string {
	t.Helper()
	if startDir == "" {
		t.Fatal("no working directory")
	}
	return startDir
}
