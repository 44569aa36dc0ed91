package bench

import (
	"slices"
)

// Timing summarises repeated measurements, in seconds.
type Timing struct {
	N      int     `json:"n"`
	Median float64 `json:"median_s"`
	Mean   float64 `json:"mean_s"`
	Min    float64 `json:"min_s"`
	Max    float64 `json:"max_s"`
}

// Summarize returns the timing summary of samples (seconds); the zero
// Timing for none.
func Summarize(samples []float64) Timing {
	if len(samples) == 0 {
		return Timing{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	t := Timing{N: len(s), Min: s[0], Max: s[len(s)-1]}
	if n := len(s); n%2 == 1 {
		t.Median = s[n/2]
	} else {
		t.Median = (s[n/2-1] + s[n/2]) / 2
	}
	for _, v := range s {
		t.Mean += v
	}
	t.Mean /= float64(len(s))
	return t
}
