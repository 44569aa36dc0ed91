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
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
)

// Entry is one tensor to write: raw little-endian data in row-major order.
type Entry struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
	// Lazy, when set instead of Data, produces the data at write time, so
	// that writing a large model holds one converted tensor at a time.
	Lazy func() ([]byte, error)
	// Stream, when set instead of Data and Lazy, writes the data to w at
	// write time in pieces of its choosing (e.g. Checkpoint.CopyTo), so
	// that even one tensor need not be held in memory whole. It must write
	// exactly the size the dtype and shape imply.
	Stream func(w io.Writer) error
}

// LazyEntryFromTensor is EntryFromTensor deferred to write time: the tensor
// is converted when the file is written and the bytes dropped right after.
func LazyEntryFromTensor(name string, t *tensors.Tensor, dtype DType) (Entry, error) {
	_, dtype, err := checkTensor(name, t, dtype)
	if err != nil {
		return Entry{}, err
	}
	shape := slices.Clone(t.Shape().Dimensions)
	if shape == nil {
		shape = []int{}
	}
	return Entry{Name: name, DType: dtype, Shape: shape, Lazy: func() ([]byte, error) {
		e, err := EntryFromTensor(name, t, dtype)
		return e.Data, err
	}}, nil
}

// checkTensor validates t for an Entry named name and resolves dtype (empty:
// the tensor's own), returning the tensor's safetensors dtype too.
func checkTensor(name string, t *tensors.Tensor, dtype DType) (src, dst DType, err error) {
	if t == nil {
		return "", "", fmt.Errorf("safetensors: tensor %q is nil", name)
	}
	src, ok := FromGoMLX(t.DType())
	if !ok {
		return "", "", fmt.Errorf("safetensors: tensor %q: GoMLX dtype %s has no safetensors counterpart", name, t.DType())
	}
	if dtype == "" {
		dtype = src
	}
	if !convertible(src, dtype) {
		return "", "", fmt.Errorf("safetensors: tensor %q: cannot convert %s to %s", name, t.DType(), dtype)
	}
	return src, dtype, nil
}

// EntryFromTensor copies a GoMLX tensor into an Entry of the given dtype
// (empty: the tensor's own). Floats convert to F32/BF16/F16/F64 with
// round-to-nearest-even; integers to integer types that hold their values.
func EntryFromTensor(name string, t *tensors.Tensor, dtype DType) (Entry, error) {
	srcType, dtype, err := checkTensor(name, t, dtype)
	if err != nil {
		return Entry{}, err
	}
	if !hostIsLittleEndian {
		return Entry{}, errBigEndianHost
	}
	n := t.Size()
	e := Entry{Name: name, DType: dtype, Shape: slices.Clone(t.Shape().Dimensions), Data: make([]byte, n*dtype.Size())}
	if e.Shape == nil {
		e.Shape = []int{}
	}
	if n == 0 {
		return e, nil
	}
	var convErr error
	if err := t.ConstBytes(func(src []byte) { convErr = convertParallel(e.Data, dtype, src, srcType) }); err != nil {
		return Entry{}, fmt.Errorf("safetensors: tensor %q: %w", name, err)
	}
	if convErr != nil {
		return Entry{}, fmt.Errorf("safetensors: tensor %q: %w", name, convErr)
	}
	return e, nil
}

// numBytes is the size the entry's data must have.
func (e Entry) numBytes() (int64, error) {
	if !e.DType.Valid() {
		return 0, fmt.Errorf("unknown dtype %q", e.DType)
	}
	limit := int64(math.MaxInt64 / e.DType.Size())
	n := int64(1)
	for _, d := range e.Shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", e.Shape)
		}
		if d != 0 && n > limit/int64(d) {
			return 0, fmt.Errorf("shape %v overflows", e.Shape)
		}
		n *= int64(d)
	}
	return n * int64(e.DType.Size()), nil
}

