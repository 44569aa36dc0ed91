package backend

import "strings"

// NoAsyncPreemption is the GODEBUG setting under which the pure-Go
// backend's SIMD kernels run at full speed. Go's asynchronous preemption
// interrupts a goroutine with a signal; on AVX-512 machines that leaves the
// vector registers' upper halves marked in use, and every legacy-SSE
// instruction the thread runs afterwards (math.Exp, math.Log, scalar float
// code) pays an SSE/AVX transition: measured on a 2-core Xeon, a graph's
// Exp over 2 M values took 546 ms instead of 24 ms, and one LoRA step of a
// two-layer E2B 4.3 s instead of 2.5 s. Without asynchronous preemption
// goroutines yield at function calls only, which a numeric workload does
// often enough.
const NoAsyncPreemption = "asyncpreemptoff=1"

// WithNoAsyncPreemption returns the GODEBUG value godebug (the current
// one) with NoAsyncPreemption added, and whether it had to be added. A
// value that already sets asyncpreemptoff, to anything, is left alone.
func WithNoAsyncPreemption(godebug string) (string, bool) {
	for _, kv := range strings.Split(godebug, ",") {
		if key, _, _ := strings.Cut(strings.TrimSpace(kv), "="); key == "asyncpreemptoff" {
			return godebug, false
		}
	}
	if strings.TrimSpace(godebug) == "" {
		return NoAsyncPreemption, true
	}
	return godebug + "," + NoAsyncPreemption, true
}
