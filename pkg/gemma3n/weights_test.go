package gemma3n

import (
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
)

type e2bManifest struct {
	TotalParams int64            `json:"total_params"`
	Tensors     map[string][]int `json:"tensors"`
}

func readManifest(t *testing.T) e2bManifest {
	t.Helper()
	var m e2bManifest
	testutil.ReadJSON(t, testutil.Fixture(t, "e2b", "e2b_text_manifest.json"), &m)
	return m
}

// TestE2BWeightsMatchManifest checks the expected tensors of the E2B
// config against the names and shapes transformers 5.17.0 instantiates.
func TestE2BWeightsMatchManifest(t *testing.T) {
	manifest := readManifest(t)
	want := maps.Clone(manifest.Tensors)
	delete(want, "lm_head.weight") // tied to embed_tokens
	got := map[string][]int{}
	for _, s := range E2BConfig().Weights() {
		got[textPrefix+s.Name] = s.Shape
	}
	for name, shape := range want {
		if g, ok := got[name]; !ok {
			t.Errorf("expected tensor %s %v is missing from Config.Weights", name, shape)
		} else if !slices.Equal(g, shape) {
			t.Errorf("%s: shape %v, manifest %v", name, g, shape)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("Config.Weights has %s, not in the manifest", name)
		}
	}
	if n := E2BConfig().NumParameters(); n != manifest.TotalParams {
		t.Errorf("E2B parameters %d, manifest %d", n, manifest.TotalParams)
	}
}

// fakeSource is a header-only weight source: Tensor fails the test for
// names it must never read.
type fakeSource struct {
	t      *testing.T
	shapes map[string][]int
	order  []string
	read   map[string]bool
	// forbidden reports names whose data must not be read.
	forbidden func(name string) bool
}

func newFakeSource(t *testing.T, forbidden func(string) bool) *fakeSource {
	return &fakeSource{t: t, shapes: map[string][]int{}, read: map[string]bool{}, forbidden: forbidden}
}

func (f *fakeSource) add(name string, shape ...int) {
	if _, ok := f.shapes[name]; !ok {
		f.order = append(f.order, name)
	}
	f.shapes[name] = shape
}

func (f *fakeSource) Names() []string { return slices.Clone(f.order) }

func (f *fakeSource) Info(name string) (safetensors.TensorInfo, bool) {
	s, ok := f.shapes[name]
	return safetensors.TensorInfo{Name: name, DType: "F32", Shape: s}, ok
}

func (f *fakeSource) ReadInto(name string, dst []byte, _ safetensors.DType) error {
	if f.forbidden != nil && f.forbidden(name) {
		f.t.Errorf("tensor %s was read", name)
	}
	f.read[name] = true
	clear(dst)
	return nil
}

// TestMultimodalNamesMapToText maps every tensor name of the official
// multimodal checkpoint: the text tensors resolve to exactly the expected
// set, everything else (vision, audio, their embedders, unused shared K/V,
// the tied lm_head) is skipped without being read.
func TestMultimodalNamesMapToText(t *testing.T) {
	var names []string
	testutil.ReadJSON(t, testutil.Fixture(t, "e2b", "e2b_multimodal_names.json"), &names)
	cfg := E2BConfig()
	expected := map[string][]int{}
	for _, s := range cfg.Weights() {
		expected[s.Name] = s.Shape
	}
	unused := cfg.unusedWeights()
	src := newFakeSource(t, func(name string) bool { return !strings.HasPrefix(name, multimodalPrefix) })
	nonText := 0
	for _, n := range names {
		text, ok := TextTensorName(n)
		switch {
		case !ok:
			nonText++
			if strings.HasPrefix(n, multimodalPrefix) {
				t.Errorf("text tensor %s was not mapped", n)
			}
			src.add(n, 7) // any shape: never looked at
		case expected[text] != nil:
			src.add(n, expected[text]...)
		case unused[text] != nil:
			src.add(n, unused[text]...)
		default:
			t.Errorf("%s maps to %q, which the E2B text model does not have", n, text)
		}
	}
	// The official file also carries the unused K/V tensors of shared layers.
	for name, shape := range unused {
		if name != "lm_head.weight" {
			src.add(multimodalPrefix+name, shape...)
		}
	}
	if nonText == 0 {
		t.Fatal("no non-text tensors in the name list")
	}
	found, err := resolveCheckpoint(cfg, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != len(expected) {
		t.Errorf("resolved %d tensors, want %d", len(found), len(expected))
	}
	for name := range expected {
		if found[name] != multimodalPrefix+name {
			t.Errorf("%s resolved to %q", name, found[name])
		}
	}
}

// tinySource is a header-only copy of the fixture checkpoint's layout.
func tinySource(t *testing.T, prefix string) (*Config, *fakeSource) {
	cfg, err := LoadConfig(tinyDir)
	if err != nil {
		t.Fatal(err)
	}
	src := newFakeSource(t, nil)
	for _, s := range cfg.Weights() {
		src.add(prefix+s.Name, s.Shape...)
	}
	return cfg, src
}

func TestResolveCheckpointErrors(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(src *fakeSource)
		wantErr string
	}{
		{"missing", func(s *fakeSource) {
			delete(s.shapes, "model.layers.2.mlp.up_proj.weight")
			s.order = slices.DeleteFunc(s.order, func(n string) bool { return n == "model.layers.2.mlp.up_proj.weight" })
		}, "layers.2.mlp.up_proj.weight"},
		{"wrong shape", func(s *fakeSource) { s.add("model.layers.1.self_attn.q_norm.weight", 17) }, "model.layers.1.self_attn.q_norm.weight"},
		{"unknown text tensor", func(s *fakeSource) { s.add("model.layers.6.input_layernorm.weight", 64) }, "model.layers.6.input_layernorm.weight"},
		{"twice", func(s *fakeSource) { s.add("model.language_model.norm.weight", 64) }, "norm.weight"},
		{"bad unused shape", func(s *fakeSource) { s.add("model.layers.4.self_attn.k_proj.weight", 3, 3) }, "k_proj"},
		{"bad lm_head", func(s *fakeSource) { s.add("lm_head.weight", 10, 64) }, "lm_head"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, src := tinySource(t, textPrefix)
			c.edit(src)
			_, err := resolveCheckpoint(cfg, src)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error %q does not name %q", err, c.wantErr)
			}
		})
	}
}

