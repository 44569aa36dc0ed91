package export

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
)

// GGUF version 3, as llama.cpp reads and writes it: a header (magic,
// version, tensor and key-value counts), the key-value metadata, the
// tensor infos (name, dimensions innermost first, ggml type, offset in the
// data section), padding to the alignment, and the tensor data, each tensor
// padded to the alignment.
const (
	ggufMagic     = 0x46554747 // "GGUF" little-endian
	ggufVersion   = 3
	ggufAlignment = 32 // general.alignment's default
)

// GGUF metadata value types.
const (
	ggufUint8   uint32 = 0
	ggufInt8    uint32 = 1
	ggufUint16  uint32 = 2
	ggufInt16   uint32 = 3
	ggufUint32  uint32 = 4
	ggufInt32   uint32 = 5
	ggufFloat32 uint32 = 6
	ggufBool    uint32 = 7
	ggufString  uint32 = 8
	ggufArray   uint32 = 9
	ggufUint64  uint32 = 10
	ggufInt64   uint32 = 11
	ggufFloat64 uint32 = 12
)

// GGMLType is a ggml tensor type.
type GGMLType uint32

// The ggml tensor types this package writes.
const (
	GGMLF32  GGMLType = 0
	GGMLF16  GGMLType = 1
	GGMLQ8_0 GGMLType = 8
	GGMLBF16 GGMLType = 30
)

func (t GGMLType) String() string {
	switch t {
	case GGMLF32:
		return "F32"
	case GGMLF16:
		return "F16"
	case GGMLQ8_0:
		return "Q8_0"
	case GGMLBF16:
		return "BF16"
	}
	return fmt.Sprintf("GGMLType(%d)", uint32(t))
}

// blockSize and blockBytes describe a type's storage: blockBytes bytes
// hold blockSize values along the innermost dimension.
func (t GGMLType) blockSize() int {
	if t == GGMLQ8_0 {
		return 32
	}
	return 1
}

func (t GGMLType) blockBytes() int {
	switch t {
	case GGMLF32:
		return 4
	case GGMLF16, GGMLBF16:
		return 2
	case GGMLQ8_0:
		return 34
	}
	return 0
}

// rowBytes is the size of one row of n values (n a multiple of the block size).
func (t GGMLType) rowBytes(n int) int64 {
	return int64(n/t.blockSize()) * int64(t.blockBytes())
}

// KV is one metadata entry. Value holds a uint8, int8, uint16, int16,
// uint32, int32, float32, bool, string, uint64, int64 or float64, or a
// slice of one of them for an array.
type KV struct {
	Key   string
	Value any
}

// ggufTensor is a tensor to write: its name, dimensions in ggml order
// (innermost first), type, and a function that writes exactly its data.
type ggufTensor struct {
	name  string
	dims  []int64
	typ   GGMLType
	write func(w io.Writer) error
}

// size is the tensor's data size in bytes.
func (t *ggufTensor) size() int64 {
	n := t.typ.rowBytes(int(t.dims[0]))
	for _, d := range t.dims[1:] {
		n *= d
	}
	return n
}

// writeGGUF writes a GGUF file atomically: header, metadata and tensor
// infos first (every offset is known from the shapes and types), then each
// tensor's data as its write function produces it, so that no tensor needs
// to be in memory at once. progress, if not nil, is told the bytes of data
// written.
func writeGGUF(path string, kvs []KV, tensors []*ggufTensor, progress func(n int64)) error {
	seen := map[string]bool{}
	for _, kv := range kvs {
		if seen[kv.Key] {
			return fmt.Errorf("gguf: key %q given twice", kv.Key)
		}
		seen[kv.Key] = true
	}
	clear(seen)
	for _, t := range tensors {
		if seen[t.name] {
			return fmt.Errorf("gguf: tensor %q given twice", t.name)
		}
		seen[t.name] = true
		if len(t.dims) == 0 || len(t.dims) > 4 || t.typ.blockBytes() == 0 || t.dims[0]%int64(t.typ.blockSize()) != 0 {
			return fmt.Errorf("gguf: tensor %q: dimensions %v do not fit type %s", t.name, t.dims, t.typ)
		}
	}
	return atomicfile.Write(path, func(out io.Writer) error {
		w := &ggufEncoder{w: out}
		w.u32(ggufMagic)
		w.u32(ggufVersion)
		w.u64(uint64(len(tensors)))
		w.u64(uint64(len(kvs)))
		for _, kv := range kvs {
			w.str(kv.Key)
			if err := w.value(kv.Value, true); err != nil {
				return fmt.Errorf("gguf: key %q: %w", kv.Key, err)
			}
		}
		var offset int64
		for _, t := range tensors {
			w.str(t.name)
			w.u32(uint32(len(t.dims)))
			for _, d := range t.dims {
				w.u64(uint64(d))
			}
			w.u32(uint32(t.typ))
			w.u64(uint64(offset))
			offset += pad(t.size())
		}
		w.zeros(pad(w.n) - w.n)
		if w.err != nil {
			return w.err
		}
		for _, t := range tensors {
			start := w.n
			if err := t.write(w); err != nil {
				return fmt.Errorf("gguf: tensor %q: %w", t.name, err)
			}
			if w.err != nil {
				return w.err
			}
			if got := w.n - start; got != t.size() {
				return fmt.Errorf("gguf: tensor %q: wrote %d bytes, its shape and type need %d", t.name, got, t.size())
			}
			w.zeros(pad(t.size()) - t.size())
			if progress != nil {
				progress(t.size())
			}
		}
		return w.err
	})
}

