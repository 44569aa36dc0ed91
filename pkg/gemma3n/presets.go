package gemma3n

import (
	"fmt"
	"sort"
	"strings"
)

// presets are built-in configurations, selected by name wherever a model
// directory is expected (e.g. --model tiny).
var presets = map[string]func() *Config{
	"tiny":     tinyConfig,
	"tiny-e2b": tinyE2BConfig,
	MiniName:   miniConfig,
	"e2b":      E2BConfig,
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
//   - "mini": the project's embedded default model, a small Gemma 3n with
//     every component, pretrained on the training splits of the shipped
//     corpora; Open loads its embedded weights (see miniConfig).
//   - "tiny": a smaller random-init Gemma 3n that exercises every
//     component, for fast tests (see tinyConfig).
//   - "tiny-e2b": E2B's depth and layout at a tiny width (see
//     tinyE2BConfig), for checking exports against runtimes that hard-code
//     parts of E2B's layout (llama.cpp).
//   - "e2b": the text configuration of google/gemma-3n-E2B-it (spec §1.4).
func Preset(name string) (*Config, error) {
	mk, ok := presets[normalizePreset(name)]
	if !ok {
		return nil, fmt.Errorf("unknown gemma3n preset %q (have %s)", name, strings.Join(PresetNames(), ", "))
	}
	return mk(), nil
}

// IsPreset reports whether name names a built-in configuration.
func IsPreset(name string) bool {
	_, ok := presets[normalizePreset(name)]
	return ok
}

// normalizePreset is the key of a preset name: names are case-insensitive.
func normalizePreset(name string) string { return strings.ToLower(name) }

// TinyVocabSize is the vocabulary of the tiny preset; it equals
// tokenizer.TinyVocabSize (checked by a test in pkg/sft, which sees both).
const TinyVocabSize = 8192

// tinyConfig is the random-init smoke-scale model: hidden size 64 and 4 layers
// over a compact 8,192-id vocabulary (TinyVocabSize), the size of the tiny
// tokenizer that pkg/tokenizer derives from Gemma's for this preset
// (tokenizer.Tiny: Gemma's specials at their ids, byte fallback, the
// corpus's most frequent Gemma tokens). With the full 262,144-id vocabulary
// the LM head and loss dominated every CPU step (10–20 s per step); with
// 8,192 ids a debug run trains in seconds. It is a smoke-scale model for
// tests (random weights cannot model text: see mini for the default); real
// runs load google/gemma-3n-E2B-it with its own tokenizer.
//
// Layout: sliding, full, sliding, full; the last two layers are KV-shared
// (layer 2 reuses layer 0's K/V, layer 3 reuses layer 1's); the sliding
// window of 32 tokens bites on training sequences; layer 0 has the Gaussian
// top-k sparsity. Ids 1 (<eos>) and 106 (<end_of_turn>) stop generation, as
// in the instruction-tuned checkpoint.
//
// Everything else (RoPE bases, norms, soft cap, AltUp, activation, stop ids)
// is E2B's.
func tinyConfig() *Config {
	const layers = 4
	c := compactE2BConfig()
	c.HiddenSize = 64
	c.HiddenSizePerLayerInput = 16
	c.IntermediateSize = repeat(128, layers)
	c.NumHiddenLayers = layers
	c.NumAttentionHeads = 4
	c.NumKeyValueHeads = 2
	c.HeadDim = 16
	c.LayerTypes = []LayerType{SlidingAttention, FullAttention, SlidingAttention, FullAttention}
	c.SlidingWindow = 32
	c.LaurelRank = 8
	c.ActivationSparsity = []float64{0.95, 0, 0, 0}
	c.NumKVSharedLayers = 2
	return c
}

// compactE2BConfig is what the small presets (tiny, tiny-e2b, mini) change
// in E2B before they change its shape: the tiny tokenizer's 8,192-id
// vocabulary, 4,096 positions and float32 weights.
func compactE2BConfig() *Config {
	c := E2BConfig()
	c.VocabSize = TinyVocabSize
	c.VocabSizePerLayerInput = TinyVocabSize
	c.MaxPositionEmbeddings = 4096
	c.TorchDType = "float32"
	return c
}

// E2BConfig is the text configuration of google/gemma-3n-E2B-it (spec §1.4),
// with the stop ids of its generation config.
func E2BConfig() *Config {
	const layers = 30
	return &Config{
		VocabSize:               262400,
		VocabSizePerLayerInput:  262144,
		HiddenSize:              2048,
		HiddenSizePerLayerInput: 256,
		IntermediateSize:        repeat(8192, layers),
		NumHiddenLayers:         layers,
		NumAttentionHeads:       8,
		NumKeyValueHeads:        2,
		HeadDim:                 256,
		LayerTypes:              derivedLayerTypes(layers),
		SlidingWindow:           512,
		RopeThetaFull:           defaultRopeThetaFull,
		RopeThetaSliding:        defaultRopeThetaSliding,
		RMSNormEps:              defaultRMSNormEps,
		FinalLogitSoftcapping:   defaultFinalLogitSoftcapping,
		AltUpNumInputs:          4,
		AltUpCoefClip:           defaultAltUpCoefClip,
		AltUpCorrectScale:       true,
		LaurelRank:              64,
		ActivationSparsity:      derivedActivationSparsity(layers),
		NumKVSharedLayers:       10,
		HiddenActivation:        defaultHiddenActivation,
		MaxPositionEmbeddings:   32768,
		TieWordEmbeddings:       true,
		PadTokenID:              0,
		BOSTokenID:              2,
		EOSTokenIDs:             []int{1, 106},
		TorchDType:              "bfloat16",
	}
}

// tinyE2BConfig is E2B's depth and layout at a tiny width, over the tiny
// preset's 8,192-id vocabulary. llama.cpp hard-codes parts of Gemma 3n
// (KV sharing from layer 20 on, sliding layers in a period of 5,
// activation sparsity 0.95 on the first 10 layers, 4 AltUp streams,
// LAuReL rank 64, per-layer inputs of width 256, final soft cap 30), so a
// model it can load needs all of those: 30 layers like E2B, of which the
// last 10 share K/V, every fifth a full-attention layer. The width is
// tiny: hidden size 256 (llama.cpp 's CPU backend computes garbage or
// crashes on float16 and q8_0 AltUp unembedding projections of width 64
// or 128), 4 query heads and 2 KV heads of 16, MLP width 1,024 (wide enough
// that llama.cpp's unbiased standard deviation in the Gaussian top-k stays
// close to HF's population one), a sliding window of 16 tokens. As in E2B, the last 256 ids have no row of their own in the
// per-layer embedding (they use row 0). Weights are random: it is a
// verification model, not a counsellor.
func tinyE2BConfig() *Config {
	c := compactE2BConfig()
	const layers = 30
	c.VocabSizePerLayerInput = TinyVocabSize - 256
	c.HiddenSize = 256
	c.IntermediateSize = repeat(1024, layers)
	c.NumAttentionHeads = 4
	c.NumKeyValueHeads = 2
	c.HeadDim = 16
	c.SlidingWindow = 16
	return c
}

// miniConfig is the architecture of the embedded default model (MiniName),
// sized so that pretraining it on the training splits of the shipped
// corpora takes about an hour on two CPU cores (make pretrain; its model
// card is assets/mini/README.md). It has every Gemma 3n component on the
// compact 8,192-id vocabulary of the tiny tokenizer: hidden size 128 and
// 6 layers (sliding, sliding, full, sliding, sliding, full, as E2B's
// every-fifth-layer-full pattern compressed), 4 query heads and 2 KV heads
// of 32, a sliding window of 64 tokens, the last two layers sharing the
// K/V of the last layer of each type before them, AltUp over 4 streams,
// LAuReL of rank 16, per-layer inputs of 16 per layer, and the Gaussian
// top-k sparsity (0.95) on the first layer's MLP, as E2B has on its first
// ten.
func miniConfig() *Config {
	const layers = 6
	c := tinyConfig() // its heads, KV heads, per-layer inputs and KV sharing
	c.HiddenSize = 128
	c.IntermediateSize = repeat(512, layers)
	c.NumHiddenLayers = layers
	c.HeadDim = 32
	c.LayerTypes = []LayerType{SlidingAttention, SlidingAttention, FullAttention, SlidingAttention, SlidingAttention, FullAttention}
	c.SlidingWindow = 64
	c.LaurelRank = 16
	c.ActivationSparsity = []float64{0.95, 0, 0, 0, 0, 0}
	return c
}
