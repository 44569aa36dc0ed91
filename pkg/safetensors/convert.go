package safetensors

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"unsafe"
)

// Conversions work on raw little-endian byte slices so that the same code
// serves reading (file bytes → GoMLX tensor memory) and writing (GoMLX
// tensor memory → file bytes). GoMLX keeps tensors in host byte order, which
// therefore must be little-endian; see hostIsLittleEndian.

var hostIsLittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// errBigEndianHost is returned where host tensor memory would need swapping.
var errBigEndianHost = errors.New("safetensors: big-endian hosts are not supported")

// f16Table maps every IEEE half-precision bit pattern to float32 bits: a
// 256 KiB table, built on first use, is faster than decoding per element.
var f16Table = sync.OnceValue(func() *[1 << 16]uint32 {
	t := new([1 << 16]uint32)
	for h := range t {
		t[h] = f16ToF32Bits(uint16(h))
	}
	return t
})

// f16ToF32Bits decodes an IEEE 754 binary16 value exactly.
func f16ToF32Bits(h uint16) uint32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // Inf or NaN; the payload is kept.
		return sign | 0x7f800000 | man<<13
	case exp == 0 && man == 0:
		return sign
	case exp == 0: // Subnormal: normalise the mantissa.
		e := uint32(127 - 15 + 1)
		for man&0x400 == 0 {
			man <<= 1
			e--
		}
		return sign | e<<23 | (man&0x3ff)<<13
	default:
		return sign | (exp+127-15)<<23 | man<<13
	}
}

func f16ToF32(h uint16) float32 { return math.Float32frombits(f16Table()[h]) }

// f32ToF16 rounds to the nearest binary16, ties to even, as torch does.
// Overflow gives ±Inf and NaN stays a (quiet) NaN.
func f32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return sign | 0x7e00 | uint16(man>>13)
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		if e < -10 { // below half the smallest subnormal: rounds to zero
			return sign
		}
		full := man | 0x800000
		shift := uint32(14 - e)
		m := full >> shift
		rem := full & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && m&1 == 1) {
			m++ // may carry into the smallest normal, which is the right encoding
		}
		return sign | uint16(m)
	}
	h := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // a carry into the exponent is correct, up to Inf
	}
	return sign | uint16(h)
}

// f32ToBF16 rounds to the nearest bfloat16, ties to even (torch's rule),
// keeping NaNs quiet NaNs.
func f32ToBF16(f float32) uint16 { return f32BitsToBF16(math.Float32bits(f)) }

