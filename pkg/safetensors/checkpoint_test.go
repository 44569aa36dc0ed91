package safetensors

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
)

func writeTestShard(t *testing.T, path string, names ...string) {
	t.Helper()
	var entries []Entry
	for _, n := range names {
		entries = append(entries, Entry{Name: n, DType: F32, Shape: []int{1}, Data: f32Bytes(1)})
	}
	if err := Write(path, entries, nil); err != nil {
		t.Fatal(err)
	}
}

func TestCheckpointErrors(t *testing.T) {
	cases := []struct {
		name  string
		index string   // model.safetensors.index.json content
		want  []string // the error must contain all of these
	}{
		{"missing shard", `{"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`,
			[]string{"model-00002-of-00002.safetensors", `"b"`, "cannot be opened"}},
		{"missing tensor", `{"weight_map":{"a":"model-00001-of-00002.safetensors","zz":"model-00001-of-00002.safetensors"}}`,
			[]string{`"zz"`, "model-00001-of-00002.safetensors", "no such tensor"}},
		{"escaping shard", `{"weight_map":{"a":"../model-00001-of-00002.safetensors"}}`, []string{`"a"`, "inside the checkpoint directory"}},
		{"absolute shard", `{"weight_map":{"a":"/etc/passwd"}}`, []string{"/etc/passwd"}},
		{"no weight_map", `{"metadata":{"total_size":4}}`, []string{"no \"weight_map\""}},
		{"bad JSON", `{"weight_map":`, []string{"invalid index JSON"}},
		{"corrupt shard", `{"weight_map":{"c":"model-00003-of-00003.safetensors"}}`, []string{"model-00003-of-00003.safetensors", "too short"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTestShard(t, filepath.Join(dir, "model-00001-of-00002.safetensors"), "a")
			if err := os.WriteFile(filepath.Join(dir, "model-00003-of-00003.safetensors"), []byte("abc"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, IndexFileName), []byte(c.index), 0o644); err != nil {
				t.Fatal(err)
			}
			ck, err := OpenCheckpoint(dir)
			if err == nil {
				ck.Close()
				t.Fatal("OpenCheckpoint succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestCheckpointDirectoryForms(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenCheckpoint(dir); err == nil || !strings.Contains(err.Error(), "has no") {
		t.Errorf("empty directory: err = %v", err)
	}
	// A lone adapter file is found.
	writeTestShard(t, filepath.Join(dir, "adapter_model.safetensors"), "x")
	c, err := OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Names(); len(got) != 1 || got[0] != "x" {
		t.Errorf("Names() = %v", got)
	}
	c.Close()
	// Two candidates are ambiguous.
	writeTestShard(t, filepath.Join(dir, "other.safetensors"), "y")
	if _, err := OpenCheckpoint(dir); err == nil || !strings.Contains(err.Error(), "several candidates") {
		t.Errorf("two files: err = %v", err)
	}
	// model.safetensors wins over other files.
	writeTestShard(t, filepath.Join(dir, SingleFileName), "m")
	c, err = OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.Info("m"); !ok {
		t.Error("model.safetensors not chosen")
	}
	if _, err := c.Tensor("nope", dtypes.Float32); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("missing tensor: err = %v", err)
	}
}

// TestTruncatedAfterOpen shrinks a file under an open File: reads must fail
// with an error, not a crash (SIGBUS on the mapping) or silent zeros.
func TestTruncatedAfterOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.safetensors")
	vals := make([]float32, 1<<16)
	for i := range vals {
		vals[i] = float32(i)
	}
	if err := Write(path, []Entry{{Name: "w", DType: F32, Shape: []int{len(vals)}, Data: f32Bytes(vals...)}}, nil); err != nil {
		t.Fatal(err)
	}
	for _, mmap := range []bool{true, false} {
		f, err := openFile(path, mmap)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, 1000); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Tensor("w", dtypes.Float32); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `"w"`) {
			t.Errorf("mmap=%v: Tensor after truncation: err = %v", mmap, err)
		}
		if !mmap {
			// Positioned reads past the new end, without the size check.
			info, _ := f.Info("w")
			err := f.readConvertedChunks(info, make([]byte, 2*info.NumElements()), BF16)
			if err == nil || !strings.Contains(err.Error(), "file ends before byte") {
				t.Errorf("reading a truncated file: err = %v", err)
			}
			if _, err := f.Bytes("w"); err == nil || strings.Count(err.Error(), `tensor "w"`) != 1 {
				t.Errorf("Bytes of a truncated file: err = %v, want one prefix", err)
			}
		}
		if f.Mapped() {
			// Bypass the size check: the fault itself must become an error.
			info, _ := f.Info("w")
			dst := make([]byte, info.NumBytes())
			if err := convertParallel(dst, F32, f.mapped[info.Begin:info.End], F32); err == nil || !strings.Contains(err.Error(), "memory fault") {
				t.Errorf("converting a truncated mapping: err = %v", err)
			}
		}
		f.Close()
		if _, err := f.Bytes("w"); err == nil || !strings.Contains(err.Error(), "closed") {
			t.Errorf("Bytes after Close: err = %v", err)
		}
		// Restore the file for the next round.
		if err := Write(path, []Entry{{Name: "w", DType: F32, Shape: []int{len(vals)}, Data: f32Bytes(vals...)}}, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	ok := Entry{Name: "a", DType: F32, Shape: []int{1}, Data: f32Bytes(1)}
	cases := []struct {
		name    string
		entries []Entry
		want    string
	}{
		{"duplicate", []Entry{ok, ok}, `"a" given twice`},
		{"short data", []Entry{{Name: "a", DType: F32, Shape: []int{2}, Data: f32Bytes(1)}}, "needs 8 bytes, data has 4"},
		{"bad dtype", []Entry{{Name: "a", DType: "F33", Shape: []int{1}, Data: f32Bytes(1)}}, `unknown dtype "F33"`},
		{"negative dim", []Entry{{Name: "a", DType: F32, Shape: []int{-1}}}, "negative dimension"},
		{"reserved name", []Entry{{Name: "__metadata__", DType: F32, Shape: []int{1}, Data: f32Bytes(1)}}, "reserved"},
		{"empty name", []Entry{{DType: F32, Shape: []int{1}, Data: f32Bytes(1)}}, "empty name"},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "out.safetensors")
			err := Write(path, c.entries, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if _, statErr := os.Stat(path); !os.IsNotExist(statErr) {
				t.Errorf("a failed Write left %s behind", path)
			}
		})
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
	if err := Write(filepath.Join(dir, "no-such-dir", "x.safetensors"), []Entry{ok}, nil); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}

func TestEntryFromTensor(t *testing.T) {
	x := tensors.FromValue([][]float32{{1, 2.5}, {-3, 1e-3}})
	e, err := EntryFromTensor("x", x, BF16)
	if err != nil {
		t.Fatal(err)
	}
	if e.DType != BF16 || len(e.Data) != 8 || e.Shape[0] != 2 || e.Shape[1] != 2 {
		t.Fatalf("entry = %+v", e)
	}
	if got := bf16ToFloat(uint16(e.Data[6]) | uint16(e.Data[7])<<8); got != bf16ToFloat(f32ToBF16(1e-3)) {
		t.Errorf("element 3 = %v", got)
	}
	if _, err := EntryFromTensor("x", x, Int32); err == nil {
		t.Error("F32 → I32 entry succeeded")
	}
	if _, err := EntryFromTensor("x", nil, F32); err == nil {
		t.Error("nil tensor accepted")
	}
	ids := tensors.FromValue([]int32{1, -2})
	e, err = EntryFromTensor("ids", ids, Int64)
	if err != nil || string(e.Data) != string(i64Bytes(1, -2)) {
		t.Errorf("I32 → I64 entry = %v, %v", e.Data, err)
	}
	s := tensors.FromScalar(float32(7))
	e, err = EntryFromTensor("s", s, "")
	if err != nil || e.DType != F32 || len(e.Shape) != 0 || e.Shape == nil {
		t.Errorf("scalar entry = %+v, %v", e, err)
	}
}

func TestLazyEntries(t *testing.T) {
	var entries []Entry
	for i := range 4 {
		x := tensors.FromValue([][]float32{{float32(i), 0.5}, {-1, 3}})
		e, err := LazyEntryFromTensor("t"+strconv.Itoa(i), x, BF16)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	dir := t.TempDir()
	if err := WriteSharded(dir, entries, nil, 16); err != nil {
		t.Fatal(err)
	}
	c, err := OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if len(c.Files()) != 2 {
		t.Errorf("Files() = %v, want 2 shards of 16 bytes", c.Files())
	}
	y, err := c.Tensor("t3", dtypes.Float32)
	if err != nil {
		t.Fatal(err)
	}
	if got := tensors.MustCopyFlatData[float32](y); !slices.Equal(got, []float32{3, 0.5, -1, 3}) {
		t.Errorf("t3 = %v", got)
	}
	// The pages released after a conversion read back correctly.
	raw, err := c.Bytes("t3")
	if err != nil || len(raw) != 8 || bf16ToFloat(uint16(raw[0])|uint16(raw[1])<<8) != 3 {
		t.Errorf("Bytes(t3) = %v, %v", raw, err)
	}

	failing := Entry{Name: "bad", DType: F32, Shape: []int{2}, Lazy: func() ([]byte, error) { return nil, errors.New("boom") }}
	short := Entry{Name: "short", DType: F32, Shape: []int{2}, Lazy: func() ([]byte, error) { return make([]byte, 4), nil }}
	both := Entry{Name: "both", DType: F32, Shape: []int{1}, Data: f32Bytes(1), Lazy: short.Lazy}
	for _, e := range []Entry{failing, short, both} {
		path := filepath.Join(t.TempDir(), "x.safetensors")
		if err := Write(path, []Entry{e}, nil); err == nil || !strings.Contains(err.Error(), e.Name) {
			t.Errorf("%s: err = %v", e.Name, err)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("%s: failed write left a file", e.Name)
		}
	}
}