// checkEntries validates names, dtypes, shapes and data sizes, returning
// the total data size.
func checkEntries(entries []Entry) (int64, error) {
	seen := make(map[string]bool, len(entries))
	var total int64
	for _, e := range entries {
		switch {
		case e.Name == "":
			return 0, errors.New("safetensors: entry with an empty name")
		case e.Name == metadataKey:
			return 0, fmt.Errorf("safetensors: tensor name %q is reserved", metadataKey)
		case !utf8.ValidString(e.Name):
			return 0, fmt.Errorf("safetensors: tensor name %q is not valid UTF-8", e.Name)
		case seen[e.Name]:
			return 0, fmt.Errorf("safetensors: tensor %q given twice", e.Name)
		}
		seen[e.Name] = true
		want, err := e.numBytes()
		if err != nil {
			return 0, fmt.Errorf("safetensors: tensor %q: %v", e.Name, err)
		}
		sources := 0
		for _, set := range []bool{e.Data != nil, e.Lazy != nil, e.Stream != nil} {
			if set {
				sources++
			}
		}
		if sources > 1 {
			return 0, fmt.Errorf("safetensors: tensor %q has more than one of Data, Lazy and Stream", e.Name)
		}
		if e.Lazy == nil && e.Stream == nil && int64(len(e.Data)) != want {
			return 0, fmt.Errorf("safetensors: tensor %q: %s%v needs %d bytes, data has %d", e.Name, e.DType, e.Shape, want, len(e.Data))
		}
		total += want
	}
	return total, nil
}

// sortForWriting orders entries as the Rust library does: by decreasing
// dtype alignment, then by name, so each tensor starts aligned to its
// element size when the header length is a multiple of 8.
func sortForWriting(entries []Entry) []Entry {
	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(a, b Entry) int {
		return cmp.Or(cmp.Compare(dtypeTable[b.DType].rank, dtypeTable[a.DType].rank), strings.Compare(a.Name, b.Name))
	})
	return sorted
}

// encodeHeader returns the JSON header for sorted entries, padded with
// spaces to a multiple of 8 bytes.
func encodeHeader(sorted []Entry, metadata map[string]string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	writeJSON := func(v any) error {
		if err := enc.Encode(v); err != nil {
			return err
		}
		b.Truncate(b.Len() - 1) // Encode appends a newline
		return nil
	}
	b.WriteByte('{')
	if metadata != nil {
		for k, v := range metadata {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return nil, fmt.Errorf("safetensors: metadata %q is not valid UTF-8", k)
			}
		}
		b.WriteString(`"` + metadataKey + `":`)
		if err := writeJSON(metadata); err != nil {
			return nil, err
		}
	}
	var offset int64
	for i, e := range sorted {
		if i > 0 || metadata != nil {
			b.WriteByte(',')
		}
		if err := writeJSON(e.Name); err != nil {
			return nil, err
		}
		shape := e.Shape
		if shape == nil {
			shape = []int{}
		}
		b.WriteString(`:{"dtype":`)
		if err := writeJSON(string(e.DType)); err != nil {
			return nil, err
		}
		b.WriteString(`,"shape":`)
		if err := writeJSON(shape); err != nil {
			return nil, err
		}
		size, _ := e.numBytes() // checked by checkEntries
		end := offset + size
		fmt.Fprintf(&b, `,"data_offsets":[%d,%d]}`, offset, end)
		offset = end
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	if b.Len() > MaxHeaderSize {
		return nil, fmt.Errorf("safetensors: header of %d bytes exceeds the %d-byte limit", b.Len(), MaxHeaderSize)
	}
	return b.Bytes(), nil
}