// f32BitsToBF16 is f32ToBF16 on the bits of a float32.
func f32BitsToBF16(b uint32) uint16 {
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// f64ToF32RoundOdd narrows with round-to-odd, so that a second rounding to a
// 16-bit float gives the correctly rounded result (no double rounding).
func f64ToF32RoundOdd(v float64) float32 {
	f := float32(v)
	if float64(f) == v || math.IsNaN(v) || math.IsInf(float64(f), 0) {
		return f
	}
	b := math.Float32bits(f)
	if math.Abs(float64(f)) > math.Abs(v) {
		b-- // rounded away from zero: step back to the truncated value
	}
	return math.Float32frombits(b | 1)
}

// convert converts n = len(src)/srcType.Size() elements from src to dst
// (len(dst) = n × dstType.Size()). Floats convert among themselves, integers
// to any integer type that holds the value or to floats; bools only to bools.
// The error names the first offending element.
func convert(dst []byte, dstType DType, src []byte, srcType DType) error {
	n := len(src) / srcType.Size()
	if len(dst) != n*dstType.Size() || len(src) != n*srcType.Size() {
		return fmt.Errorf("internal error: converting %d bytes of %s into %d bytes of %s", len(src), srcType, len(dst), dstType)
	}
	if srcType == dstType {
		if srcType == Bool {
			if i := invalidBool(src); i >= 0 {
				return &elementError{i, fmt.Sprintf("of a BOOL tensor is %d, not 0 or 1", src[i])}
			}
		}
		copy(dst, src)
		return nil
	}
	if !convertible(srcType, dstType) {
		return fmt.Errorf("cannot convert %s to %s", srcType, dstType)
	}
	if srcType.kind() == kindFloat {
		convertFloats(dst, dstType, src, srcType, n)
		return nil
	}
	return convertIntegers(dst, dstType, src, srcType, n)
}

// convertible reports whether convert accepts the pair.
func convertible(src, dst DType) bool {
	if !src.Valid() || !dst.Valid() {
		return false
	}
	if src == dst {
		return true
	}
	sk, dk := src.kind(), dst.kind()
	switch sk {
	case kindFloat:
		return dk == kindFloat
	case kindSigned, kindUnsigned:
		return dk == kindSigned || dk == kindUnsigned || dk == kindFloat
	}
	return false
}

// elementError reports a value that cannot be converted.
type elementError struct {
	index  int
	detail string
}

func (e *elementError) Error() string { return fmt.Sprintf("element %d %s", e.index, e.detail) }

// offsetError shifts the element index of an error from a chunk by base.
func offsetError(err error, base int) error {
	var ee *elementError
	if errors.As(err, &ee) {
		return &elementError{ee.index + base, ee.detail}
	}
	return err
}

func invalidBool(b []byte) int {
	for i, v := range b {
		if v > 1 {
			return i
		}
	}
	return -1
}

// convertFloats has fast paths for the conversions of checkpoint loading and
// saving, and a general path through float64 (exact for every source type).
func convertFloats(dst []byte, dstType DType, src []byte, srcType DType, n int) {
	switch {
	case srcType == BF16 && dstType == F32:
		bf16ToF32(dst, src, n)
		return
	case srcType == F32 && dstType == BF16:
		if d, s, ok := views16x32(dst, src); ok {
			for i, v := range s {
				d[i] = f32BitsToBF16(v)
			}
			return
		}
		for i := 0; i < n; i++ {
			binary.LittleEndian.PutUint16(dst[2*i:], f32BitsToBF16(binary.LittleEndian.Uint32(src[4*i:])))
		}
		return
	case srcType == F16 && dstType == F32:
		table := f16Table()
		if d, s, ok := views32x16(dst, src); ok {
			for i, v := range s {
				d[i] = table[v]
			}
			return
		}
		for i := 0; i < n; i++ {
			binary.LittleEndian.PutUint32(dst[4*i:], table[binary.LittleEndian.Uint16(src[2*i:])])
		}
		return
	case srcType == F32 && dstType == F16:
		for i := 0; i < n; i++ {
			f := math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
			binary.LittleEndian.PutUint16(dst[2*i:], f32ToF16(f))
		}
		return
	}
	read := floatReader(srcType)
	write := floatWriter(dstType)
	for i := 0; i < n; i++ {
		write(dst, i, read(src, i))
	}
}

// views32x16 returns dst and src as []uint32 and []uint16 of equal length
// when both are suitably aligned: typed loops run several times faster than
// byte-wise ones. The host is little-endian (see hostIsLittleEndian).
func views32x16(dst, src []byte) ([]uint32, []uint16, bool) {
	n := len(src) / 2
	if n == 0 || len(dst) != 4*n || !aligned(dst, 4) || !aligned(src, 2) {
		return nil, nil, false
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(&dst[0])), n), unsafe.Slice((*uint16)(unsafe.Pointer(&src[0])), n), true
}

// views16x32 is views32x16 for a 16-bit destination and a 32-bit source.
func views16x32(dst, src []byte) ([]uint16, []uint32, bool) {
	n := len(src) / 4
	if n == 0 || len(dst) != 2*n || !aligned(dst, 2) || !aligned(src, 4) {
		return nil, nil, false
	}
	return unsafe.Slice((*uint16)(unsafe.Pointer(&dst[0])), n), unsafe.Slice((*uint32)(unsafe.Pointer(&src[0])), n), true
}

func aligned(b []byte, k uintptr) bool { return uintptr(unsafe.Pointer(unsafe.SliceData(b)))%k == 0 }

