// Package floats holds the float comparisons that parity checks (bench,
// curriculum merge verification) and tests share, and the JSON spelling of
// a float that reports and summaries share.
package floats

import "math"

// MaxAbsDiff is the largest |a[i] − b[i]|, computed in float64; +Inf when
// the lengths differ or any difference is NaN, so that a comparison
// against a tolerance can never pass by accident.
func MaxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	worst := 0.0
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		worst = max(worst, d)
	}
	return worst
}

// FiniteOrNil returns &x, or nil (JSON null) for NaN and ±Inf, which JSON
// cannot hold.
func FiniteOrNil(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}
