package export

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

// writeSmallGGUF writes a GGUF file with every kind of metadata value and
// three tensors; it returns the path and the tensors' values.
func writeSmallGGUF(t *testing.T) (string, map[string][]float32) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "small.gguf")
	kvs := []KV{
		{"general.architecture", "gemma3n"}, {"u8", uint8(7)}, {"i8", int8(-7)}, {"u16", uint16(700)}, {"i16", int16(-700)},
		{"u32", uint32(70000)}, {"i32", int32(-70000)}, {"f32", float32(1.5)}, {"b", true}, {"u64", uint64(1 << 40)},
		{"i64", int64(-1 << 40)}, {"f64", 2.25}, {"strs", []string{"a", "", "▁b"}}, {"f32s", []float32{1, float32(math.Inf(-1))}},
		{"i32s", []int32{1, -2}}, {"u32s", []uint32{3}}, {"bools", []bool{true, false}},
	}
	vals := map[string][]float32{}
	mk := func(name string, dims []int64, typ GGMLType) *ggufTensor {
		n := int64(1)
		for _, d := range dims {
			n *= d
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(i%17) - 8.5
		}
		vals[name] = v
		return &ggufTensor{name: name, dims: dims, typ: typ, write: func(w io.Writer) error {
			_, err := w.Write(encodeRow(nil, typ, v))
			return err
		}}
	}
	tensors := []*ggufTensor{mk("a.weight", []int64{5}, GGMLF32), mk("b.weight", []int64{64, 3}, GGMLQ8_0), mk("c.weight", []int64{4, 2, 3}, GGMLF16)}
	var progressed int64
	if err := writeGGUF(path, kvs, tensors, func(n int64) { progressed += n }); err != nil {
		t.Fatal(err)
	}
	if progressed != 20+3*2*34+48 {
		t.Errorf("progress reported %d bytes", progressed)
	}
	return path, vals
}

func TestGGUFRoundTrip(t *testing.T) {
	path, vals := writeSmallGGUF(t)
	g, err := ReadGGUF(path)
	if err != nil {
		t.Fatal(err)
	}
	if g.Version != 3 || len(g.KV) != 17 || len(g.Tensors) != 3 || g.DataOffset%32 != 0 {
		t.Fatalf("header %+v", g)
	}
	for key, want := range map[string]any{
		"u8": uint8(7), "i8": int8(-7), "u16": uint16(700), "i16": int16(-700), "u32": uint32(70000), "i32": int32(-70000),
		"f32": float32(1.5), "b": true, "u64": uint64(1 << 40), "i64": int64(-1 << 40), "f64": 2.25,
		"strs": []string{"a", "", "▁b"}, "i32s": []int32{1, -2}, "u32s": []uint32{3}, "bools": []bool{true, false},
	} {
		if got, ok := g.Get(key); !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", key, got, want)
		}
	}
	if got, _ := g.Get("f32s"); !math.IsInf(float64(got.([]float32)[1]), -1) {
		t.Errorf("f32s = %v", got)
	}
	for name, want := range vals {
		got, err := g.ReadFloat32(path, name)
		if err != nil {
			t.Fatal(err)
		}
		tol := 0.0
		if name == "b.weight" {
			tol = 8.5 / 127 / 2 * 1.01
		}
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > tol {
				t.Fatalf("%s[%d] = %g, want %g", name, i, got[i], want[i])
			}
		}
	}
	if tt, _ := g.Tensor("c.weight"); !slices.Equal(tt.Dims, []int64{4, 2, 3}) || tt.Type != GGMLF16 || tt.Offset%32 != 0 {
		t.Errorf("c.weight %+v", tt)
	}
}