// Write writes entries and optional metadata to path atomically: a
// temporary file in the same directory is written, synced and renamed.
func Write(path string, entries []Entry, metadata map[string]string) error {
	if _, err := checkEntries(entries); err != nil {
		return fmt.Errorf("%w (writing %s)", err, path)
	}
	sorted := sortForWriting(entries)
	hdr, err := encodeHeader(sorted, metadata)
	if err != nil {
		return err
	}
	// Readers see the old file or the complete new one, never a part.
	err = atomicfile.Write(path, func(w io.Writer) error {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(hdr)))
		if _, err := w.Write(n[:]); err != nil {
			return err
		}
		if _, err := w.Write(hdr); err != nil {
			return err
		}
		for _, e := range sorted {
			if err := writeData(w, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

// writeData writes an entry's data, producing it first if it is lazy.
func writeData(w io.Writer, e Entry) error {
	if e.Stream != nil {
		want, _ := e.numBytes()
		cw := &countingWriter{w: w}
		if err := e.Stream(cw); err != nil {
			return fmt.Errorf("tensor %q: %w", e.Name, err)
		}
		if cw.n != want {
			return fmt.Errorf("tensor %q: %s%v needs %d bytes, Stream wrote %d", e.Name, e.DType, e.Shape, want, cw.n)
		}
		return nil
	}
	data := e.Data
	if e.Lazy != nil {
		var err error
		if data, err = e.Lazy(); err != nil {
			return fmt.Errorf("tensor %q: %w", e.Name, err)
		}
		if want, _ := e.numBytes(); int64(len(data)) != want {
			return fmt.Errorf("tensor %q: %s%v needs %d bytes, Lazy produced %d", e.Name, e.DType, e.Shape, want, len(data))
		}
	}
	_, err := w.Write(data)
	return err
}

// shardNamePattern matches the shard files WriteSharded produces.
var shardNamePattern = regexp.MustCompile(`^model-\d{5}-of-\d{5}\.safetensors$`)

// WriteSharded writes entries into dir as Hugging Face does: a single
// model.safetensors when the data fits in maxShardBytes (≤ 0: no limit),
// else model-0000N-of-0000M.safetensors shards of at most maxShardBytes
// (a larger tensor gets a shard of its own) and model.safetensors.index.json.
// Tensors are assigned to shards in name order. Files of a previous
// checkpoint in dir that the new one does not use (an index, a single file or
// shards) are removed afterwards, so that OpenCheckpoint(dir) sees only the
// new checkpoint.
func WriteSharded(dir string, entries []Entry, metadata map[string]string, maxShardBytes int64) error {
	if _, err := checkEntries(entries); err != nil {
		return fmt.Errorf("%w (writing %s)", err, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	shards := splitShards(entries, maxShardBytes)
	keep := map[string]bool{}
	if len(shards) <= 1 {
		if err := Write(filepath.Join(dir, SingleFileName), entries, metadata); err != nil {
			return err
		}
		keep[SingleFileName] = true
		return removeStale(dir, keep)
	}
	named := make([]Shard, len(shards))
	for i, shard := range shards {
		named[i] = Shard{Name: fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(shards)), Entries: shard}
		keep[named[i].Name] = true
	}
	if err := WriteShards(dir, named, metadata); err != nil {
		return err
	}
	keep[IndexFileName] = true
	return removeStale(dir, keep)
}

// Shard is one file of a sharded checkpoint: its name inside the
// checkpoint directory and its tensors.
type Shard struct {
	Name    string
	Entries []Entry
	// Metadata is the file's "__metadata__"; nil takes WriteShards' argument.
	Metadata map[string]string
}

// WriteShards writes a sharded checkpoint with a given assignment of
// tensors to files (as a copy of another checkpoint keeps its sharding):
// every shard with Write, then model.safetensors.index.json with the
// total size and the weight map. Names must be distinct .safetensors file
// names, and no tensor may appear twice.
func WriteShards(dir string, shards []Shard, metadata map[string]string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	var all []Entry
	seen := map[string]bool{}
	for _, sh := range shards {
		if filepath.Base(sh.Name) != sh.Name || !strings.HasSuffix(sh.Name, ".safetensors") || sh.Name == SingleFileName || seen[sh.Name] {
			return fmt.Errorf("safetensors: shard name %q: want a distinct *.safetensors file name", sh.Name)
		}
		seen[sh.Name] = true
		all = append(all, sh.Entries...)
	}
	total, err := checkEntries(all)
	if err != nil {
		return fmt.Errorf("%w (writing %s)", err, dir)
	}
	idx := indexJSON{Metadata: map[string]any{"total_size": total}, WeightMap: map[string]string{}}
	for _, sh := range shards {
		md := sh.Metadata
		if md == nil {
			md = metadata
		}
		if err := Write(filepath.Join(dir, sh.Name), sh.Entries, md); err != nil {
			return err
		}
		for _, e := range sh.Entries {
			idx.WeightMap[e.Name] = sh.Name
		}
	}
	data, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	data = append(data, '\n')
	if err := atomicfile.WriteBytes(filepath.Join(dir, IndexFileName), data); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

// splitShards groups name-sorted entries into consecutive shards.
func splitShards(entries []Entry, maxShardBytes int64) [][]Entry {
	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	var shards [][]Entry
	var cur []Entry
	var size int64
	for _, e := range sorted {
		n, _ := e.numBytes() // checked by checkEntries
		if maxShardBytes > 0 && len(cur) > 0 && size+n > maxShardBytes {
			shards = append(shards, cur)
			cur, size = nil, 0
		}
		cur = append(cur, e)
		size += n
	}
	if len(cur) > 0 || len(shards) == 0 {
		shards = append(shards, cur)
	}
	return shards
}

// removeStale deletes checkpoint files of dir not in keep.
func removeStale(dir string, keep map[string]bool) error {
	dirEntries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	for _, de := range dirEntries {
		name := de.Name()
		if keep[name] || !de.Type().IsRegular() {
			continue
		}
		if name == IndexFileName || name == SingleFileName || shardNamePattern.MatchString(name) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return fmt.Errorf("safetensors: removing stale %s: %w", name, err)
			}
		}
	}
	return nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
