package floats

import (
	"math"
	"testing"
)

func TestMaxAbsDiff(t *testing.T) {
	nan := float32(math.NaN())
	for _, tc := range []struct {
		a, b []float32
		want float64
	}{
		{[]float32{1, 2, 3}, []float32{1, 2.5, 2}, 1},
		{nil, nil, 0},
		{[]float32{1}, []float32{1, 2}, math.Inf(1)},
		{[]float32{nan, 1}, []float32{0, 1}, math.Inf(1)},
		{[]float32{1, 1}, []float32{1, nan}, math.Inf(1)},
	} {
		if got := MaxAbsDiff(tc.a, tc.b); got != tc.want {
			t.Errorf("MaxAbsDiff(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
