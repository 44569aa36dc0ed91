package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safety"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// runMainEnv makes the test binary run the command line program instead of
// the tests, so that a test can send signals to a real process.
const runMainEnv = "GEMMA3N_THERAPY_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startMain starts the program as a subprocess with args.
func startMain(t *testing.T, stdin io.Reader, args ...string) (*exec.Cmd, *safeBuffer, *safeBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	var stdout, stderr safeBuffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, &stdout, &stderr
}

// trainedSteps returns the steps of the "train" records of a run's metrics log.
func trainedSteps(runDir string) []int {
	raw, _ := os.ReadFile(filepath.Join(runDir, train.MetricsFileName))
	var steps []int
	for _, line := range strings.Split(string(raw), "\n") {
		var rec struct {
			Kind string `json:"kind"`
			Step int    `json:"step"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Kind == "train" {
			steps = append(steps, rec.Step)
		}
	}
	return steps
}

// waitFor polls cond for up to a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// exitStatus waits (up to a minute) for the process and returns its exit status.
func exitStatus(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	timer := time.AfterFunc(time.Minute, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	err := cmd.Wait()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode() // -1 when a signal killed it (or the minute ran out)
}

// TestSIGTERMSavesAndResumes: `train sft` on the tiny preset, sent SIGTERM
// mid-run, saves the last finished step, exits with 143 and says where the
// checkpoint is and how to continue; --resume then finishes to the same
// adapter, byte for byte, as an uninterrupted run of the same steps.
func TestSIGTERMSavesAndResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the tiny model three times")
	}
	const steps = 12
	args := func(out string) []string {
		return []string{"train", "sft", "--model", "tiny", "--data", "counselchat", "--debug", "--max-steps", "12", "--out", out,
			"--config", "../../../configs", "--dtype", "float32", "--max-eval-examples", "1",
			"--set", "data.debug.max_seq_length=96", "--set", "data.debug.counselchat_questions=8",
			"--set", "training.per_device_train_batch_size=1", "--set", "training.gradient_accumulation_steps=1",
			"--set", "training.logging_steps=1", "--set", "training.save_steps=100"}
	}
	whole := filepath.Join(t.TempDir(), "whole")
	if _, stderr, err := runCmdAll(args(whole)...); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, stderr)
	}

	out := filepath.Join(t.TempDir(), "stopped")
	cmd, _, stderr := startMain(t, nil, args(out)...)
	waitFor(t, "the first step", func() bool { return len(trainedSteps(out)) >= 1 })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if status := exitStatus(t, cmd); status != 143 {
		t.Fatalf("exit status %d after SIGTERM, want 143\n%s", status, stderr)
	}
	done := trainedSteps(out)
	last := done[len(done)-1]
	if last >= steps {
		t.Fatalf("the run finished (%d steps) before SIGTERM stopped it", last)
	}
	ckpt, err := train.LatestCheckpoint(out)
	if err != nil || ckpt != stepDir(out, last) {
		t.Fatalf("checkpoint %q (%v), want the last finished step %d", ckpt, err, last)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	msg := lines[len(lines)-1]
	t.Logf("stopped after step %d of %d: %s", last, steps, msg)
	for _, want := range []string{"gemma3n-therapy: train sft: stopped by SIGTERM", ckpt, "continue with: gemma3n-therapy train sft", "--out " + out, "--resume"} {
		if !strings.Contains(msg, want) {
			t.Errorf("last line of stderr lacks %q:\n%s", want, msg)
		}
	}

	if _, stderr, err := runCmdAll(append(args(out), "--resume")...); err != nil {
		t.Fatalf("resumed run: %v\n%s", err, stderr)
	}
	for _, name := range []string{"adapter/adapter_model.safetensors", "best_adapter/adapter_model.safetensors"} {
		a, errA := os.ReadFile(filepath.Join(whole, name))
		b, errB := os.ReadFile(filepath.Join(out, name))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: the resumed run's differs from the uninterrupted run's (%v, %v)", name, errA, errB)
		}
	}
}

// stepDir is the checkpoint directory of a step.
func stepDir(runDir string, step int) string {
	return filepath.Join(runDir, "checkpoints", fmt.Sprintf("step-%08d", step))
}

// TestDPOCommandSavesOnSIGHUP: the dpo command saves the last finished
// step on SIGHUP and exits with 129.
func TestDPOCommandSavesOnSIGHUP(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the tiny model on CounselChat pairs")
	}
	runDir := t.TempDir()
	cmd, _, stderr := startMain(t, nil, "dpo", "--model", tinyFixture, "--adapter", tinyLoRAFixture, "--config", shippedDPOYAML,
		"--out", runDir, "--debug", "--max-steps", "40", "--dtype", "float32",
		"--set", "dpo.max_length=64", "--set", "dpo.max_prompt_length=32", "--set", "dpo.gradient_accumulation_steps=1",
		"--set", "data.debug.counselchat_questions=6", "--set", "training.per_device_eval_batch_size=4",
		"--set", "training.logging_steps=1", "--set", "training.save_steps=100", "--set", "training.eval_steps=100")
	waitFor(t, "the first step", func() bool { return len(trainedSteps(runDir)) >= 1 })
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if status := exitStatus(t, cmd); status != 129 {
		t.Fatalf("exit status %d after SIGHUP, want 129\n%s", status, stderr)
	}
	done := trainedSteps(runDir)
	ckpt, _ := train.LatestCheckpoint(runDir)
	if ckpt != stepDir(runDir, done[len(done)-1]) {
		t.Errorf("checkpoint %q, want the last finished step %d", ckpt, done[len(done)-1])
	}
	if !strings.Contains(stderr.String(), "dpo: stopped by SIGHUP; the last finished step is saved in "+ckpt) {
		t.Errorf("stderr:\n%s", stderr)
	}
}

// TestChatSignals: at the prompt, SIGINT and SIGHUP end a chat with 130
// and 129; before, SIGINT ended it with 1 and SIGHUP killed it.
func TestChatSignals(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		want int
	}{{syscall.SIGINT, 130}, {syscall.SIGHUP, 129}, {syscall.SIGTERM, 143}} {
		stdinR, stdinW, err := os.Pipe() // a terminal that stays open
		if err != nil {
			t.Fatal(err)
		}
		defer stdinW.Close()
		cmd, stdout, stderr := startMain(t, stdinR, "chat", "--model", tinyFixture, "--max-new-tokens", "4")
		stdinR.Close()
		waitFor(t, "the prompt", func() bool { return strings.Contains(stdout.String(), "\n> ") })
		if err := cmd.Process.Signal(tc.sig); err != nil {
			t.Fatal(err)
		}
		if status := exitStatus(t, cmd); status != tc.want {
			t.Errorf("%v at the prompt: exit status %d, want %d\n%s", tc.sig, status, tc.want, stderr)
		}
		if want := "chat: stopped by " + signalName(tc.sig); !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// TestChatSIGINTStopsTheReply: SIGINT during a reply stops it and returns
// to the prompt, with what was shown kept in the history; SIGTERM during a
// reply ends the conversation.
func TestChatSIGINTStopsTheReply(t *testing.T) {
	gate, err := safety.NewGate(config.DefaultSafety(), false)
	if err != nil {
		t.Fatal(err)
	}
	sigs := make(chan os.Signal, 1)
	started := make(chan struct{})
	var seen [][]data.Message
	respond := func(ctx context.Context, msgs []data.Message, out io.Writer) (string, error) {
		seen = append(seen, msgs)
		io.WriteString(out, "partial")
		started <- struct{}{}
		<-ctx.Done() // a long reply, stopped by the signal
		return "partial", nil
	}
	stdinR, stdinW := io.Pipe()
	var stdout safeBuffer
	done := make(chan error, 1)
	go func() {
		done <- chatLoop(sigs, &runContext{stdin: stdinR, stdout: &stdout, stderr: io.Discard}, gate, respond, "")
	}()
	w := bufio.NewWriter(stdinW)
	say := func(line string) {
		w.WriteString(line + "\n")
		w.Flush()
	}
	say("hello")
	<-started
	sigs <- os.Interrupt
	waitFor(t, "the reply to stop", func() bool { return strings.Contains(stdout.String(), "(reply stopped)") })
	say("are you there?")
	<-started // the loop went back to the prompt and took the next turn
	sigs <- syscall.SIGTERM
	var se *signalError
	if err := <-done; !errors.As(err, &se) || se.ExitCode() != 143 {
		t.Fatalf("SIGTERM during a reply: err = %v, want a signal error with exit status 143", err)
	}
	if len(seen) != 2 || len(seen[1]) != 3 || seen[1][1].Content != "partial" {
		t.Errorf("the second turn saw %+v, want the stopped reply in the history", seen[len(seen)-1])
	}
	stdinW.Close()
}

// safeBuffer is a bytes.Buffer for one writer and concurrent readers.
type safeBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *safeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestResumeArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--out", "runs/a b", "--max-steps", "3"}, "--out 'runs/a b' --max-steps 3 --resume"},
		{[]string{"--out", "r", "--resume"}, "--out r --resume"},
		{[]string{"--resume-from", "r/checkpoints/step-00000002", "--out", "r"}, "--out r --resume"},
		{[]string{"--resume-from=x", "--set", "training.seed=1"}, "--set training.seed=1 --resume"},
		{[]string{"--set", "a='b'"}, `--set 'a='\''b'\''' --resume`},
	} {
		if got := resumeArgs(tc.args); got != tc.want {
			t.Errorf("resumeArgs(%q) = %s, want %s", tc.args, got, tc.want)
		}
	}
}

// TestStoppedRunMessages: the one line of a stopped run names the
// checkpoint and the --resume command, or says to start again when nothing
// was saved.
func TestStoppedRunMessages(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(&signalStop{syscall.SIGTERM})
	args := []string{"--out", "r", "--resume-from", "r/checkpoints/step-00000001"}
	if se := stoppedRun(context.Background(), "train sft", t.TempDir(), args, context.Canceled, false); se != nil {
		t.Errorf("a run not stopped by a signal: %v", se)
	}
	missing := filepath.Join(t.TempDir(), "never-made")
	se := stoppedRun(ctx, "train sft", missing, args, context.Canceled, false)
	if se == nil || se.ExitCode() != 143 || se.Error() != "train sft: stopped by SIGTERM before the first step finished; nothing was saved; start again with: gemma3n-therapy train sft --out r" {
		t.Errorf("got %v", se)
	}
	// A stage's existing directory without a checkpoint has nothing to
	// resume; a pipeline's resumes from its run.json.
	dir := t.TempDir()
	se = stoppedRun(ctx, "train sft", dir, args, context.Canceled, false)
	if se == nil || !strings.HasSuffix(se.Error(), "nothing was saved; start again with: gemma3n-therapy train sft --out r") {
		t.Errorf("a stage without a checkpoint: got %v", se)
	}
	se = stoppedRun(ctx, "train curriculum", dir, args, context.Canceled, false)
	if se == nil || !strings.HasSuffix(se.Error(), "before a checkpoint was written (no step of this stage finished); continue with: gemma3n-therapy train curriculum --out r --resume") {
		t.Errorf("a pipeline without a checkpoint: got %v", se)
	}
	if err := os.MkdirAll(filepath.Join(dir, "checkpoints", "step-00000003"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "checkpoints", "step-00000003", "state.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	se = stoppedRun(ctx, "dpo", dir, args, context.Canceled, false)
	want := "dpo: stopped by SIGTERM; the last finished step is saved in " + filepath.Join(dir, "checkpoints", "step-00000003") + "; continue with: gemma3n-therapy dpo --out r --resume"
	if se == nil || se.Error() != want {
		t.Errorf("got %v\nwant %s", se, want)
	}
}
