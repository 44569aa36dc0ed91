//go:build linux

package main

import (
	"os"
	"syscall"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/backend"
)

// reexecWithoutAsyncPreemption restarts the program in place with
// backend.NoAsyncPreemption added to GODEBUG (the runtime reads it only at
// start-up). It returns only if that was not needed or not possible.
func reexecWithoutAsyncPreemption() {
	godebug, added := backend.WithNoAsyncPreemption(os.Getenv("GODEBUG"))
	if !added {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	env := append(os.Environ(), "GODEBUG="+godebug)
	_ = syscall.Exec(exe, os.Args, env) // on success, does not return
}
