package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxHeaderSize is the largest JSON header accepted, the Rust library's limit.
const MaxHeaderSize = 100_000_000

// metadataKey is the header key of the free-form string metadata.
const metadataKey = "__metadata__"

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name  string
	DType DType
	Shape []int
	// Begin and End are absolute byte offsets of the tensor's data in the file.
	Begin, End int64
}

// NumElements is the product of the dimensions (1 for a scalar).
func (t TensorInfo) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// NumBytes is the size of the tensor's data.
func (t TensorInfo) NumBytes() int64 { return t.End - t.Begin }

// FormatError reports a file that is not a valid safetensors file.
type FormatError struct {
	Path   string // file name, if known
	Tensor string // offending tensor, if any
	Reason string
}

func (e *FormatError) Error() string {
	var b strings.Builder
	b.WriteString("safetensors: ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	if e.Tensor != "" {
		fmt.Fprintf(&b, "tensor %q: ", e.Tensor)
	}
	b.WriteString(e.Reason)
	return b.String()
}

func formatErr(tensor, format string, args ...any) *FormatError {
	return &FormatError{Tensor: tensor, Reason: fmt.Sprintf(format, args...)}
}

// header is a parsed and validated header. Offsets of tensors are absolute.
type header struct {
	tensors   map[string]TensorInfo
	names     []string // sorted
	metadata  map[string]string
	dataStart int64
}

// readHeader reads and validates the header of a file of the given size.
// Every tensor's byte range lies inside the data section, they do not
// overlap, and together they cover it exactly, as the Rust library demands.
func readHeader(r io.ReaderAt, size int64) (*header, error) {
	if size < 8 {
		return nil, formatErr("", "file is %d bytes, too short for the 8-byte header length (truncated file?)", size)
	}
	var lenBuf [8]byte
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, fmt.Errorf("safetensors: reading header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	switch {
	case n < 2:
		return nil, formatErr("", "header length %d is too small for a JSON object", n)
	case n > MaxHeaderSize:
		return nil, formatErr("", "header length %d exceeds the %d-byte limit (not a safetensors file?)", n, MaxHeaderSize)
	case n > uint64(size-8):
		return nil, formatErr("", "header length %d exceeds the %d bytes after the length field (truncated file?)", n, size-8)
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, 8); err != nil {
		return nil, fmt.Errorf("safetensors: reading %d-byte header: %w", n, err)
	}
	dataStart := 8 + int64(n)
	h, err := parseHeader(buf, size-dataStart)
	if err != nil {
		return nil, err
	}
	h.dataStart = dataStart
	for name, info := range h.tensors {
		info.Begin += dataStart
		info.End += dataStart
		h.tensors[name] = info
	}
	return h, nil
}

// parseHeader parses the JSON header; offsets stay relative to the data
// section of dataSize bytes.
func parseHeader(buf []byte, dataSize int64) (*header, error) {
	if !utf8.Valid(buf) {
		return nil, formatErr("", "header is not valid UTF-8")
	}
	if len(buf) == 0 || buf[0] != '{' {
		return nil, formatErr("", "header does not start with '{'")
	}
	dec := json.NewDecoder(bytes.NewReader(buf))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return nil, formatErr("", "header is not valid JSON: %v", err)
	}
	h := &header{tensors: map[string]TensorInfo{}}
	seenMetadata := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, formatErr("", "header is not valid JSON: %v", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, formatErr("", "header is not valid JSON: unexpected %v", tok)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, formatErr(name, "header is not valid JSON: %v", err)
		}
		if name == metadataKey {
			if seenMetadata {
				return nil, formatErr("", "%s appears twice", metadataKey)
			}
			seenMetadata = true
			if err := json.Unmarshal(raw, &h.metadata); err != nil {
				return nil, formatErr("", "%s must map strings to strings: %v", metadataKey, err)
			}
			continue
		}
		if _, dup := h.tensors[name]; dup {
			return nil, formatErr(name, "appears twice in the header")
		}
		info, err := parseEntry(name, raw, dataSize)
		if err != nil {
			return nil, err
		}
		h.tensors[name] = info
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, formatErr("", "header is not valid JSON: %v", err)
	}
	if rest := bytes.TrimRight(buf[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, formatErr("", "unexpected data after the header's JSON object")
	}
	if err := checkLayout(h.tensors, dataSize); err != nil {
		return nil, err
	}
	h.names = make([]string, 0, len(h.tensors))
	for name := range h.tensors {
		h.names = append(h.names, name)
	}
	slices.Sort(h.names)
	return h, nil
}

