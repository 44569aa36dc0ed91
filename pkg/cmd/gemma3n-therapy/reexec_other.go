//go:build !linux

package main

// reexecWithoutAsyncPreemption is a no-op where the program cannot replace
// itself; set GODEBUG=asyncpreemptoff=1 by hand there.
func reexecWithoutAsyncPreemption() {}
