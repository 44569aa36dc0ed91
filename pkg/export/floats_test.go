package export

import (
	"math"
	"testing"
)

func TestFloat16(t *testing.T) {
	for _, tc := range []struct {
		in   float32
		want uint16
	}{
		{0, 0}, {float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {65520, 0x7c00}, // rounds up to Inf
		{1e9, 0x7c00}, {float32(math.Inf(-1)), 0xfc00},
		{1 + 1.0/2048, 0x3c00},           // tie: even (down)
		{1 + 3.0/2048, 0x3c02},           // tie: even (up)
		{6.103515625e-05, 0x0400},        // smallest normal
		{5.960464477539063e-08, 0x0001},  // smallest subnormal
		{2.9802322387695312e-08, 0x0000}, // half of it: tie to even (0)
		{4.470348358154297e-08, 0x0001},  // above the tie
		{1e-10, 0},
	} {
		if got := float16Bits(tc.in); got != tc.want {
			t.Errorf("float16Bits(%g) = %#04x, want %#04x", tc.in, got, tc.want)
		}
	}
	if h := float16Bits(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("NaN → %#04x", h)
	}
	// Every finite half survives the round trip.
	for h := range uint32(0x10000) {
		f := float16ToFloat32(uint16(h))
		if math.IsNaN(float64(f)) {
			continue
		}
		if back := float16Bits(f); back != uint16(h) {
			t.Fatalf("%#04x → %g → %#04x", h, f, back)
		}
	}
}

func TestBFloat16(t *testing.T) {
	for _, tc := range []struct {
		in   float32
		want uint16
	}{
		{1, 0x3f80}, {1 + 1.0/256, 0x3f80}, {1 + 3.0/256, 0x3f82}, {-0.012020869, 0xbc45},
	} {
		if got := bfloat16Bits(tc.in); got != tc.want {
			t.Errorf("bfloat16Bits(%g) = %#04x, want %#04x", tc.in, got, tc.want)
		}
	}
	if h := bfloat16Bits(float32(math.NaN())); h&0x7f80 != 0x7f80 || h&0x40 == 0 {
		t.Errorf("NaN → %#04x", h)
	}
	for h := range uint32(0x10000) {
		f := bfloat16ToFloat32(uint16(h))
		if !math.IsNaN(float64(f)) && bfloat16Bits(f) != uint16(h) {
			t.Fatalf("%#04x does not round-trip", h)
		}
	}
}
