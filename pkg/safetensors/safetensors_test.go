package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/gomlx/core/tensors"
)

func f32Bytes(vs ...float32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func i64Bytes(vs ...int64) []byte {
	b := make([]byte, 8*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
	}
	return b
}

func bf16Bytes(vs ...float32) []byte {
	b := make([]byte, 2*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint16(b[2*i:], f32ToBF16(v))
	}
	return b
}

func bf16ToFloat(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }

// The shared test model and adapter (pkg/internal/testutil/testdata, which
// this package's tests name by path: testutil imports this package).
const (
	tinyModelFile   = "../internal/testutil/testdata/gemma3n-tiny/model.safetensors"
	tinyAdapterFile = "../internal/testutil/testdata/gemma3n-tiny-lora/adapter_model.safetensors"
)

// openBoth runs fn on the file opened with and without memory mapping,
// and read into memory and opened with OpenBytes.
func openBoth(t *testing.T, path string, fn func(t *testing.T, f *File)) {
	t.Helper()
	for _, mmap := range []bool{true, false} {
		name := "readat"
		if mmap {
			name = "mmap"
		}
		t.Run(name, func(t *testing.T) {
			f, err := openFile(path, mmap)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if mmap && !f.Mapped() {
				t.Log("memory mapping unavailable: testing positioned reads twice")
			}
			fn(t, f)
		})
	}
	t.Run("bytes", func(t *testing.T) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := OpenBytes(path, b)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if !f.Mapped() {
			t.Error("a file in memory reads its bytes without copies, as a mapped one")
		}
		fn(t, f)
	})
}

func TestOpenBytesRejectsBadHeaders(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"short length", []byte{1, 2, 3}, "too short"},
		{"length past the end", append(binary.LittleEndian.AppendUint64(nil, 100), '{', '}'), "exceeds"},
		{"not json", append(binary.LittleEndian.AppendUint64(nil, 2), 'x', 'y'), "embedded.safetensors"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenBytes("embedded.safetensors", tc.b)
			var fe *FormatError
			if err == nil || !errors.As(err, &fe) || fe.Path != "embedded.safetensors" || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("OpenBytes = %v, want a FormatError of embedded.safetensors mentioning %q", err, tc.want)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	entries := []Entry{
		{Name: "w.f32", DType: F32, Shape: []int{2, 3}, Data: f32Bytes(1, -2, 3.5, 0, float32(math.Inf(1)), 1e-30)},
		{Name: "w.bf16", DType: BF16, Shape: []int{4}, Data: bf16Bytes(1, -2, 0.5, 65536)},
		{Name: "ids", DType: Int64, Shape: []int{2, 2}, Data: i64Bytes(1, -1, math.MaxInt64, math.MinInt64)},
		{Name: "scalar", DType: F32, Shape: []int{}, Data: f32Bytes(42)},
		{Name: "empty", DType: F32, Shape: []int{0, 5}, Data: nil},
		{Name: "flags", DType: Bool, Shape: []int{3}, Data: []byte{1, 0, 1}},
		{Name: "u8", DType: Uint8, Shape: []int{2}, Data: []byte{255, 7}},
	}
	path := filepath.Join(t.TempDir(), "x.safetensors")
	meta := map[string]string{"format": "pt", "note": "<&> ünïcode"}
	if err := Write(path, entries, meta); err != nil {
		t.Fatal(err)
	}
	openBoth(t, path, func(t *testing.T, f *File) {
		wantNames := []string{"empty", "flags", "ids", "scalar", "u8", "w.bf16", "w.f32"}
		if got := f.Names(); !slices.Equal(got, wantNames) {
			t.Fatalf("Names() = %v, want %v", got, wantNames)
		}
		if got := f.Metadata(); got["note"] != meta["note"] || got["format"] != "pt" || len(got) != 2 {
			t.Errorf("Metadata() = %v, want %v", got, meta)
		}
		for _, e := range entries {
			info, ok := f.Info(e.Name)
			if !ok || info.DType != e.DType || !slices.Equal(info.Shape, e.Shape) || info.NumBytes() != int64(len(e.Data)) {
				t.Errorf("Info(%q) = %+v, %v; want dtype %s shape %v", e.Name, info, ok, e.DType, e.Shape)
			}
			if info.Begin%int64(e.DType.Size()) != 0 {
				t.Errorf("tensor %q starts at %d, not aligned to %d", e.Name, info.Begin, e.DType.Size())
			}
			b, err := f.Bytes(e.Name)
			if err != nil || !bytes.Equal(b, e.Data) {
				t.Errorf("Bytes(%q) = %v, %v; want %v", e.Name, b, err, e.Data)
			}
			native, err := f.Tensor(e.Name, dtypes.InvalidDType)
			if err != nil {
				t.Fatalf("Tensor(%q, native): %v", e.Name, err)
			}
			if !slices.Equal(native.Shape().Dimensions, e.Shape) && !(len(e.Shape) == 0 && native.Rank() == 0) {
				t.Errorf("Tensor(%q) shape %s, want %v", e.Name, native.Shape(), e.Shape)
			}
			back, err := EntryFromTensor(e.Name, native, "")
			if err != nil {
				t.Fatal(err)
			}
			if back.DType != e.DType || !bytes.Equal(back.Data, e.Data) && len(e.Data) > 0 {
				t.Errorf("EntryFromTensor(Tensor(%q)) = %s %v, want %s %v", e.Name, back.DType, back.Data, e.DType, e.Data)
			}
		}
		// Conversions the model loader uses.
		w, err := f.Tensor("w.bf16", dtypes.Float32)
		if err != nil {
			t.Fatal(err)
		}
		if got := tensors.MustCopyFlatData[float32](w); !slices.Equal(got, []float32{1, -2, 0.5, 65536}) {
			t.Errorf("BF16→F32 = %v", got)
		}
		w, err = f.Tensor("w.f32", dtypes.BFloat16)
		if err != nil {
			t.Fatal(err)
		}
		gotBF := tensors.MustCopyFlatData[bfloat16.BFloat16](w)
		for i, want := range []float32{1, -2, 3.5, 0, float32(math.Inf(1)), 1e-30} {
			if gotBF[i] != bfloat16.BFloat16(f32ToBF16(want)) {
				t.Errorf("F32→BF16[%d] = %v, want %v", i, gotBF[i], want)
			}
		}
		ids, err := f.Tensor("ids", dtypes.Int64)
		if err != nil {
			t.Fatal(err)
		}
		if got := tensors.MustCopyFlatData[int64](ids); !slices.Equal(got, []int64{1, -1, math.MaxInt64, math.MinInt64}) {
			t.Errorf("I64 = %v", got)
		}
		if _, err := f.Tensor("ids", dtypes.Int32); err == nil || !strings.Contains(err.Error(), "element 2") {
			t.Errorf("I64→I32 of MaxInt64: err = %v, want element 2 out of range", err)
		}
		if _, err := f.Tensor("w.f32", dtypes.Int32); err == nil {
			t.Error("F32→I32 succeeded, want an error")
		}
		s, err := f.Tensor("scalar", dtypes.Float32)
		if err != nil || s.Rank() != 0 || tensors.ToScalar[float32](s) != 42 {
			t.Errorf("scalar = %v, %v", s, err)
		}
		empty, err := f.Tensor("empty", dtypes.BFloat16)
		if err != nil || !slices.Equal(empty.Shape().Dimensions, []int{0, 5}) {
			t.Errorf("empty = %v, %v", empty, err)
		}
		if _, err := f.Tensor("missing", dtypes.Float32); err == nil || !strings.Contains(err.Error(), `"missing"`) {
			t.Errorf("missing tensor: err = %v", err)
		}
	})
}