func TestGGUFWriterRejects(t *testing.T) {
	dir := t.TempDir()
	zero := func(io.Writer) error { return nil }
	for _, tc := range []struct {
		name    string
		kvs     []KV
		tensors []*ggufTensor
		want    string
	}{
		{"duplicate key", []KV{{"a", uint32(1)}, {"a", uint32(2)}}, nil, "twice"},
		{"bad value", []KV{{"a", struct{}{}}}, nil, "unsupported"},
		{"duplicate tensor", nil, []*ggufTensor{{name: "x", dims: []int64{1}, typ: GGMLF32, write: zero}, {name: "x", dims: []int64{1}, typ: GGMLF32, write: zero}}, "twice"},
		{"q8_0 row of 20", nil, []*ggufTensor{{name: "x", dims: []int64{20}, typ: GGMLQ8_0, write: zero}}, "do not fit"},
		{"short data", nil, []*ggufTensor{{name: "x", dims: []int64{4}, typ: GGMLF32, write: zero}}, "wrote 0 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "x.gguf")
			err := writeGGUF(path, tc.kvs, tc.tensors, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
			if _, statErr := os.Stat(path); statErr == nil {
				t.Error("a failed write left a file")
			}
		})
	}
}

func TestGGUFReaderRejects(t *testing.T) {
	path, _ := writeSmallGGUF(t)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(b []byte) []byte) []byte { return f(slices.Clone(good)) }
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "ends"},
		{"magic", edit(func(b []byte) []byte { b[0] = 'X'; return b }), "not a GGUF"},
		{"version", edit(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[4:], 9); return b }), "version 9"},
		{"tensor count", edit(func(b []byte) []byte { binary.LittleEndian.PutUint64(b[8:], 1<<40); return b }), "implausible"},
		{"key count", edit(func(b []byte) []byte { binary.LittleEndian.PutUint64(b[16:], 1000); return b }), "implausible"},
		{"truncated header", good[:100], "implausible"},
		{"truncated metadata", good[:400], "implausible"},
		{"truncated tensor infos", good[:g0(good)], "ends"},
		{"truncated data", good[:len(good)-40], "past the end"},
		{"string length", edit(func(b []byte) []byte { binary.LittleEndian.PutUint64(b[24:], 1<<50); return b }), "past the end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseGGUF(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func FuzzParseGGUF(f *testing.F) {
	path, _ := writeSmallGGUF(&testing.T{})
	if good, err := os.ReadFile(path); err == nil {
		f.Add(good)
		f.Add(good[:200])
	}
	f.Add([]byte("GGUF\x03\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := ParseGGUF(data)
		if err != nil {
			return
		}
		for _, tt := range g.Tensors {
			if tt.Offset < 0 || g.DataOffset+tt.Offset > int64(len(data)) || len(tt.Dims) == 0 {
				t.Fatalf("accepted tensor %+v of a %d-byte file", tt, len(data))
			}
		}
	})
}

