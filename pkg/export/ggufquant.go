package export

import (
	"encoding/binary"
	"math"
)

// encodeRow appends the ggml encoding of values (a whole number of the
// type's blocks) to dst, bit for bit as llama.cpp's gguf-py writes them:
// F16 rounds to nearest even (numpy's astype), BF16 as
// ggml_compute_fp32_to_bf16, Q8_0 as gguf-py's Q8_0.quantize_blocks (the
// reference ggml-quants.c result).
func encodeRow(dst []byte, typ GGMLType, values []float32) []byte {
	switch typ {
	case GGMLF32:
		for _, v := range values {
			dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(v))
		}
	case GGMLF16:
		for _, v := range values {
			dst = binary.LittleEndian.AppendUint16(dst, float16Bits(v))
		}
	case GGMLBF16:
		for _, v := range values {
			dst = binary.LittleEndian.AppendUint16(dst, bfloat16Bits(v))
		}
	case GGMLQ8_0:
		for b := 0; b+32 <= len(values); b += 32 {
			dst = appendQ8_0(dst, values[b:b+32])
		}
	default:
		panic("encodeRow: unsupported type " + typ.String())
	}
	return dst
}

// appendQ8_0 quantizes one block of 32 values: d = max|x|/127 (float32),
// q = round-half-away(x·(1/d)) in float32 arithmetic, d stored as float16.
func appendQ8_0(dst []byte, block []float32) []byte {
	var amax float32
	for _, v := range block {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	d := amax / 127
	var id float32
	if d != 0 {
		id = 1 / d
	}
	dst = binary.LittleEndian.AppendUint16(dst, float16Bits(d))
	for _, v := range block {
		x := v * id
		dst = append(dst, byte(int8(math.Round(float64(x)))))
	}
	return dst
}
