package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rawFile assembles a file from a header string and dataLen bytes of data;
// a negative headerLen overrides the length field's value with -headerLen.
func rawFile(header string, dataLen int) []byte {
	b := make([]byte, 8, 8+len(header)+dataLen)
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, make([]byte, dataLen)...)
}

func withLength(n uint64, rest string) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, n)
	return append(b, rest...)
}

func TestCorruptHeaders(t *testing.T) {
	const ok = `"dtype":"F32","shape":[2],"data_offsets":[0,8]`
	cases := []struct {
		name   string
		file   []byte
		tensor string // the error must name this tensor
		want   string // and contain this
	}{
		{"empty file", nil, "", "too short"},
		{"seven bytes", []byte{1, 2, 3, 4, 5, 6, 7}, "", "too short"},
		{"huge header length", withLength(1<<63, "{}"), "", "exceeds the 100000000-byte limit"},
		{"header beyond file", withLength(1000, "{}      "), "", "truncated file?"},
		{"header length one", withLength(1, "{"), "", "too small"},
		{"not JSON", rawFile(`{abc    `, 0), "", "not valid JSON"},
		{"JSON array", rawFile(`[1,2]   `, 0), "", "does not start with '{'"},
		{"invalid UTF-8", rawFile("{\"\xff\":1}", 0), "", "UTF-8"},
		{"trailing garbage", rawFile(`{} x    `, 0), "", "after the header"},
		{"unterminated", rawFile(`{"a":{`+ok+`}`, 8), "", "not valid JSON"},
		{"missing dtype", rawFile(`{"a":{"shape":[2],"data_offsets":[0,8]}}`, 8), "a", `no "dtype"`},
		{"missing shape", rawFile(`{"a":{"dtype":"F32","data_offsets":[0,8]}}`, 8), "a", `no "shape"`},
		{"null shape", rawFile(`{"a":{"dtype":"F32","shape":null,"data_offsets":[0,8]}}`, 8), "a", `no "shape"`},
		{"missing offsets", rawFile(`{"a":{"dtype":"F32","shape":[2]}}`, 8), "a", `no "data_offsets"`},
		{"entry not object", rawFile(`{"a":5}`, 0), "a", "not a JSON object"},
		{"bad dtype", rawFile(`{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}`, 8), "a", `unknown dtype "F33"`},
		{"dtype not string", rawFile(`{"a":{"dtype":4,"shape":[2],"data_offsets":[0,8]}}`, 8), "a", "dtype is not a string"},
		{"negative dim", rawFile(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, 8), "a", "-2 is not an integer"},
		{"fractional dim", rawFile(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}}`, 8), "a", "1.5 is not an integer"},
		{"shape not array", rawFile(`{"a":{"dtype":"F32","shape":"2","data_offsets":[0,8]}}`, 8), "a", "shape: not an array"},
		{"three offsets", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}}`, 8), "a", "3 values"},
		{"huge offset", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]}}`, 8), "a", "not an integer"},
		{"reversed offsets", rawFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}`, 8), "a", "end before they begin"},
		{"offsets out of range", rawFile(`{"a":{`+ok+`}}`, 4), "a", "beyond the 4-byte data section"},
		{"wrong size", rawFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, 8), "a", "needs 12"},
		{"overflowing shape", rawFile(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, 8), "a", "overflows"},
		{"overflowing bytes", rawFile(`{"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,8]}}`, 8), "a", "overflows"},
		{"overlap", rawFile(`{"a":{`+ok+`},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, 12), "b", `overlap tensor "a"`},
		{"gap", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, 12), "b", "unused"},
		{"extra data", rawFile(`{"a":{`+ok+`}}`, 16), "", "extra data"},
		{"duplicate tensor", rawFile(`{"a":{`+ok+`},"a":{`+ok+`}}`, 8), "a", "appears twice"},
		{"duplicate metadata", rawFile(`{"__metadata__":{},"__metadata__":{}}`, 0), "", "appears twice"},
		{"metadata not strings", rawFile(`{"__metadata__":{"epoch":1}}`, 0), "", "must map strings to strings"},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".safetensors")
			if err := os.WriteFile(path, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := Open(path)
			if err == nil {
				f.Close()
				t.Fatalf("Open succeeded, want an error containing %q", tc.want)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FormatError", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not name the file and contain %q", msg, tc.want)
			}
			if tc.tensor != "" && fe.Tensor != tc.tensor {
				t.Errorf("error names tensor %q, want %q (%s)", fe.Tensor, tc.tensor, msg)
			}
		})
	}
}

func TestValidHeaders(t *testing.T) {
	cases := []struct {
		name   string
		file   []byte
		tensor int
	}{
		{"no padding", rawFile(`{}`, 0), 0},
		{"unknown fields ignored", rawFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"extra":true}}`, 2), 1},
		{"zero-size tensors anywhere", rawFile(`{"z":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"y":{"dtype":"I64","shape":[5,0],"data_offsets":[2,2]}}`, 2), 3},
		{"null metadata", rawFile(`{"__metadata__":null}`, 0), 0},
		{"any offset order", rawFile(`{"b":{"dtype":"U8","shape":[],"data_offsets":[1,2]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, 2), 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, err := readHeader(bytes.NewReader(tc.file), int64(len(tc.file)))
			if err != nil {
				t.Fatal(err)
			}
			if len(h.names) != tc.tensor {
				t.Errorf("%d tensors, want %d", len(h.names), tc.tensor)
			}
		})
	}
}

// FuzzHeader checks that no input makes the parser panic, and that whatever
// it accepts is self-consistent and survives a write and re-read.
func FuzzHeader(f *testing.F) {
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 8))
	f.Add(rawFile(`{"__metadata__":{"format":"pt"},"b":{"dtype":"BF16","shape":[1,2],"data_offsets":[0,4]},"c":{"dtype":"I64","shape":[],"data_offsets":[4,12]}}`, 12))
	f.Add(rawFile(`{"z":{"dtype":"BOOL","shape":[0],"data_offsets":[0,0]}}`, 0))
	f.Add(withLength(1<<40, "{}"))
	f.Add(rawFile(`{"__metadata__":{"format":"pt"},"x":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"y":{"dtype":"U64","shape":[1],"data_offsets":[4,12]},"z":{"dtype":"I8","shape":[3,1],"data_offsets":[12,15]}}`, 15))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := readHeader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		var entries []Entry
		covered := int64(0)
		for _, name := range h.names {
			info := h.tensors[name]
			if info.Begin < h.dataStart || info.End > int64(len(data)) || info.End-info.Begin != int64(info.NumElements()*info.DType.Size()) {
				t.Fatalf("accepted inconsistent tensor %+v (data section [%d, %d))", info, h.dataStart, len(data))
			}
			covered += info.End - info.Begin
			src := data[info.Begin:info.End]
			if convertible(info.DType, F32) {
				dst := make([]byte, 4*info.NumElements())
				_ = convert(dst, F32, src, info.DType)
			}
			entries = append(entries, Entry{Name: name, DType: info.DType, Shape: info.Shape, Data: src})
		}
		if covered != int64(len(data))-h.dataStart {
			t.Fatalf("tensors cover %d bytes of a %d-byte data section", covered, int64(len(data))-h.dataStart)
		}
		if _, err := checkEntries(entries); err != nil {
			if strings.Contains(err.Error(), "empty name") || strings.Contains(err.Error(), "not valid UTF-8") {
				return // readable but not writable names
			}
			t.Fatalf("accepted header whose entries cannot be written back: %v", err)
		}
		sorted := sortForWriting(entries)
		hdr, err := encodeHeader(sorted, h.metadata)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(hdr)))
		buf.Write(n[:])
		buf.Write(hdr)
		for _, e := range sorted {
			buf.Write(e.Data)
		}
		h2, err := readHeader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatalf("re-reading a rewritten header: %v", err)
		}
		if len(h2.names) != len(h.names) || len(h2.metadata) != len(h.metadata) {
			t.Fatalf("rewritten header has %d tensors and %d metadata keys, want %d and %d", len(h2.names), len(h2.metadata), len(h.names), len(h.metadata))
		}
	})
}