// TestGGUFLayout exports the official-layout fixture with its adapter and
// checks the file against the checkpoint: names, reversed shapes, types,
// the stacked AltUp projections, the K/V of KV-shared layers, no towers,
// the metadata; and that exporting base + adapter gives the same tensors
// as exporting the merged directory.
func TestGGUFLayout(t *testing.T) {
	base := multimodalBase(t)
	cfg, err := gemma3n.LoadConfig(base)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	withAdapter := filepath.Join(dir, "adapter.gguf")
	res, err := ExportGGUF(t.Context(), GGUFOptions{Model: base, Adapter: fixtureAdapter, Out: withAdapter, Type: "f32", Ollama: true, Name: "fixture", Logger: testutil.QuietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) == 0 || !strings.Contains(strings.Join(res.Warnings, "\n"), "layer 20") {
		t.Errorf("the 6-layer fixture should get llama.cpp warnings, got %v", res.Warnings)
	}
	g, err := ReadGGUF(withAdapter)
	if err != nil {
		t.Fatal(err)
	}
	// Tensors: every text tensor of the config, the K/V of the shared
	// layers, the two stacks; nothing of the towers.
	want := map[string][]int64{}
	for _, s := range cfg.Weights() {
		if _, _, ok := stackedPart(s.Name); ok {
			continue
		}
		name, ok := ggufName(s.Name)
		if !ok {
			t.Fatalf("no GGUF name for %s", s.Name)
		}
		dims := make([]int64, len(s.Shape))
		for i, d := range s.Shape {
			dims[len(dims)-1-i] = int64(d)
		}
		want[name] = dims
	}
	for _, l := range []int{4, 5} {
		p := "blk." + string(rune('0'+l)) + "."
		want[p+"attn_k.weight"], want[p+"attn_v.weight"], want[p+"attn_k_norm.weight"] = []int64{64, 32}, []int64{64, 32}, []int64{16}
	}
	want["altup_proj.weight"], want["altup_unembd_proj.weight"] = []int64{64, 64, 3}, []int64{64, 64, 3}
	if len(g.Tensors) != len(want) || res.Tensors != len(want) {
		t.Errorf("%d tensors, want %d", len(g.Tensors), len(want))
	}
	for _, tt := range g.Tensors {
		if dims, ok := want[tt.Name]; !ok || !slices.Equal(dims, tt.Dims) || tt.Type != GGMLF32 {
			t.Errorf("%s %v %s, want %v F32", tt.Name, tt.Dims, tt.Type, dims)
		}
	}
	// The stack is the three projections in order; the shared layers' K/V
	// are the checkpoint's bytes.
	ck, err := safetensors.OpenCheckpoint(base)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	readCk := func(name string) []float32 {
		info, _ := ck.Info(name)
		raw := make([]byte, 4*info.NumElements())
		if err := ck.ReadRangeInto(name, 0, raw, safetensors.F32); err != nil {
			t.Fatal(err)
		}
		v := make([]float32, info.NumElements())
		decodeFloat32s(v, raw)
		return v
	}
	stack, err := g.ReadFloat32(withAdapter, "altup_unembd_proj.weight")
	if err != nil {
		t.Fatal(err)
	}
	var wantStack []float32
	for k := range 3 {
		wantStack = append(wantStack, readCk("model.language_model.altup_unembed_projections."+string(rune('0'+k))+".weight")...)
	}
	if !slices.Equal(stack, wantStack) {
		t.Error("altup_unembd_proj is not the three projections stacked in order")
	}
	if got, _ := g.ReadFloat32(withAdapter, "blk.5.attn_v.weight"); !slices.Equal(got, readCk("model.language_model.layers.5.self_attn.v_proj.weight")) {
		t.Error("the KV-shared layer's V is not the checkpoint's")
	}
	for key, want := range map[string]any{
		"general.architecture": "gemma3n", "general.name": "fixture", "general.file_type": uint32(0),
		"gemma3n.block_count": uint32(6), "gemma3n.embedding_length": uint32(64), "gemma3n.attention.shared_kv_layers": uint32(2),
		"gemma3n.embedding_length_per_layer_input": uint32(16), "gemma3n.altup.num_inputs": uint32(4),
		"gemma3n.attention.sliding_window": uint32(8), "gemma3n.feed_forward_length": []int32{128, 128, 128, 128, 128, 128},
		"gemma3n.attention.sliding_window_pattern": []bool{true, true, false, true, true, false},
		"tokenizer.ggml.model":                     "llama", "tokenizer.ggml.bos_token_id": uint32(2), "tokenizer.ggml.add_bos_token": true,
		"gemma3n.rope.freq_base": float32(1e6), "gemma3n.rope.freq_base_swa": float32(1e4), "gemma3n.final_logit_softcapping": float32(30),
	} {
		if got, ok := g.Get(key); !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", key, got, want)
		}
	}
	if s, _ := g.Get("gemma3n.activation_sparsity_scale"); math.Abs(float64(s.([]float32)[0])-1.6448536) > 1e-6 || !math.IsInf(float64(s.([]float32)[5]), -1) {
		t.Errorf("activation_sparsity_scale %v", s)
	}
	if toks, _ := g.Get("tokenizer.ggml.tokens"); len(toks.([]string)) != cfg.VocabSize {
		t.Errorf("%d tokens, want %d", len(toks.([]string)), cfg.VocabSize)
	}
	if _, err := os.Stat(res.Modelfile); err != nil {
		t.Errorf("Modelfile: %v", err)
	}

	// Base + adapter gives the merged directory's export, tensor for tensor.
	merged := filepath.Join(dir, "merged")
	if _, err := Merge(t.Context(), MergeOptions{Model: base, Adapter: fixtureAdapter, Out: merged, Logger: testutil.QuietLogger()}); err != nil {
		t.Fatal(err)
	}
	fromMerged := filepath.Join(dir, "merged.gguf")
	if _, err := ExportGGUF(t.Context(), GGUFOptions{Model: merged, Out: fromMerged, Type: "f32", Name: "fixture", Logger: testutil.QuietLogger()}); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(withAdapter)
	b, _ := os.ReadFile(fromMerged)
	if !bytes.Equal(a, b) {
		t.Error("exporting base + adapter differs from exporting the merged model")
	}
	// And the adapter changed the adapted projections.
	plain := filepath.Join(dir, "plain.gguf")
	if _, err := ExportGGUF(t.Context(), GGUFOptions{Model: base, Out: plain, Type: "f32", Name: "fixture", Logger: testutil.QuietLogger()}); err != nil {
		t.Fatal(err)
	}
	gp, _ := ReadGGUF(plain)
	q1, _ := gp.ReadFloat32(plain, "blk.0.attn_q.weight")
	q2, _ := g.ReadFloat32(withAdapter, "blk.0.attn_q.weight")
	if slices.Equal(q1, q2) {
		t.Error("the adapter did not change blk.0.attn_q.weight")
	}
}

