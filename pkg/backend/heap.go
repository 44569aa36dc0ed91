package backend

import (
	"os"
	"runtime/debug"
)

// BoundHeapGrowth caps the Go heap at a little more than live bytes of
// long-lived data: the weights of a model held in host memory (the pure-Go
// backend's buffers are Go allocations). By default Go lets the heap grow
// to twice what is live before it collects, so with 8 GiB of weights a
// process could reach 16 GiB on short-lived buffers alone; with the cap the
// collector runs before the heap passes live + 20% + 256 MiB. Small models
// (under 1 GiB) and a GOMEMLIMIT set by the user are left alone. It
// returns the limit set, or 0.
func BoundHeapGrowth(live int64) int64 {
	if live < 1<<30 || os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	limit := live + live/5 + 256<<20
	debug.SetMemoryLimit(limit)
	return limit
}
