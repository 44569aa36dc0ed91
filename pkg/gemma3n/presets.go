package gemma3n

import (
	"fmt"
	"sort"
	"strings"
)

// presets are built-in configurations, selected by name wherever a model
// directory is expected (e.g. --model tiny).
var presets = map[string]func() *Config{
	"tiny": tinyConfig,
	"e2b":  E2BConfig,
}

// PresetNames lists the built-in configurations.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Preset returns a copy of a built-in configuration:
//
//   - "tiny": the project's embedded default model, a small random-init
//     Gemma 3n that exercises every component (see tinyConfig).
//   - "e2b": the text configuration of google/gemma-3n-E2B-it (spec §1).
func Preset(name string) (*Config, error) {
	mk, ok := presets[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("unknown gemma3n preset %q (have %s)", name, strings.Join(PresetNames(), ", "))
	}
	return mk(), nil
}

// IsPreset reports whether name names a built-in configuration.
func IsPreset(name string) bool {
	_, ok := presets[strings.ToLower(name)]
	return ok
}

// tinyConfig is the embedded default model: hidden size 64 and 4 layers
// over a compact 8,192-id vocabulary (TinyVocabSize), the size of the tiny
// tokenizer that pkg/tokenizer derives from Gemma's for this preset
// (tokenizer.Tiny: Gemma's specials at their ids, byte fallback, the
// corpus's most frequent Gemma tokens). With the full 262,144-id vocabulary
// the LM head and loss dominated every CPU step (10–20 s per step); with
// 8,192 ids a debug run trains in seconds. It is a smoke-scale model: real
// runs load google/gemma-3n-E2B-it with its own tokenizer.
//
// Layout: sliding, full, sliding, full; the last two layers are KV-shared
// (layer 2 reuses layer 0's K/V, layer 3 reuses layer 1's); the sliding
// window of 32 tokens bites on training sequences; layer 0 has the Gaussian
// top-k sparsity. Ids 1 (<eos>) and 106 (<end_of_turn>) stop generation, as
// in the instruction-tuned checkpoint.
// TinyVocabSize is the vocabulary of the tiny preset; it equals
// tokenizer.TinyVocabSize (checked by a test in pkg/sft, which sees both).
const TinyVocabSize = 8192

func tinyConfig() *Config {
	const layers = 4
	return &Config{
		VocabSize:               TinyVocabSize,
		VocabSizePerLayerInput:  TinyVocabSize,
		HiddenSize:              64,
		HiddenSizePerLayerInput: 16,
		IntermediateSize:        repeat(128, layers),
		NumHiddenLayers:         layers,
		NumAttentionHeads:       4,
		NumKeyValueHeads:        2,
		HeadDim:                 16,
		LayerTypes:              []LayerType{SlidingAttention, FullAttention, SlidingAttention, FullAttention},
		SlidingWindow:           32,
		RopeThetaFull:           defaultRopeThetaFull,
		RopeThetaSliding:        defaultRopeThetaSliding,
		RMSNormEps:              defaultRMSNormEps,
		FinalLogitSoftcapping:   defaultFinalLogitSoftcapping,
		AltUpNumInputs:          4,
		AltUpCoefClip:           defaultAltUpCoefClip,
		AltUpCorrectScale:       true,
		LaurelRank:              8,
		ActivationSparsity:      []float64{0.95, 0, 0, 0},
		NumKVSharedLayers:       2,
		HiddenActivation:        defaultHiddenActivation,
		MaxPositionEmbeddings:   4096,
		TieWordEmbeddings:       true,
		PadTokenID:              0,
		BOSTokenID:              2,
		EOSTokenIDs:             []int{1, 106},
		TorchDType:              "float32",
	}
}

// E2BConfig is the text configuration of google/gemma-3n-E2B-it (spec §1),
// with the stop ids of its generation config.
func E2BConfig() *Config {
	const layers = 30
	c := &Config{
		VocabSize:               262400,
		VocabSizePerLayerInput:  262144,
		HiddenSize:              2048,
		HiddenSizePerLayerInput: 256,
		IntermediateSize:        repeat(8192, layers),
		NumHiddenLayers:         layers,
		NumAttentionHeads:       8,
		NumKeyValueHeads:        2,
		HeadDim:                 256,
		LayerTypes:              make([]LayerType, layers),
		SlidingWindow:           512,
		RopeThetaFull:           defaultRopeThetaFull,
		RopeThetaSliding:        defaultRopeThetaSliding,
		RMSNormEps:              defaultRMSNormEps,
		FinalLogitSoftcapping:   defaultFinalLogitSoftcapping,
		AltUpNumInputs:          4,
		AltUpCoefClip:           defaultAltUpCoefClip,
		AltUpCorrectScale:       true,
		LaurelRank:              64,
		ActivationSparsity:      make([]float64, layers),
		NumKVSharedLayers:       10,
		HiddenActivation:        defaultHiddenActivation,
		MaxPositionEmbeddings:   32768,
		TieWordEmbeddings:       true,
		PadTokenID:              0,
		BOSTokenID:              2,
		EOSTokenIDs:             []int{1, 106},
		TorchDType:              "bfloat16",
	}
	for i := range c.LayerTypes {
		c.LayerTypes[i] = SlidingAttention
		if (i+1)%fullAttentionInterval == 0 {
			c.LayerTypes[i] = FullAttention
		}
	}
	for i := range defaultSparseLayers {
		c.ActivationSparsity[i] = defaultSparsity
	}
	return c
}
