package safetensors

import (
	"github.com/gomlx/compute/dtypes"
)

// DType is the element type of a tensor, spelled as in the safetensors
// header ("F32", "BF16", ...).
type DType string

// The element types of the safetensors format.
const (
	Bool    DType = "BOOL"
	Uint8   DType = "U8"
	Int8    DType = "I8"
	F8E5M2  DType = "F8_E5M2"
	F8E4M3  DType = "F8_E4M3"
	Int16   DType = "I16"
	Uint16  DType = "U16"
	F16     DType = "F16"
	BF16    DType = "BF16"
	Int32   DType = "I32"
	Uint32  DType = "U32"
	F32     DType = "F32"
	F64     DType = "F64"
	Int64   DType = "I64"
	Uint64  DType = "U64"
	Complex DType = "C64"
)

// dtypeInfo describes one element type. rank is the position in the Rust
// library's Dtype enum, which orders types by increasing alignment; writers
// sort tensors by decreasing rank so that every tensor starts at an offset
// aligned to its element size.
type dtypeInfo struct {
	size  int
	rank  int
	gomlx dtypes.DType // InvalidDType: no GoMLX counterpart
}

var dtypeTable = map[DType]dtypeInfo{
	Bool:    {1, 0, dtypes.Bool},
	Uint8:   {1, 1, dtypes.Uint8},
	Int8:    {1, 2, dtypes.Int8},
	F8E5M2:  {1, 3, dtypes.InvalidDType},
	F8E4M3:  {1, 4, dtypes.InvalidDType},
	Int16:   {2, 5, dtypes.Int16},
	Uint16:  {2, 6, dtypes.Uint16},
	F16:     {2, 7, dtypes.Float16},
	BF16:    {2, 8, dtypes.BFloat16},
	Int32:   {4, 9, dtypes.Int32},
	Uint32:  {4, 10, dtypes.Uint32},
	F32:     {4, 11, dtypes.Float32},
	F64:     {8, 12, dtypes.Float64},
	Int64:   {8, 13, dtypes.Int64},
	Uint64:  {8, 14, dtypes.Uint64},
	Complex: {8, 15, dtypes.Complex64},
}

// Valid reports whether d is an element type this package knows.
func (d DType) Valid() bool {
	_, ok := dtypeTable[d]
	return ok
}

// Size is the number of bytes of one element, or 0 for an unknown type.
func (d DType) Size() int { return dtypeTable[d].size }

// GoMLX returns the GoMLX dtype with the same representation; ok is false for
// types GoMLX tensors cannot hold (the 8-bit floats) and unknown types.
func (d DType) GoMLX() (dt dtypes.DType, ok bool) {
	info, found := dtypeTable[d]
	if !found || info.gomlx == dtypes.InvalidDType {
		return dtypes.InvalidDType, false
	}
	return info.gomlx, true
}

// FromGoMLX returns the safetensors type that stores a GoMLX dtype.
func FromGoMLX(dt dtypes.DType) (DType, bool) {
	for d, info := range dtypeTable {
		if info.gomlx == dt && dt != dtypes.InvalidDType {
			return d, true
		}
	}
	return "", false
}

// kind groups element types by how their values convert.
type kind int

const (
	kindOther kind = iota // 8-bit floats, complex: raw copies only
	kindBool
	kindSigned
	kindUnsigned
	kindFloat
)

func (d DType) kind() kind {
	switch d {
	case Bool:
		return kindBool
	case Int8, Int16, Int32, Int64:
		return kindSigned
	case Uint8, Uint16, Uint32, Uint64:
		return kindUnsigned
	case F16, BF16, F32, F64:
		return kindFloat
	}
	return kindOther
}
