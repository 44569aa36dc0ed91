package gemma3n

import (
	"errors"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/gomlx/core/tensors"
)

// TestMiniPreset: the embedded default is a preset with every Gemma 3n
// component, on the tiny tokenizer's vocabulary, and Open either loads its
// embedded weights (checked against the embedded config and card) or says
// how to build them.
func TestMiniPreset(t *testing.T) {
	cfg, err := Preset(MiniName)
	if err != nil {
		t.Fatal(err)
	}
	if !IsPretrainedPreset("MINI") || IsPretrainedPreset("tiny") || !IsPreset(MiniName) {
		t.Error("mini must be a pretrained preset, tiny not")
	}
	full, sliding, sparse := 0, 0, 0
	for i, lt := range cfg.LayerTypes {
		switch lt {
		case FullAttention:
			full++
		case SlidingAttention:
			sliding++
		}
		if cfg.ActivationSparsity[i] > 0 {
			sparse++
		}
	}
	switch {
	case cfg.VocabSize != TinyVocabSize || cfg.VocabSizePerLayerInput != TinyVocabSize:
		t.Errorf("vocabulary %d/%d, want the tiny tokenizer's %d", cfg.VocabSize, cfg.VocabSizePerLayerInput, TinyVocabSize)
	case full == 0 || sliding == 0 || sparse == 0 || cfg.NumKVSharedLayers == 0 || cfg.AltUpNumInputs < 2 ||
		cfg.LaurelRank == 0 || cfg.HiddenSizePerLayerInput == 0:
		t.Errorf("mini lacks a Gemma 3n component: %+v", cfg)
	case cfg.NumParameters() < 1_000_000 || cfg.NumParameters() > 10_000_000:
		t.Errorf("mini has %d parameters, want a few million", cfg.NumParameters())
	}

	m, err := Open(MiniName, dtypes.Float32)
	if errors.Is(err, ErrNoPretrainedWeights) {
		if !strings.Contains(err.Error(), "make pretrain") {
			t.Errorf("the error does not say how to build the weights: %v", err)
		}
		t.Skip("this build has no mini weights (make pretrain)")
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := SameArchitecture(cfg, m.Config); err != nil {
		t.Error(err)
	}
	for _, name := range []string{"README.md", "card.json", ConfigFileName} {
		if b, err := PretrainedFile(MiniName, name); err != nil || len(b) == 0 {
			t.Errorf("embedded %s: %v", name, err)
		}
	}
	// The bfloat16 weights load into float32 exactly: every value has a
	// bfloat16 representation, and they are not the random initialisation.
	random, err := NewRandom(cfg, dtypes.Float32, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range cfg.Weights() {
		values := tensors.MustCopyFlatData[float32](m.WeightVariable(s.Name).MustValue())
		for _, v := range values {
			if bfloat16.FromFloat32(v).Float32() != v {
				t.Fatalf("%s holds %v, not a bfloat16 value", s.Name, v)
			}
		}
		if s.Name == "embed_tokens.weight" && m.WeightVariable(s.Name).MustValue().Equal(random.WeightVariable(s.Name).MustValue()) {
			t.Error("the embedded embeddings are the random initialisation")
		}
	}
}

func TestSameArchitecture(t *testing.T) {
	a, _ := Preset(MiniName)
	b := a.Clone()
	b.TorchDType, b.EOSTokenIDs = "bfloat16", []int{1}
	if err := SameArchitecture(a, b); err != nil {
		t.Errorf("dtype and stop ids are not architecture: %v", err)
	}
	b.SlidingWindow++
	if err := SameArchitecture(a, b); err == nil || !strings.Contains(err.Error(), "sliding_window") {
		t.Errorf("a different window: got %v", err)
	}
}

// TestSaveAsBFloat16: float32 weights saved in bfloat16 load back rounded to
// nearest even, and config.json records the dtype.
func TestSaveAsBFloat16(t *testing.T) {
	cfg, _ := Preset("tiny")
	m, err := NewRandom(cfg, dtypes.Float32, 3)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := m.SaveAs(dir, dtypes.BFloat16); err != nil {
		t.Fatal(err)
	}
	if err := m.SaveAs(t.TempDir(), dtypes.Float16); err == nil {
		t.Error("float16: no error")
	}
	back, err := Load(dir, dtypes.Float32)
	if err != nil {
		t.Fatal(err)
	}
	if back.Config.TorchDType != "bfloat16" {
		t.Errorf("config dtype %q", back.Config.TorchDType)
	}
	for _, s := range cfg.Weights() {
		want := tensors.MustCopyFlatData[float32](m.WeightVariable(s.Name).MustValue())
		got := tensors.MustCopyFlatData[float32](back.WeightVariable(s.Name).MustValue())
		for i := range want {
			if r := bfloat16.FromFloat32(want[i]).Float32(); got[i] != r {
				t.Fatalf("%s[%d]: %v saved as %v, want %v", s.Name, i, want[i], got[i], r)
			}
		}
	}
}