func TestLoadIgnoresUnusedTensors(t *testing.T) {
	for _, prefix := range []string{textPrefix, multimodalPrefix} {
		cfg, src := tinySource(t, prefix)
		unused := cfg.unusedWeights()
		for name, shape := range unused {
			if name == "lm_head.weight" {
				src.add(name, shape...)
			} else {
				src.add(prefix+name, shape...)
			}
		}
		src.add("model.vision_tower.timm_model.conv_stem.weight", 3)
		src.add("model.audio_tower.conformer.0.attention.attn.q_proj.weight", 3)
		src.forbidden = func(n string) bool {
			text, ok := TextTensorName(n)
			return !ok || unused[text] != nil
		}
		m, err := loadWeights(cfg, src, dtypes.Float32, WeightOptions{})
		if err != nil {
			t.Fatalf("prefix %q: %v", prefix, err)
		}
		if len(src.read) != len(cfg.Weights()) {
			t.Errorf("prefix %q: read %d tensors, want %d", prefix, len(src.read), len(cfg.Weights()))
		}
		for _, s := range cfg.Weights() {
			v := m.WeightVariable(s.Name)
			if v == nil {
				t.Fatalf("no variable for %s", s.Name)
			}
			if v.Trainable {
				t.Errorf("%s is trainable; base weights must be frozen", s.Name)
			}
		}
		if m.WeightVariable("layers.4.self_attn.k_proj.weight") != nil {
			t.Error("the unused k_proj of a shared layer became a variable")
		}
	}
}

func TestLoadClipsAltUpCoefficients(t *testing.T) {
	cfg, src := tinySource(t, textPrefix)
	cfg.AltUpCoefClip = 0.01
	src2 := &clippingSource{fakeSource: src}
	m, err := loadWeights(cfg, src2, dtypes.Float32, WeightOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"layers.0.altup.prediction_coefs.weight", "layers.3.altup.correction_coefs.weight"} {
		for _, v := range tensors.MustCopyFlatData[float32](m.WeightVariable(name).MustValue()) {
			if v > 0.01 || v < -0.01 {
				t.Fatalf("%s holds %v after clipping to ±0.01", name, v)
			}
		}
	}
	if v := tensors.MustCopyFlatData[float32](m.WeightVariable("layers.0.laurel.linear_left.weight").MustValue())[0]; v != 5 {
		t.Errorf("non-coefficient weight changed to %v", v)
	}
}

// clippingSource returns tensors filled with ±5.
type clippingSource struct{ *fakeSource }

func (c *clippingSource) ReadInto(name string, dst []byte, dstType safetensors.DType) error {
	if err := c.fakeSource.ReadInto(name, dst, dstType); err != nil {
		return err
	}
	flat := float32s(dst)
	for i := range flat {
		flat[i] = 5
		if i%2 == 1 {
			flat[i] = -5
		}
	}
	return nil
}

