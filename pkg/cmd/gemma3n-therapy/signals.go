package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// stopSignals stop a run cleanly: Ctrl-C (SIGINT), and SIGTERM and SIGHUP,
// which docker stop, job schedulers, a closed terminal and a Jupyter kernel
// shutdown send.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// signalStop is the cause of a context cancelled by a stop signal.
type signalStop struct{ sig os.Signal }

func (s *signalStop) Error() string { return "stopped by " + signalName(s.sig) }

// signalName is the conventional name of a signal ("SIGTERM").
func signalName(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return sig.String()
}

// signalExitCode is the shell's exit status of a process killed by sig:
// 128 + its number (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP).
func signalExitCode(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 1
}

// stopContext returns a context that the first stop signal cancels, with a
// *signalStop as its cause (context.Cause), so that a run can stop cleanly
// and say why. The signals' default handling is then restored, so that a
// second one kills the process. stop releases the signals.
func stopContext() (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, stopSignals...)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			signal.Stop(ch)
			cancel(&signalStop{sig})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// stoppedBy returns the signal that cancelled ctx, or nil.
func stoppedBy(ctx context.Context) os.Signal {
	var stop *signalStop
	if errors.As(context.Cause(ctx), &stop) {
		return stop.sig
	}
	return nil
}

// signalError is a command stopped by a signal: main prints its message
// and exits with 128 + the signal number, as a shell reports a process
// killed by the signal.
type signalError struct {
	sig os.Signal
	msg string
	err error // what the stopped run returned, if anything
}

func (e *signalError) Error() string { return e.msg }
func (e *signalError) Unwrap() error { return e.err }
func (e *signalError) ExitCode() int { return signalExitCode(e.sig) }

// exitCode is the status main exits with for a command's error.
func exitCode(err error) int {
	var se *signalError
	if errors.As(err, &se) {
		return se.ExitCode()
	}
	return 1
}

// signalled turns the error of a command whose context a stop signal
// cancelled into a *signalError ("NAME: stopped by SIGTERM"); other errors,
// and nil, are returned unchanged.
func signalled(ctx context.Context, name string, err error) error {
	sig := stoppedBy(ctx)
	if err == nil || sig == nil {
		return err
	}
	return &signalError{sig: sig, msg: fmt.Sprintf("%s: stopped by %s", name, signalName(sig)), err: err}
}

// stoppedRun turns the error of a training run stopped by a signal into a
// *signalError whose one line says where the newest checkpoint under
// runDir is and how to continue: the command line of this run with
// --resume (or without it, when the run directory was removed because
// nothing had been done yet, or a single stage had no checkpoint to resume).
// It returns nil when err is nil or no signal stopped the run.
func stoppedRun(ctx context.Context, name, runDir string, args []string, err error, removed bool) *signalError {
	sig := stoppedBy(ctx)
	if err == nil || sig == nil {
		return nil
	}
	resume := "gemma3n-therapy " + name + " " + resumeArgs(args)
	if _, statErr := os.Stat(runDir); errors.Is(statErr, fs.ErrNotExist) {
		removed = true // stopped before the run directory was made
	}
	// A single stage resumes only from a checkpoint; a pipeline resumes
	// from its run.json even before any stage wrote one.
	ckpt := newestCheckpoint(runDir)
	var msg string
	if removed || (ckpt == "" && !isPipeline(name)) {
		msg = fmt.Sprintf("%s: stopped by %s before the first step finished; nothing was saved; start again with: gemma3n-therapy %s %s",
			name, signalName(sig), name, startArgs(args))
	} else if ckpt != "" {
		msg = fmt.Sprintf("%s: stopped by %s; the last finished step is saved in %s; continue with: %s", name, signalName(sig), ckpt, resume)
	} else {
		msg = fmt.Sprintf("%s: stopped by %s before a checkpoint was written (no step of this stage finished); continue with: %s", name, signalName(sig), resume)
	}
	return &signalError{sig: sig, msg: msg, err: err}
}

// isPipeline reports whether the command name is a pipeline's.
func isPipeline(name string) bool {
	return name == "train curriculum" || name == "train sequential"
}

// newestCheckpoint is the most recently written checkpoint of the run
// directory or of one of its stages (a curriculum's phases/NN-name and
// dpo), or "".
func newestCheckpoint(runDir string) string {
	var newest string
	var newestTime int64
	_ = filepath.WalkDir(runDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if rel, _ := filepath.Rel(runDir, path); strings.Count(rel, string(filepath.Separator)) > 2 {
			return filepath.SkipDir
		}
		if d.Name() != "checkpoints" {
			return nil
		}
		dirs, _ := train.CheckpointDirs(filepath.Dir(path))
		if len(dirs) > 0 {
			last := dirs[len(dirs)-1]
			if info, err := os.Stat(filepath.Join(last, "state.json")); err == nil && info.ModTime().UnixNano() >= newestTime {
				newest, newestTime = last, info.ModTime().UnixNano()
			}
		}
		return filepath.SkipDir
	})
	return newest
}

// resumeArgs is the command line args with --resume (and without a
// --resume-from, which the new checkpoints supersede), quoted for a shell.
func resumeArgs(args []string) string {
	var out []string
	hasResume := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case !strings.HasPrefix(a, "-"):
		case name == "resume-from":
			if !hasValue {
				i++ // its value
			}
			continue
		case name == "resume":
			hasResume = true
		}
		out = append(out, shellQuote(a))
	}
	if !hasResume {
		out = append(out, "--resume")
	}
	return strings.Join(out, " ")
}

// startArgs is the command line args without --resume and --resume-from,
// quoted for a shell.
func startArgs(args []string) string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && (name == "resume" || name == "resume-from") {
			if name == "resume-from" && !hasValue {
				i++
			}
			continue
		}
		out = append(out, shellQuote(a))
	}
	return strings.Join(out, " ")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r == '/' || r == '=' || r == ':' || r == ',' || r == '+' || r == '@' ||
			(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9'))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
