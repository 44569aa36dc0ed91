package safetensors

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
)

// TestF16Exhaustive checks that every half-precision value decodes exactly
// and encodes back to itself.
func TestF16Exhaustive(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := f16ToF32(uint16(h))
		if math.IsNaN(float64(f)) {
			if back := f32ToF16(f); back&0x7c00 != 0x7c00 || back&0x3ff == 0 {
				t.Fatalf("NaN %#04x encodes back to non-NaN %#04x", h, back)
			}
			continue
		}
		if back := f32ToF16(f); back != uint16(h) {
			t.Fatalf("f16 %#04x → %v → %#04x", h, f, back)
		}
	}
	// Known values.
	for _, c := range []struct {
		h uint16
		f float32
	}{{0x3c00, 1}, {0xc000, -2}, {0x7bff, 65504}, {0x0001, 0x1p-24}, {0x0400, 0x1p-14}, {0x7c00, float32(math.Inf(1))}, {0x8000, float32(math.Copysign(0, -1))}} {
		if got := f16ToF32(c.h); got != c.f || math.Signbit(float64(got)) != math.Signbit(float64(c.f)) {
			t.Errorf("f16ToF32(%#04x) = %v, want %v", c.h, got, c.f)
		}
	}
}

// nearestTiesEven picks the encoding among candidates whose decoded value is
// nearest to x, preferring an even bit pattern on a tie.
func nearestTiesEven(x float64, candidates []uint16, decode func(uint16) float32) uint16 {
	best := candidates[0]
	bestErr := math.Inf(1)
	for _, c := range candidates {
		v := float64(decode(c))
		if math.IsInf(v, 0) {
			continue
		}
		e := math.Abs(v - x)
		if e < bestErr || (e == bestErr && c&1 == 0) {
			best, bestErr = c, e
		}
	}
	return best
}

// TestRounding checks float32 → f16/bf16 and float64 → f16/bf16 against a
// brute-force nearest-value search on random inputs in the finite range.
func TestRounding(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	bfDecode := func(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }
	for i := 0; i < 200000; i++ {
		// bf16: random float32 bit patterns away from the overflow boundary.
		f := math.Float32frombits(rng.Uint32())
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) || math.Abs(float64(f)) > 3e38 {
			continue
		}
		trunc := uint16(math.Float32bits(f) >> 16)
		if got, want := f32ToBF16(f), nearestTiesEven(float64(f), []uint16{trunc, trunc + 1}, bfDecode); got != want {
			t.Fatalf("f32ToBF16(%v) = %#04x, want %#04x", f, got, want)
		}
		// f16: values spread over its range, subnormals included.
		x := (rng.Float64()*2 - 1) * math.Pow(2, float64(rng.IntN(42)-26))
		f = float32(x)
		h := f32ToF16(f)
		cands := []uint16{h - 1, h, h + 1}
		if want := nearestTiesEven(float64(f), cands, f16ToF32); h != want {
			t.Fatalf("f32ToF16(%v) = %#04x, want %#04x", f, h, want)
		}
		// float64 sources round once, not twice.
		src := make([]byte, 8)
		binary.LittleEndian.PutUint64(src, math.Float64bits(x))
		dst := make([]byte, 2)
		if err := convert(dst, F16, src, F64); err != nil {
			t.Fatal(err)
		}
		h = binary.LittleEndian.Uint16(dst)
		if want := nearestTiesEven(x, []uint16{h - 1, h, h + 1}, f16ToF32); h != want {
			t.Fatalf("F64 %v → F16 %#04x, want %#04x", x, h, want)
		}
	}
	// A float64 just above a bf16 tie must round up, which rounding through
	// float32 to nearest would miss (double rounding).
	x := 1 + 0x1p-8 + 0x1p-40
	src := make([]byte, 8)
	binary.LittleEndian.PutUint64(src, math.Float64bits(x))
	dst := make([]byte, 2)
	_ = convert(dst, BF16, src, F64)
	if got := binary.LittleEndian.Uint16(dst); got != 0x3f81 {
		t.Errorf("F64 %v → BF16 %#04x, want 0x3f81", x, got)
	}
	// NaN stays NaN; overflow saturates to infinity.
	if b := f32ToBF16(float32(math.NaN())); b&0x7f80 != 0x7f80 || b&0x7f == 0 {
		t.Errorf("bf16 NaN = %#04x", b)
	}
	if h := f32ToF16(70000); h != 0x7c00 {
		t.Errorf("f16(70000) = %#04x, want +Inf", h)
	}
}