// pad rounds n up to the alignment.
func pad(n int64) int64 { return (n + ggufAlignment - 1) / ggufAlignment * ggufAlignment }

// ggufEncoder writes little-endian values, remembering the first error
// and counting bytes.
type ggufEncoder struct {
	w   io.Writer
	n   int64
	err error
	buf [8]byte
}

func (e *ggufEncoder) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.n += int64(n)
	e.err = err
	return n, err
}

func (e *ggufEncoder) u8(v uint8) { e.buf[0] = v; _, _ = e.Write(e.buf[:1]) }
func (e *ggufEncoder) u16(v uint16) {
	binary.LittleEndian.PutUint16(e.buf[:], v)
	_, _ = e.Write(e.buf[:2])
}
func (e *ggufEncoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.buf[:], v)
	_, _ = e.Write(e.buf[:4])
}
func (e *ggufEncoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.buf[:], v)
	_, _ = e.Write(e.buf[:8])
}
func (e *ggufEncoder) str(s string) { e.u64(uint64(len(s))); _, _ = io.WriteString(e, s) }
func (e *ggufEncoder) zeros(n int64) {
	var z [ggufAlignment]byte
	for n > 0 {
		k := min(n, int64(len(z)))
		_, _ = e.Write(z[:k])
		n -= k
	}
}

// value writes a metadata value, with its type first when typed.
func (e *ggufEncoder) value(v any, typed bool) error {
	typ, ok := ggufTypeOf(v)
	if !ok {
		return fmt.Errorf("unsupported metadata value %T", v)
	}
	if typed {
		e.u32(typ)
	}
	switch x := v.(type) {
	case uint8:
		e.u8(x)
	case int8:
		e.u8(uint8(x))
	case uint16:
		e.u16(x)
	case int16:
		e.u16(uint16(x))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case bool:
		if x {
			e.u8(1)
		} else {
			e.u8(0)
		}
	case string:
		e.str(x)
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	default:
		return writeArray(e, v)
	}
	return nil
}

func writeArray(e *ggufEncoder, v any) error {
	switch x := v.(type) {
	case []string:
		return arrayOf(e, ggufString, x)
	case []float32:
		return arrayOf(e, ggufFloat32, x)
	case []int32:
		return arrayOf(e, ggufInt32, x)
	case []uint32:
		return arrayOf(e, ggufUint32, x)
	case []bool:
		return arrayOf(e, ggufBool, x)
	case []uint8:
		return arrayOf(e, ggufUint8, x)
	case []int64:
		return arrayOf(e, ggufInt64, x)
	}
	return fmt.Errorf("unsupported metadata value %T", v)
}

func arrayOf[T any](e *ggufEncoder, elem uint32, xs []T) error {
	e.u32(elem)
	e.u64(uint64(len(xs)))
	for _, x := range xs {
		if err := e.value(x, false); err != nil {
			return err
		}
	}
	return nil
}

// ggufTypeOf is the GGUF type of a Go value.
func ggufTypeOf(v any) (uint32, bool) {
	switch v.(type) {
	case uint8:
		return ggufUint8, true
	case int8:
		return ggufInt8, true
	case uint16:
		return ggufUint16, true
	case int16:
		return ggufInt16, true
	case uint32:
		return ggufUint32, true
	case int32:
		return ggufInt32, true
	case float32:
		return ggufFloat32, true
	case bool:
		return ggufBool, true
	case string:
		return ggufString, true
	case uint64:
		return ggufUint64, true
	case int64:
		return ggufInt64, true
	case float64:
		return ggufFloat64, true
	case []string, []float32, []int32, []uint32, []bool, []uint8, []int64:
		return ggufArray, true
	}
	return 0, false
}

// bufferedFile opens path for reading with a large buffer.
func bufferedFile(path string) (*os.File, *bufio.Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return f, bufio.NewReaderSize(f, 1<<20), nil
}