// parseEntry validates one tensor entry against dataSize.
func parseEntry(name string, raw json.RawMessage, dataSize int64) (TensorInfo, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return TensorInfo{}, formatErr(name, "entry is not a JSON object")
	}
	for _, key := range []string{"dtype", "shape", "data_offsets"} {
		if v, ok := fields[key]; !ok || string(v) == "null" {
			return TensorInfo{}, formatErr(name, "entry has no %q", key)
		}
	}
	info := TensorInfo{Name: name}
	var dtype string
	if err := json.Unmarshal(fields["dtype"], &dtype); err != nil {
		return TensorInfo{}, formatErr(name, "dtype is not a string")
	}
	info.DType = DType(dtype)
	if !info.DType.Valid() {
		return TensorInfo{}, formatErr(name, "unknown dtype %q", dtype)
	}
	dims, err := parseNaturals(fields["shape"])
	if err != nil {
		return TensorInfo{}, formatErr(name, "shape: %v", err)
	}
	offsets, err := parseNaturals(fields["data_offsets"])
	if err != nil {
		return TensorInfo{}, formatErr(name, "data_offsets: %v", err)
	}
	if len(offsets) != 2 {
		return TensorInfo{}, formatErr(name, "data_offsets has %d values, want [begin, end]", len(offsets))
	}
	// Compute the byte size without overflow: the product can only be
	// represented if it is at most MaxInt64 / element size.
	limit := uint64(math.MaxInt64 / info.DType.Size())
	numel := uint64(1)
	for _, d := range dims {
		if d != 0 && numel > limit/d {
			return TensorInfo{}, formatErr(name, "shape %v overflows the size of a tensor", dims)
		}
		numel *= d
	}
	if numel > limit {
		return TensorInfo{}, formatErr(name, "shape %v overflows the size of a tensor", dims)
	}
	nbytes := numel * uint64(info.DType.Size())
	begin, end := offsets[0], offsets[1]
	switch {
	case begin > end:
		return TensorInfo{}, formatErr(name, "data_offsets [%d, %d] end before they begin", begin, end)
	case end > uint64(dataSize):
		return TensorInfo{}, formatErr(name, "data_offsets [%d, %d] extend beyond the %d-byte data section (truncated file?)", begin, end, dataSize)
	case end-begin != nbytes:
		return TensorInfo{}, formatErr(name, "data_offsets [%d, %d] hold %d bytes but %s%v needs %d", begin, end, end-begin, info.DType, dims, nbytes)
	}
	info.Shape = make([]int, len(dims))
	for i, d := range dims {
		info.Shape[i] = int(d) // fits: d ≤ numel ≤ MaxInt64 unless another dim is 0
		if uint64(info.Shape[i]) != d {
			return TensorInfo{}, formatErr(name, "dimension %d is too large", d)
		}
	}
	info.Begin, info.End = int64(begin), int64(end)
	return info, nil
}

// parseNaturals parses a JSON array of non-negative integers below 2^63.
func parseNaturals(raw json.RawMessage) ([]uint64, error) {
	var nums []json.Number
	if err := json.Unmarshal(raw, &nums); err != nil {
		return nil, errors.New("not an array of integers")
	}
	out := make([]uint64, len(nums))
	for i, num := range nums {
		v, err := strconv.ParseUint(num.String(), 10, 63)
		if err != nil {
			return nil, fmt.Errorf("%s is not an integer in [0, 2^63)", num)
		}
		out[i] = v
	}
	return out, nil
}

// checkLayout checks that the tensors tile the data section: sorted by
// offsets, each begins where the previous ends and the last ends at the end.
func checkLayout(tensors map[string]TensorInfo, dataSize int64) error {
	infos := make([]TensorInfo, 0, len(tensors))
	for _, info := range tensors {
		infos = append(infos, info)
	}
	slices.SortFunc(infos, func(a, b TensorInfo) int {
		return cmp.Or(cmp.Compare(a.Begin, b.Begin), cmp.Compare(a.End, b.End), strings.Compare(a.Name, b.Name))
	})
	var pos int64
	var prev string
	for _, info := range infos {
		if info.Begin < pos {
			return formatErr(info.Name, "data_offsets [%d, %d] overlap tensor %q, which ends at %d", info.Begin, info.End, prev, pos)
		}
		if info.Begin > pos {
			return formatErr(info.Name, "data_offsets [%d, %d] leave bytes [%d, %d) of the data section unused", info.Begin, info.End, pos, info.Begin)
		}
		pos = info.End
		if info.End > info.Begin {
			prev = info.Name
		}
	}
	if pos != dataSize {
		return formatErr("", "tensors cover %d bytes but the data section has %d (extra data after the last tensor)", pos, dataSize)
	}
	return nil
}
