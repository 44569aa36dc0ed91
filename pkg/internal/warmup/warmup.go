// Package warmup resolves a learning-rate warmup given as steps or as a
// ratio of the run: the one rule that the configuration's checks (package
// config) and the trainer's schedule (package train) share.
package warmup

import "math"

// Steps resolves warmup: steps when > 0, else ceil(ratio × total) as
// Hugging Face does, except that a ratio never makes a short run invalid:
// it gives 0 steps when ratio × total is below one step, and at most
// total − 1 steps.
func Steps(steps int, ratio float64, total int) int {
	if steps > 0 {
		return steps
	}
	w := ratio * float64(total)
	if !(w >= 1) {
		return 0
	}
	return min(int(math.Ceil(w)), total-1)
}
