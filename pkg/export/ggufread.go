package export

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// GGUFFile is the parsed header of a GGUF file (see ReadGGUF).
type GGUFFile struct {
	Version uint32
	KV      []KV
	Tensors []GGUFTensor
	// DataOffset is where the tensor data starts in the file.
	DataOffset int64
	// Size is the file's size.
	Size int64
}

// GGUFTensor describes one tensor of a GGUF file.
type GGUFTensor struct {
	Name string
	Dims []int64 // ggml order: innermost first
	Type GGMLType
	// Offset is relative to GGUFFile.DataOffset.
	Offset int64
}

// Limits of the reader, far above any real model, so that a corrupt or
// hostile file cannot make it allocate without bound.
const (
	maxGGUFEntries  = 1 << 22 // key-value pairs, tensors, array elements
	maxGGUFString   = 1 << 26 // bytes of one string
	maxGGUFDims     = 4
	maxGGUFArrayDep = 1 // arrays of arrays are read one level deep
)

// ReadGGUF reads and validates the header of a GGUF file (version 2 or 3):
// the metadata, the tensor infos, their types, dimensions and offsets
// against the file's size. It does not read the tensor data.
func ReadGGUF(path string) (*GGUFFile, error) {
	f, r, err := bufferedFile(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	g, err := parseGGUF(r, st.Size())
	if err != nil {
		return nil, fmt.Errorf("gguf: %s: %w", path, err)
	}
	return g, nil
}

// ParseGGUF is ReadGGUF on the bytes of a whole file.
func ParseGGUF(data []byte) (*GGUFFile, error) {
	g, err := parseGGUF(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	return g, nil
}

type ggufDecoder struct {
	r    io.Reader
	n    int64 // bytes read
	size int64 // file size
	buf  [8]byte
}

var errTruncated = errors.New("file ends inside the header")

func (d *ggufDecoder) read(n int) ([]byte, error) {
	if _, err := io.ReadFull(d.r, d.buf[:n]); err != nil {
		return nil, errTruncated
	}
	d.n += int64(n)
	return d.buf[:n], nil
}

func (d *ggufDecoder) u32() (uint32, error) {
	b, err := d.read(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (d *ggufDecoder) u64() (uint64, error) {
	b, err := d.read(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// count reads a uint64 count of items of at least minBytes each, checked
// against the limits and the bytes left in the file.
func (d *ggufDecoder) count(what string, minBytes int64) (int, error) {
	n, err := d.u64()
	if err != nil {
		return 0, err
	}
	if n > maxGGUFEntries || (minBytes > 0 && int64(n) > (d.size-d.n)/minBytes) {
		return 0, fmt.Errorf("%s count %d at byte %d is implausible for a file of %d bytes", what, n, d.n-8, d.size)
	}
	return int(n), nil
}

func (d *ggufDecoder) str() (string, error) {
	n, err := d.u64()
	if err != nil {
		return "", err
	}
	if n > maxGGUFString || int64(n) > d.size-d.n {
		return "", fmt.Errorf("string of %d bytes at byte %d runs past the end of the file", n, d.n-8)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		return "", errTruncated
	}
	d.n += int64(n)
	return string(b), nil
}

// value reads one value of type typ.
func (d *ggufDecoder) value(typ uint32, depth int) (any, error) {
	switch typ {
	case ggufUint8, ggufInt8, ggufBool:
		b, err := d.read(1)
		if err != nil {
			return nil, err
		}
		switch typ {
		case ggufInt8:
			return int8(b[0]), nil
		case ggufBool:
			if b[0] > 1 {
				return nil, fmt.Errorf("bool value %d at byte %d", b[0], d.n-1)
			}
			return b[0] == 1, nil
		}
		return b[0], nil
	case ggufUint16, ggufInt16:
		b, err := d.read(2)
		if err != nil {
			return nil, err
		}
		v := binary.LittleEndian.Uint16(b)
		if typ == ggufInt16 {
			return int16(v), nil
		}
		return v, nil
	case ggufUint32, ggufInt32, ggufFloat32:
		v, err := d.u32()
		if err != nil {
			return nil, err
		}
		switch typ {
		case ggufInt32:
			return int32(v), nil
		case ggufFloat32:
			return math.Float32frombits(v), nil
		}
		return v, nil
	case ggufUint64, ggufInt64, ggufFloat64:
		v, err := d.u64()
		if err != nil {
			return nil, err
		}
		switch typ {
		case ggufInt64:
			return int64(v), nil
		case ggufFloat64:
			return math.Float64frombits(v), nil
		}
		return v, nil
	case ggufString:
		return d.str()
	case ggufArray:
		if depth >= maxGGUFArrayDep {
			return nil, fmt.Errorf("nested array at byte %d", d.n)
		}
		elem, err := d.u32()
		if err != nil {
			return nil, err
		}
		minBytes := map[uint32]int64{ggufUint8: 1, ggufInt8: 1, ggufBool: 1, ggufUint16: 2, ggufInt16: 2, ggufUint32: 4,
			ggufInt32: 4, ggufFloat32: 4, ggufUint64: 8, ggufInt64: 8, ggufFloat64: 8, ggufString: 8}[elem]
		if minBytes == 0 {
			return nil, fmt.Errorf("array of type %d at byte %d", elem, d.n-4)
		}
		n, err := d.count("array element", minBytes)
		if err != nil {
			return nil, err
		}
		return readArray(d, elem, n)
	}
	return nil, fmt.Errorf("unknown value type %d at byte %d", typ, d.n-4)
}

// readArray reads n elements of type elem into the matching Go slice.
func readArray(d *ggufDecoder, elem uint32, n int) (any, error) {
	switch elem {
	case ggufString:
		return readElems[string](d, elem, n)
	case ggufFloat32:
		return readElems[float32](d, elem, n)
	case ggufInt32:
		return readElems[int32](d, elem, n)
	case ggufUint32:
		return readElems[uint32](d, elem, n)
	case ggufBool:
		return readElems[bool](d, elem, n)
	case ggufUint8:
		return readElems[uint8](d, elem, n)
	case ggufInt64:
		return readElems[int64](d, elem, n)
	}
	out := make([]any, n)
	for i := range out {
		v, err := d.value(elem, 1)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func readElems[T any](d *ggufDecoder, elem uint32, n int) ([]T, error) {
	out := make([]T, n)
	for i := range out {
		v, err := d.value(elem, 1)
		if err != nil {
			return nil, err
		}
		out[i] = v.(T)
	}
	return out, nil
}

func parseGGUF(r io.Reader, size int64) (*GGUFFile, error) {
	d := &ggufDecoder{r: r, size: size}
	magic, err := d.u32()
	if err != nil {
		return nil, err
	}
	if magic != ggufMagic {
		return nil, fmt.Errorf("not a GGUF file (magic %#08x)", magic)
	}
	g := &GGUFFile{Size: size}
	if g.Version, err = d.u32(); err != nil {
		return nil, err
	}
	if g.Version != 2 && g.Version != 3 {
		return nil, fmt.Errorf("GGUF version %d: only 2 and 3 are supported", g.Version)
	}
	nTensors, err := d.count("tensor", 24)
	if err != nil {
		return nil, err
	}
	nKV, err := d.count("key-value", 13)
	if err != nil {
		return nil, err
	}
	alignment := int64(ggufAlignment)
	seen := map[string]bool{}
	for range nKV {
		key, err := d.str()
		if err != nil {
			return nil, err
		}
		if seen[key] {
			return nil, fmt.Errorf("key %q appears twice", key)
		}
		seen[key] = true
		typ, err := d.u32()
		if err != nil {
			return nil, err
		}
		v, err := d.value(typ, 0)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", key, err)
		}
		if key == "general.alignment" {
			a, ok := v.(uint32)
			if !ok || a == 0 || a&(a-1) != 0 {
				return nil, fmt.Errorf("general.alignment %v: want a power of two (uint32)", v)
			}
			alignment = int64(a)
		}
		g.KV = append(g.KV, KV{Key: key, Value: v})
	}
	clear(seen)
	for range nTensors {
		var t GGUFTensor
		if t.Name, err = d.str(); err != nil {
			return nil, err
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("tensor %q appears twice", t.Name)
		}
		seen[t.Name] = true
		nDims, err := d.u32()
		if err != nil {
			return nil, err
		}
		if nDims == 0 || nDims > maxGGUFDims {
			return nil, fmt.Errorf("tensor %q has %d dimensions", t.Name, nDims)
		}
		for range nDims {
			v, err := d.u64()
			if err != nil {
				return nil, err
			}
			if v == 0 || v > 1<<40 {
				return nil, fmt.Errorf("tensor %q has a dimension of %d", t.Name, v)
			}
			t.Dims = append(t.Dims, int64(v))
		}
		typ, err := d.u32()
		if err != nil {
			return nil, err
		}
		t.Type = GGMLType(typ)
		off, err := d.u64()
		if err != nil {
			return nil, err
		}
		if off > uint64(size) {
			return nil, fmt.Errorf("tensor %q: offset %d past the end of the file", t.Name, off)
		}
		t.Offset = int64(off)
		g.Tensors = append(g.Tensors, t)
	}
	g.DataOffset = (d.n + alignment - 1) / alignment * alignment
	for _, t := range g.Tensors {
		if t.Offset%alignment != 0 {
			return nil, fmt.Errorf("tensor %q: offset %d is not a multiple of the alignment %d", t.Name, t.Offset, alignment)
		}
		if t.Type.blockBytes() == 0 { // a type this package does not write: only its offset is checked
			continue
		}
		if t.Dims[0]%int64(t.Type.blockSize()) != 0 {
			return nil, fmt.Errorf("tensor %q: innermost dimension %d is not a multiple of %s's block of %d", t.Name, t.Dims[0], t.Type, t.Type.blockSize())
		}
		n := t.Type.rowBytes(int(t.Dims[0]))
		for _, dim := range t.Dims[1:] {
			if n > (1<<62)/dim {
				return nil, fmt.Errorf("tensor %q: dimensions %v overflow", t.Name, t.Dims)
			}
			n *= dim
		}
		if g.DataOffset+t.Offset+n > size {
			return nil, fmt.Errorf("tensor %q (%s %v, %d bytes at data offset %d) runs past the end of the file (%d bytes)", t.Name, t.Type, t.Dims, n, t.Offset, size)
		}
	}
	return g, nil
}

// Get returns the value of a metadata key.
func (g *GGUFFile) Get(key string) (any, bool) {
	for _, kv := range g.KV {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return nil, false
}

// Tensor returns the info of a tensor.
func (g *GGUFFile) Tensor(name string) (GGUFTensor, bool) {
	for _, t := range g.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return GGUFTensor{}, false
}

// ReadFloat32 reads a tensor of the file at path, dequantized to float32
// (F32, F16, BF16 and Q8_0), in ggml order.
func (g *GGUFFile) ReadFloat32(path, name string) ([]float32, error) {
	t, ok := g.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("gguf: %s: no tensor %q", path, name)
	}
	n := int64(1)
	for _, d := range t.Dims {
		n *= d
	}
	if t.Type.blockBytes() == 0 {
		return nil, fmt.Errorf("gguf: %s: tensor %q has type %s, which this reader cannot dequantize", path, name, t.Type)
	}
	raw := make([]byte, n/int64(t.Type.blockSize())*int64(t.Type.blockBytes()))
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	defer f.Close()
	if _, err := f.ReadAt(raw, g.DataOffset+t.Offset); err != nil {
		return nil, fmt.Errorf("gguf: %s: tensor %q: %w", path, name, err)
	}
	out := make([]float32, n)
	dequantize(t.Type, raw, out)
	return out, nil
}

// dequantize expands raw data of type typ into out.
func dequantize(typ GGMLType, raw []byte, out []float32) {
	switch typ {
	case GGMLF32:
		decodeFloat32s(out, raw)
	case GGMLF16:
		for i := range out {
			out[i] = float16ToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	case GGMLBF16:
		for i := range out {
			out[i] = bfloat16ToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	case GGMLQ8_0:
		for b := 0; b < len(out)/32; b++ {
			blk := raw[34*b:]
			d := float16ToFloat32(binary.LittleEndian.Uint16(blk))
			for i := range 32 {
				out[32*b+i] = float32(int8(blk[2+i])) * d
			}
		}
	}
}