// bf16ToF32 widens bfloat16 to float32, a 16-bit shift.
func bf16ToF32(dst, src []byte, n int) {
	if n == 0 {
		return
	}
	if d, s, ok := views32x16(dst, src); ok {
		for i, v := range s {
			d[i] = uint32(v) << 16
		}
		return
	}
	_ = dst[4*n-1]
	_ = src[2*n-1]
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint32(dst[4*i:], uint32(binary.LittleEndian.Uint16(src[2*i:]))<<16)
	}
}

func floatReader(t DType) func(b []byte, i int) float64 {
	switch t {
	case BF16:
		return func(b []byte, i int) float64 {
			return float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16))
		}
	case F16:
		return func(b []byte, i int) float64 { return float64(f16ToF32(binary.LittleEndian.Uint16(b[2*i:]))) }
	case F32:
		return func(b []byte, i int) float64 {
			return float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case F64:
		return func(b []byte, i int) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])) }
	}
	panic("safetensors: floatReader of non-float " + string(t))
}

func floatWriter(t DType) func(b []byte, i int, v float64) {
	switch t {
	case BF16:
		return func(b []byte, i int, v float64) {
			binary.LittleEndian.PutUint16(b[2*i:], f32ToBF16(f64ToF32RoundOdd(v)))
		}
	case F16:
		return func(b []byte, i int, v float64) {
			binary.LittleEndian.PutUint16(b[2*i:], f32ToF16(f64ToF32RoundOdd(v)))
		}
	case F32:
		return func(b []byte, i int, v float64) {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(v)))
		}
	case F64:
		return func(b []byte, i int, v float64) { binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v)) }
	}
	panic("safetensors: floatWriter of non-float " + string(t))
}

// readInteger returns element i of an integer tensor as sign and magnitude,
// which holds every value of every integer type.
func readInteger(b []byte, t DType, i int) (neg bool, mag uint64) {
	var s int64
	switch t {
	case Uint8:
		return false, uint64(b[i])
	case Uint16:
		return false, uint64(binary.LittleEndian.Uint16(b[2*i:]))
	case Uint32:
		return false, uint64(binary.LittleEndian.Uint32(b[4*i:]))
	case Uint64:
		return false, binary.LittleEndian.Uint64(b[8*i:])
	case Int8:
		s = int64(int8(b[i]))
	case Int16:
		s = int64(int16(binary.LittleEndian.Uint16(b[2*i:])))
	case Int32:
		s = int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
	case Int64:
		s = int64(binary.LittleEndian.Uint64(b[8*i:]))
	default:
		panic("safetensors: readInteger of non-integer " + string(t))
	}
	if s < 0 {
		return true, uint64(-s) // for MinInt64, -s wraps to itself and uint64 gives 1<<63
	}
	return false, uint64(s)
}

func convertIntegers(dst []byte, dstType DType, src []byte, srcType DType, n int) error {
	if dstType.kind() == kindFloat {
		write := floatWriter(dstType)
		for i := 0; i < n; i++ {
			neg, mag := readInteger(src, srcType, i)
			v := float64(mag)
			if neg {
				v = -v
			}
			write(dst, i, v)
		}
		return nil
	}
	size := dstType.Size()
	bits := uint(8 * size)
	var maxPos, maxNeg uint64 // largest magnitudes the target holds
	if dstType.kind() == kindSigned {
		maxPos, maxNeg = 1<<(bits-1)-1, 1<<(bits-1)
	} else {
		maxPos = math.MaxUint64 >> (64 - bits)
	}
	var buf [8]byte
	for i := 0; i < n; i++ {
		neg, mag := readInteger(src, srcType, i)
		if (!neg && mag > maxPos) || (neg && mag > maxNeg) {
			v := fmt.Sprint(mag)
			if neg {
				v = "-" + v
			}
			return &elementError{i, fmt.Sprintf("(%s) does not fit in %s", v, dstType)}
		}
		u := mag
		if neg {
			u = -mag // two's complement
		}
		binary.LittleEndian.PutUint64(buf[:], u)
		copy(dst[i*size:(i+1)*size], buf[:size])
	}
	return nil
}
