package lora

import (
	"math"
	"testing"

	"github.com/gomlx/compute/dtypes/bfloat16"
)

func TestBFloat16Rounding(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want uint16
	}{
		{1, 0x3f80},
		{-1, 0xbf80},
		{0, 0},
		{1 + 1.0/256, 0x3f80},            // tie: to even (down)
		{1 + 3.0/256, 0x3f82},            // tie: to even (up)
		{1 + 1.0/256 + 1e-12, 0x3f81},    // just above the tie: up (double rounding would tie)
		{-(1 + 1.0/256 + 1e-12), 0xbf81}, // same, negative
		{-0.012020869530656751, 0xbc45},  // the case truncation gets wrong
		{math.Inf(1), 0x7f80},
		{3.5e38, 0x7f80}, // overflows to +Inf
	} {
		if got := uint16(bfloat16FromFloat64(tc.in)); got != tc.want {
			t.Errorf("bfloat16FromFloat64(%v) = %#04x (%v), want %#04x", tc.in, got, bfloat16.BFloat16(got).Float32(), tc.want)
		}
	}
	if got := bfloat16FromFloat64(math.NaN()).Float32(); !math.IsNaN(float64(got)) {
		t.Errorf("NaN became %v", got)
	}
}
