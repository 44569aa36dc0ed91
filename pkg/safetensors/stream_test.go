package safetensors

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadRangeAndStream(t *testing.T) {
	dir := t.TempDir()
	vals := make([]float32, 1000)
	for i := range vals {
		vals[i] = float32(i) * 0.25
	}
	path := filepath.Join(dir, "a.safetensors")
	data := f32Bytes(vals...)
	if err := Write(path, []Entry{
		{Name: "w", DType: F32, Shape: []int{10, 100}, Data: data},
		{Name: "b", DType: BF16, Shape: []int{4}, Data: bf16Bytes(1, 2, 3, 4)},
	}, nil); err != nil {
		t.Fatal(err)
	}
	ck, err := OpenCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	for _, tc := range []struct {
		name  string
		first int
		n     int
		dtype DType
		want  []byte
		err   string
	}{
		{"raw middle", 150, 30, F32, f32Bytes(vals[150:180]...), ""},
		{"to bf16", 0, 5, BF16, bf16Bytes(vals[:5]...), ""},
		{"bf16 to f32", 1, 3, F32, f32Bytes(2, 3, 4), ""},
		{"past the end", 990, 20, F32, nil, "outside"},
		{"negative", -1, 2, F32, nil, "outside"},
		{"bad dtype", 0, 1, Int32, nil, "cannot convert"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "w"
			if strings.HasPrefix(tc.name, "bf16") {
				name = "b"
			}
			dst := make([]byte, tc.n*max(tc.dtype.Size(), 1))
			err := ck.ReadRangeInto(name, tc.first, dst, tc.dtype)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil || !bytes.Equal(dst, tc.want) {
				t.Fatalf("got %v (%v)", dst, err)
			}
		})
	}

	// CopyTo streams the raw bytes; a Stream entry writes them into a new file.
	var buf bytes.Buffer
	if err := ck.CopyTo("w", &buf); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("CopyTo: %d bytes (%v)", buf.Len(), err)
	}
	out := filepath.Join(dir, "b.safetensors")
	if err := Write(out, []Entry{{Name: "w", DType: F32, Shape: []int{10, 100}, Stream: func(w io.Writer) error { return ck.CopyTo("w", w) }}}, nil); err != nil {
		t.Fatal(err)
	}
	ck2, err := OpenCheckpoint(out)
	if err != nil {
		t.Fatal(err)
	}
	defer ck2.Close()
	if got, _ := ck2.Bytes("w"); !bytes.Equal(got, data) {
		t.Error("streamed tensor differs")
	}

	// A stream that writes the wrong size, or fails, fails the write.
	for _, stream := range []func(io.Writer) error{
		func(w io.Writer) error { _, err := w.Write([]byte{1, 2, 3}); return err },
		func(io.Writer) error { return errors.New("boom") },
	} {
		err := Write(filepath.Join(dir, "c.safetensors"), []Entry{{Name: "w", DType: F32, Shape: []int{10, 100}, Stream: stream}}, nil)
		if err == nil {
			t.Error("a bad stream was accepted")
		}
	}
	if err := Write(filepath.Join(dir, "d.safetensors"), []Entry{{Name: "w", DType: F32, Shape: []int{1}, Data: f32Bytes(1), Stream: func(io.Writer) error { return nil }}}, nil); err == nil {
		t.Error("Data and Stream together were accepted")
	}
}

func TestWriteShards(t *testing.T) {
	dir := t.TempDir()
	shards := []Shard{
		{Name: "b-1.safetensors", Entries: []Entry{{Name: "x", DType: F32, Shape: []int{2}, Data: f32Bytes(1, 2)}}, Metadata: map[string]string{"format": "pt", "k": "v"}},
		{Name: "a-2.safetensors", Entries: []Entry{{Name: "y", DType: F32, Shape: []int{1}, Data: f32Bytes(3)}, {Name: "z", DType: BF16, Shape: []int{1}, Data: bf16Bytes(4)}}},
	}
	if err := WriteShards(dir, shards, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	ck, err := OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	for name, shard := range map[string]string{"x": "b-1.safetensors", "y": "a-2.safetensors", "z": "a-2.safetensors"} {
		if f, ok := ck.FileOf(name); !ok || filepath.Base(f.Path()) != shard {
			t.Errorf("%s is not in %s", name, shard)
		}
	}
	if f, _ := ck.FileOf("x"); f.Metadata()["k"] != "v" {
		t.Errorf("shard metadata %v", f.Metadata())
	}
	for _, bad := range [][]Shard{
		{{Name: "../x.safetensors"}},
		{{Name: "model.safetensors"}},
		{{Name: "a.safetensors"}, {Name: "a.safetensors"}},
		{{Name: "a.safetensors", Entries: shards[0].Entries}, {Name: "b.safetensors", Entries: shards[0].Entries}},
	} {
		if err := WriteShards(t.TempDir(), bad, nil); err == nil {
			t.Errorf("%v was accepted", bad)
		}
	}
}
