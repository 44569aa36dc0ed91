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

func TestFiniteOrNil(t *testing.T) {
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if p := FiniteOrNil(x); p != nil {
			t.Errorf("FiniteOrNil(%v) = %v, want nil", x, *p)
		}
	}
	if p := FiniteOrNil(-2.5); p == nil || *p != -2.5 {
		t.Errorf("FiniteOrNil(-2.5) = %v, want a pointer to -2.5", p)
	}
}
