package export

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestEncodeRoundTrip checks each type's encoding against its decoding:
// exact for F32, within half a unit in the last place for F16 and BF16,
// within half a quantization step for Q8_0 (plus the rounding of the
// float16 scale).
func TestEncodeRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([]float32, 256)
	for i := range vals {
		vals[i] = float32(rng.NormFloat64() * math.Pow(10, float64(i%5-2)))
	}
	vals[0], vals[33] = 0, -vals[33]*100 // a zero and an outlier
	for _, tc := range []struct {
		typ GGMLType
		tol func(v float32, scale float32) float64
	}{
		{GGMLF32, func(float32, float32) float64 { return 0 }},
		{GGMLF16, func(v, _ float32) float64 { return math.Max(math.Abs(float64(v))/2048, 3e-8) }},
		{GGMLBF16, func(v, _ float32) float64 { return math.Abs(float64(v)) / 256 }},
		{GGMLQ8_0, func(_, scale float32) float64 { return float64(scale)*(0.5+1e-3) + 1e-12 }},
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			raw := encodeRow(nil, tc.typ, vals)
			if int64(len(raw)) != tc.typ.rowBytes(len(vals)) {
				t.Fatalf("%d bytes, want %d", len(raw), tc.typ.rowBytes(len(vals)))
			}
			back := make([]float32, len(vals))
			dequantize(tc.typ, raw, back)
			for i, v := range vals {
				var amax float32
				for _, w := range vals[i/32*32 : i/32*32+32] {
					amax = max(amax, float32(math.Abs(float64(w))))
				}
				if d := math.Abs(float64(back[i] - v)); d > tc.tol(v, amax/127) {
					t.Fatalf("value %d: %g → %g (|Δ| %g)", i, v, back[i], d)
				}
			}
		})
	}
}

// TestQ8_0Reference checks one block against values worked out by hand
// with gguf-py's formula.
func TestQ8_0Reference(t *testing.T) {
	block := make([]float32, 32)
	for i := range block {
		block[i] = float32(i-16) / 4 // -4 … 3.75
	}
	raw := appendQ8_0(nil, block)
	// d = 4/127; q = round(x·127/4): x=-4 → -127, x=3.75 → 119.0625 → 119, x=-0.25 → -7.9375 → -8, x=0.5 → 15.875 → 16.
	if got := float16ToFloat32(uint16(raw[0]) | uint16(raw[1])<<8); got != float16ToFloat32(float16Bits(float32(4)/127)) {
		t.Errorf("scale %g", got)
	}
	for i, want := range map[int]int8{0: -127, 31: 119, 15: -8, 18: 16, 16: 0} {
		if q := int8(raw[2+i]); q != want {
			t.Errorf("q[%d] = %d, want %d", i, q, want)
		}
	}
	// Halves round away from zero: 2.5/127·127 … build a block whose max is 127 and one value 2.5.
	b2 := make([]float32, 32)
	b2[0], b2[1], b2[2] = 127, 2.5, -2.5
	raw = appendQ8_0(nil, b2)
	if int8(raw[3]) != 3 || int8(raw[4]) != -3 {
		t.Errorf("halves: %d %d, want 3 -3", int8(raw[3]), int8(raw[4]))
	}
}