// TestWriteMatchesPython checks the writer byte for byte against a file made
// by the Python library, and against the Rust library's own test vectors.
func TestWriteMatchesPython(t *testing.T) {
	const fixture = tinyModelFile
	want, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(fixture)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var entries []Entry
	for _, name := range f.Names() {
		info, _ := f.Info(name)
		data, err := f.Bytes(name)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, Entry{Name: name, DType: info.DType, Shape: info.Shape, Data: data})
	}
	out := filepath.Join(t.TempDir(), "model.safetensors")
	if err := Write(out, entries, f.Metadata()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("rewritten fixture differs from the Python-written file (%d vs %d bytes)", len(got), len(want))
	}

	vectors := []struct {
		name    string
		entries []Entry
		meta    map[string]string
		want    string // header JSON with padding
	}{
		{"empty", nil, nil, "{}      "},
		{"metadata", nil, map[string]string{"framework": "pt"}, `{"__metadata__":{"framework":"pt"}}     `},
		{"one", []Entry{{Name: "attn.0", DType: F32, Shape: []int{1, 2, 3}, Data: f32Bytes(0, 1, 2, 3, 4, 5)}}, nil,
			`{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}`},
		{"aligned", []Entry{{Name: "attn0", DType: F32, Shape: []int{1, 1, 2, 3}, Data: f32Bytes(0, 1, 2, 3, 4, 5)}}, nil,
			`{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       `},
		{"dtype order", []Entry{
			{Name: "a", DType: Uint8, Shape: []int{1}, Data: []byte{1}},
			{Name: "b", DType: Int64, Shape: []int{}, Data: i64Bytes(2)},
			{Name: "c", DType: BF16, Shape: []int{1}, Data: bf16Bytes(3)},
		}, nil, `{"b":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"c":{"dtype":"BF16","shape":[1],"data_offsets":[8,10]},"a":{"dtype":"U8","shape":[1],"data_offsets":[10,11]}}      `},
	}
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "v.safetensors")
			if err := Write(path, v.entries, v.meta); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(path)
			n := binary.LittleEndian.Uint64(got)
			if int(n) != len(v.want) || string(got[8:8+n]) != v.want {
				t.Errorf("header = %d %q, want %d %q", n, got[8:8+n], len(v.want), v.want)
			}
		})
	}
}