func TestConvertIntegers(t *testing.T) {
	cases := []struct {
		name     string
		src      []byte
		srcType  DType
		dstType  DType
		want     []byte
		errorHas string
	}{
		{"I64→I32", i64Bytes(-5, 7), Int64, Int32, []byte{0xfb, 0xff, 0xff, 0xff, 7, 0, 0, 0}, ""},
		{"I64→I32 overflow", i64Bytes(1, 1<<31), Int64, Int32, nil, "element 1 (2147483648)"},
		{"I64→I32 min", i64Bytes(-1 << 31), Int64, Int32, []byte{0, 0, 0, 0x80}, ""},
		{"I8→U8 negative", []byte{0xff}, Int8, Uint8, nil, "element 0 (-1)"},
		{"U8→I8", []byte{127, 128}, Uint8, Int8, nil, "element 1 (128)"},
		{"U64 max→I64", i64Bytes(-1), Uint64, Int64, nil, "18446744073709551615"},
		{"I64 min→F32", i64Bytes(math.MinInt64), Int64, F32, f32Bytes(-0x1p63), ""},
		{"U16→F64", []byte{0xff, 0xff}, Uint16, F64, func() []byte {
			b := make([]byte, 8)
			binary.LittleEndian.PutUint64(b, math.Float64bits(65535))
			return b
		}(), ""},
		{"F32→I32", f32Bytes(1), F32, Int32, nil, "cannot convert"},
		{"BOOL→U8", []byte{1}, Bool, Uint8, nil, "cannot convert"},
		{"BOOL invalid", []byte{0, 2}, Bool, Bool, nil, "element 1 of a BOOL tensor is 2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := len(c.src) / c.srcType.Size()
			dst := make([]byte, n*c.dstType.Size())
			err := convert(dst, c.dstType, c.src, c.srcType)
			if c.errorHas != "" {
				if err == nil || !strings.Contains(err.Error(), c.errorHas) {
					t.Fatalf("err = %v, want one containing %q", err, c.errorHas)
				}
				return
			}
			if err != nil || string(dst) != string(c.want) {
				t.Fatalf("convert = %v, %v; want %v", dst, err, c.want)
			}
		})
	}
}

func TestBF16ToF32Lengths(t *testing.T) {
	for n := 0; n < 11; n++ {
		vals := make([]float32, n)
		for i := range vals {
			vals[i] = float32(i) - 3.5
		}
		dst := make([]byte, 4*n)
		if err := convert(dst, F32, bf16Bytes(vals...), BF16); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if got := math.Float32frombits(binary.LittleEndian.Uint32(dst[4*i:])); got != v {
				t.Fatalf("n=%d: element %d = %v, want %v", n, i, got, v)
			}
		}
	}
}

func TestConvertParallelMatchesSerial(t *testing.T) {
	n := 3*parallelMinElements + 17
	src := make([]byte, 2*n)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range src {
		src[i] = byte(rng.Uint32())
	}
	par := make([]byte, 4*n)
	ser := make([]byte, 4*n)
	if err := convertParallel(par, F32, src, BF16); err != nil {
		t.Fatal(err)
	}
	bf16ToF32(ser, src, n)
	if string(par) != string(ser) {
		t.Fatal("parallel conversion differs from serial")
	}
	// Errors report the absolute element index.
	ints := make([]byte, 8*n)
	binary.LittleEndian.PutUint64(ints[8*(n-1):], 1<<40)
	if err := convertParallel(make([]byte, 4*n), Int32, ints, Int64); err == nil || !strings.Contains(err.Error(), "element "+strconv.Itoa(n-1)) {
		t.Errorf("err = %v, want element %d", err, n-1)
	}
}

func BenchmarkBF16ToF32(b *testing.B) {
	const n = 16 << 20 // 32 MiB of bfloat16
	src := make([]byte, 2*n)
	for i := range src {
		src[i] = byte(i * 7)
	}
	dst := make([]byte, 4*n)
	b.Run("serial", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			bf16ToF32(dst, src, n)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			if err := convertParallel(dst, F32, src, BF16); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestUnalignedViews checks the byte-wise fallbacks used when a tensor's data
// is not aligned in the file (possible with third-party writers).
func TestUnalignedViews(t *testing.T) {
	const n = 37
	rng := rand.New(rand.NewPCG(5, 6))
	buf := make([]byte, 4*n+1)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	for _, pair := range [][2]DType{{BF16, F32}, {F32, BF16}, {F16, F32}} {
		srcType, dstType := pair[0], pair[1]
		src := buf[:n*srcType.Size()]
		want := make([]byte, n*dstType.Size())
		if err := convert(want, dstType, src, srcType); err != nil {
			t.Fatal(err)
		}
		shifted := make([]byte, len(src)+1)
		copy(shifted[1:], src)
		got := make([]byte, len(want)+1)
		if err := convert(got[1:], dstType, shifted[1:], srcType); err != nil {
			t.Fatal(err)
		}
		if string(got[1:]) != string(want) {
			t.Errorf("%s→%s: unaligned conversion differs from aligned", srcType, dstType)
		}
	}
}

// BenchmarkLoadBF16AsF32 measures File.Tensor on a memory-mapped 64 MiB
// bfloat16 tensor, result allocation included.
func BenchmarkLoadBF16AsF32(b *testing.B) {
	const n = 32 << 20
	path := filepath.Join(b.TempDir(), "big.safetensors")
	data := make([]byte, 2*n)
	for i := range data {
		data[i] = byte(i * 13)
	}
	if err := Write(path, []Entry{{Name: "w", DType: BF16, Shape: []int{n / 1024, 1024}, Data: data}}, nil); err != nil {
		b.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.SetBytes(2 * n)
	for b.Loop() {
		if _, err := f.Tensor("w", dtypes.Float32); err != nil {
			b.Fatal(err)
		}
	}
}