func TestTextTensorName(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"model.language_model.layers.0.mlp.up_proj.weight", "layers.0.mlp.up_proj.weight", true},
		{"model.layers.0.mlp.up_proj.weight", "layers.0.mlp.up_proj.weight", true},
		{"lm_head.weight", "lm_head.weight", true},
		{"model.vision_tower.timm_model.blocks.0.weight", "", false},
		{"model.audio_tower.conformer.0.attention.attn.q_proj.weight", "", false},
		{"model.embed_vision.embedding.weight", "", false},
		{"model.embed_audio.embedding_projection.weight", "", false},
		{"other.weight", "", false},
	}
	for _, c := range cases {
		got, ok := TextTensorName(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("TextTensorName(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestVariablePath(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"layers.3.self_attn.q_proj.weight", "/layers/3/self_attn/q_proj/weight"},
		{"layers.0.altup.correct_output_scale", "/layers/0/altup/correct_output_scale"},
		{"norm.weight", "/norm/weight"},
	} {
		if got := VariablePath(c.in); got != c.want {
			t.Errorf("VariablePath(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestNewRandomIsDeterministic(t *testing.T) {
	cfg, _ := LoadConfig(tinyDir)
	a, err := NewRandom(cfg, dtypes.Float32, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewRandom(cfg, dtypes.Float32, 3)
	c, _ := NewRandom(cfg, dtypes.Float32, 4)
	name := "layers.2.mlp.gate_proj.weight"
	va := tensors.MustCopyFlatData[float32](a.WeightVariable(name).MustValue())
	vb := tensors.MustCopyFlatData[float32](b.WeightVariable(name).MustValue())
	vc := tensors.MustCopyFlatData[float32](c.WeightVariable(name).MustValue())
	if !slices.Equal(va, vb) {
		t.Error("same seed, different weights")
	}
	if slices.Equal(va, vc) {
		t.Error("different seeds, same weights")
	}
	if _, err := NewRandom(cfg, dtypes.Float16, 0); err == nil {
		t.Error("float16 weights: no error")
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load("testdata/does-not-exist", dtypes.Float32); err == nil {
		t.Error("missing directory: no error")
	}
	dir := t.TempDir()
	data, _ := os.ReadFile(tinyDir + "/config.json")
	_ = os.WriteFile(dir+"/config.json", data, 0o644)
	if _, err := Load(dir, dtypes.Float32); err == nil {
		t.Error("directory without weights: no error")
	}
	if _, err := Open("", dtypes.Float32); err == nil {
		t.Error("empty model name: no error")
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	cfg, err := LoadConfig(tinyDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, dtype := range []dtypes.DType{dtypes.Float32, dtypes.BFloat16} {
		m, err := NewRandom(cfg, dtype, 11)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir() + "/model"
		if err := m.Save(dir); err != nil {
			t.Fatal(err)
		}
		back, err := Load(dir, dtype)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(back.Config.Weights()[0].Shape, cfg.Weights()[0].Shape) || back.Config.NumHiddenLayers != cfg.NumHiddenLayers {
			t.Errorf("%s: config changed: %+v", dtype, back.Config)
		}
		for _, s := range cfg.Weights() {
			a, b := m.WeightVariable(s.Name).MustValue(), back.WeightVariable(s.Name).MustValue()
			if !a.Equal(b) {
				t.Fatalf("%s: weight %s changed in the round trip", dtype, s.Name)
			}
		}
		info, _ := os.ReadDir(dir)
		if len(info) != 2 {
			t.Errorf("%s: %d files in the saved directory, want config.json and model.safetensors", dtype, len(info))
		}
	}
}

// TestWeightModules checks WeightSpec.Module: set on the linear layers
// (the weights Model.Linear receives), empty on embeddings, norms and scales.
func TestWeightModules(t *testing.T) {
	linear := 0
	for _, s := range E2BConfig().Weights() {
		switch {
		case s.Module != "":
			linear++
			if s.Name != s.Module+".weight" || len(s.Shape) != 2 {
				t.Errorf("%s: module %q, shape %v", s.Name, s.Module, s.Shape)
			}
		case strings.HasPrefix(s.Name, "embed_tokens"):
		case len(s.Shape) != 1:
			t.Errorf("%s %v has no module but is not a vector", s.Name, s.Shape)
		}
	}
	// Per layer q, o, gate, up, down, 3 AltUp, 2 LAuReL, 2 per-layer input;
	// k and v on the 20 owner layers; the per-layer projection and 2×3 AltUp
	// stream projections.
	if want := 30*12 + 20*2 + 1 + 6; linear != want {
		t.Errorf("%d linear layers, want %d", linear, want)
	}
}