func TestGGUFExportRejects(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.gguf")
	for _, tc := range []struct {
		name string
		opts GGUFOptions
		want string
	}{
		{"no model", GGUFOptions{Out: out}, "required"},
		{"bad type", GGUFOptions{Model: fixtureModel, Out: out, Type: "q3_k"}, "want one of"},
		{"missing dir", GGUFOptions{Model: filepath.Join(t.TempDir(), "none"), Out: out}, "none"},
		{"adapter of another model", GGUFOptions{Model: "tiny", Adapter: fixtureAdapter, Out: out}, "lora"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ExportGGUF(t.Context(), GGUFOptions{Model: tc.opts.Model, Adapter: tc.opts.Adapter, Out: tc.opts.Out, Type: tc.opts.Type, Logger: testutil.QuietLogger()})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a failed export left its file")
			}
		})
	}
}

func TestVocab(t *testing.T) {
	tok, err := tokenizer.Tiny()
	if err != nil {
		t.Fatal(err)
	}
	v, err := buildVocab(tok, tok.VocabSize()+3)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		text string
		typ  int32
	}{
		{"<bos>", tokControl}, {"<start_of_turn>", tokControl}, {"<unk>", tokUnknown}, {"<0x0A>", tokByte},
		{"\n\n", tokUserDefined}, {"▁the", tokNormal},
	} {
		id, _ := tok.TokenToID(tc.text)
		if v.tokens[id] != tc.text || v.types[id] != tc.typ {
			t.Errorf("%q: %q type %d, want type %d", tc.text, v.tokens[id], v.types[id], tc.typ)
		}
	}
	the, _ := tok.TokenToID("▁the")
	if v.scores[the] >= 0 {
		t.Errorf("▁the scores %g: merged tokens score minus their first merge's rank", v.scores[the])
	}
	last := tok.VocabSize() + 2
	if v.tokens[last] != "[PAD"+strconv.Itoa(last)+"]" || v.types[last] != tokUnused {
		t.Errorf("padding id %d: %q type %d", last, v.tokens[last], v.types[last])
	}
	if _, err := buildVocab(tok, 100); err == nil {
		t.Error("a vocabulary larger than the model's was accepted")
	}
}

// g0 is an offset inside the tensor infos of a file from writeSmallGGUF:
// 20 bytes before the data section starts.
func g0(file []byte) int {
	g, err := ParseGGUF(file)
	if err != nil {
		return len(file)
	}
	return int(g.DataOffset) - 40
}