func TestFixtures(t *testing.T) {
	manifestJSON, err := os.ReadFile("testdata/gemma3n-tiny-manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var manifest map[string][]int
	if err := json.Unmarshal(manifestJSON, &manifest); err != nil {
		t.Fatal(err)
	}
	openBoth(t, tinyModelFile, func(t *testing.T, f *File) {
		if got := len(f.Names()); got != len(manifest)-1 {
			t.Errorf("%d tensors, want %d (the manifest less the tied lm_head)", got, len(manifest)-1)
		}
		for name, shape := range manifest {
			info, ok := f.Info(name)
			if name == "lm_head.weight" {
				if ok {
					t.Errorf("lm_head.weight present, want it tied (absent)")
				}
				continue
			}
			if !ok || !slices.Equal(info.Shape, shape) || info.DType != F32 {
				t.Errorf("%s: got %+v (found %v), want F32 %v", name, info, ok, shape)
			}
		}
		if got := f.Metadata()["format"]; got != "pt" {
			t.Errorf("metadata format = %q, want pt", got)
		}
		emb, err := f.Tensor("model.embed_tokens.weight", dtypes.Float32)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := f.Bytes("model.embed_tokens.weight")
		vals := tensors.MustCopyFlatData[float32](emb)
		if len(vals) != 512*64 || vals[100] != math.Float32frombits(binary.LittleEndian.Uint32(raw[400:])) {
			t.Errorf("embedding values do not match the raw bytes")
		}
		var nonzero int
		for _, v := range vals {
			if v != 0 {
				nonzero++
			}
		}
		if nonzero < len(vals)/2 {
			t.Errorf("embedding has only %d non-zero values of %d", nonzero, len(vals))
		}
	})
	openBoth(t, tinyAdapterFile, func(t *testing.T, f *File) {
		checks := map[string][]int{
			"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": {4, 64},
			"base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight": {64, 4},
			"base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight": {32, 4},
			"base_model.model.model.layers.5.self_attn.o_proj.lora_B.weight": {64, 4},
		}
		for name, shape := range checks {
			if info, ok := f.Info(name); !ok || !slices.Equal(info.Shape, shape) {
				t.Errorf("%s: got %+v (found %v), want %v", name, info, ok, shape)
			}
		}
		if _, ok := f.Info("base_model.model.model.layers.5.self_attn.k_proj.lora_A.weight"); ok {
			t.Error("KV-shared layer 5 has a k_proj adapter")
		}
		if n := len(f.Names()); n != 40 {
			t.Errorf("%d adapter tensors, want 40", n)
		}
	})
}

func TestCheckpointSharded(t *testing.T) {
	var entries []Entry
	for i := range 10 {
		vals := make([]float32, 100)
		for j := range vals {
			vals[j] = float32(i*1000 + j)
		}
		entries = append(entries, Entry{Name: "layer." + string(rune('a'+i)), DType: BF16, Shape: []int{10, 10}, Data: bf16Bytes(vals...)})
	}
	dir := t.TempDir()
	// Leave a stale single file behind: it must be removed.
	if err := Write(filepath.Join(dir, SingleFileName), entries[:1], nil); err != nil {
		t.Fatal(err)
	}
	if err := WriteSharded(dir, entries, map[string]string{"format": "pt"}, 450); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, SingleFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale %s was not removed: %v", SingleFileName, err)
	}
	c, err := OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.Files(); len(got) != 5 || filepath.Base(got[0]) != "model-00001-of-00005.safetensors" {
		t.Errorf("Files() = %v, want 5 shards of 2 tensors", got)
	}
	if got := len(c.Names()); got != 10 {
		t.Errorf("%d names, want 10", got)
	}
	x, err := c.Tensor("layer.j", dtypes.Float32)
	if err != nil {
		t.Fatal(err)
	}
	for j, v := range tensors.MustCopyFlatData[float32](x) {
		if want := bf16ToFloat(f32ToBF16(float32(9000 + j))); v != want {
			t.Fatalf("layer.j[%d] = %v, want %v", j, v, want)
		}
	}
	var idx indexJSON
	data, _ := os.ReadFile(filepath.Join(dir, IndexFileName))
	if err := json.Unmarshal(data, &idx); err != nil || idx.Metadata["total_size"] != float64(2000) {
		t.Errorf("index = %s (%v)", data, err)
	}

	// Rewriting a smaller checkpoint into the same directory replaces it.
	if err := WriteSharded(dir, entries[:2], nil, 0); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(left) != 1 || filepath.Base(left[0]) != SingleFileName {
		t.Errorf("after rewrite the directory holds %v, want only %s", left, SingleFileName)
	}
	c2, err := OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if got := c2.Names(); !slices.Equal(got, []string{"layer.a", "layer.b"}) {
		t.Errorf("Names() = %v", got)
	}
	if c3, err := OpenCheckpoint(filepath.Join(dir, SingleFileName)); err != nil {
		t.Errorf("opening the file directly: %v", err)
	} else {
		c3.Close()
	}
}
