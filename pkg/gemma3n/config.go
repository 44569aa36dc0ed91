package gemma3n

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// This file holds the model's configuration: what the forward pass and the
// weight manifest read. Reading and writing Hugging Face's config.json is
// hfconfig.go's job.

// LayerType is the attention type of one decoder layer, spelled as in the
// Hugging Face config ("layer_types").
type LayerType string

// The two attention types of Gemma 3n.
const (
	SlidingAttention LayerType = "sliding_attention"
	FullAttention    LayerType = "full_attention"
)

// Config is the Gemma 3n text configuration (HF Gemma3nTextConfig), with
// every per-layer field expanded to one entry per layer.
type Config struct {
	VocabSize               int   // rows of embed_tokens (and of the tied LM head)
	VocabSizePerLayerInput  int   // rows of the per-layer-embedding (PLE) table
	HiddenSize              int   // D
	HiddenSizePerLayerInput int   // P, PLE width per layer
	IntermediateSize        []int // MLP width F, one per layer
	NumHiddenLayers         int   // L
	NumAttentionHeads       int   // query heads
	NumKeyValueHeads        int   // KV heads (GQA)
	HeadDim                 int   // d
	LayerTypes              []LayerType
	SlidingWindow           int     // keys visible to a sliding layer, the query included
	RopeThetaFull           float64 // RoPE base of full-attention layers
	RopeThetaSliding        float64 // RoPE base of sliding-attention layers
	RMSNormEps              float64
	FinalLogitSoftcapping   float64 // 0 disables the soft cap
	AltUpNumInputs          int     // n, number of AltUp streams
	AltUpActiveIdx          int     // always 0
	AltUpCoefClip           float64 // 0 disables clipping of the AltUp coefficients at load
	AltUpCorrectScale       bool
	LaurelRank              int
	// ActivationSparsity holds, per layer, the fraction of MLP units the
	// Gaussian top-k removes (0 disables it).
	ActivationSparsity    []float64
	NumKVSharedLayers     int // the last NumKVSharedLayers layers reuse earlier K/V
	HiddenActivation      string
	MaxPositionEmbeddings int
	TieWordEmbeddings     bool
	PadTokenID            int
	BOSTokenID            int
	EOSTokenIDs           []int  // generation stops on any of these
	TorchDType            string // dtype the checkpoint declares ("bfloat16", "float32"), informative
}

// Hugging Face's rules for the per-layer fields a configuration may omit
// (see derivedLayerTypes and derivedActivationSparsity).
const (
	fullAttentionInterval = 5    // layer i is full attention iff (i+1) % 5 == 0
	derivedSparseLayers   = 10   // layers with sparsity when there are more than 10
	derivedSparsity       = 0.95 // their sparsity
)

// derivedLayerTypes is the layer_types Hugging Face derives for a model of
// the given depth when its configuration omits them: every fifth layer
// (4, 9, 14, …) is full attention, the others sliding (spec §1.2).
func derivedLayerTypes(layers int) []LayerType {
	types := make([]LayerType, layers)
	for i := range types {
		types[i] = SlidingAttention
		if (i+1)%fullAttentionInterval == 0 {
			types[i] = FullAttention
		}
	}
	return types
}

// derivedActivationSparsity is the activation_sparsity_pattern Hugging Face
// derives when a configuration omits it: 0.95 on the first 10 layers of a
// model deeper than 10 layers, 0 everywhere else (spec §1.2).
func derivedActivationSparsity(layers int) []float64 {
	sparsity := make([]float64, layers)
	if layers > derivedSparseLayers {
		for i := range derivedSparseLayers {
			sparsity[i] = derivedSparsity
		}
	}
	return sparsity
}

// Validate checks the consistency rules of a Gemma 3n text configuration
// (spec §1.3) and returns the first violation as an error naming the field.
func (c *Config) Validate() error {
	L := c.NumHiddenLayers
	positive := []struct {
		name  string
		value int
	}{
		{"vocab_size", c.VocabSize},
		{"vocab_size_per_layer_input", c.VocabSizePerLayerInput},
		{"hidden_size", c.HiddenSize},
		{"hidden_size_per_layer_input", c.HiddenSizePerLayerInput},
		{"num_hidden_layers", L},
		{"num_attention_heads", c.NumAttentionHeads},
		{"num_key_value_heads", c.NumKeyValueHeads},
		{"head_dim", c.HeadDim},
		{"sliding_window", c.SlidingWindow},
		{"laurel_rank", c.LaurelRank},
		{"max_position_embeddings", c.MaxPositionEmbeddings},
	}
	for _, p := range positive {
		if p.value <= 0 {
			return fmt.Errorf("%s %d: must be positive", p.name, p.value)
		}
	}
	// Guard against absurd sizes (a corrupt or hostile file) before anything
	// allocates from them.
	const maxDim = 1 << 24
	for _, p := range positive {
		if p.value > maxDim {
			return fmt.Errorf("%s %d: implausibly large (max %d)", p.name, p.value, maxDim)
		}
	}
	if c.VocabSizePerLayerInput > c.VocabSize {
		return fmt.Errorf("vocab_size_per_layer_input %d exceeds vocab_size %d", c.VocabSizePerLayerInput, c.VocabSize)
	}
	if c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
		return fmt.Errorf("num_attention_heads %d is not a multiple of num_key_value_heads %d", c.NumAttentionHeads, c.NumKeyValueHeads)
	}
	if c.HeadDim%2 != 0 {
		return fmt.Errorf("head_dim %d: must be even (RoPE rotates halves)", c.HeadDim)
	}
	if len(c.IntermediateSize) != L {
		return fmt.Errorf("intermediate_size: %d values for %d layers", len(c.IntermediateSize), L)
	}
	for i, f := range c.IntermediateSize {
		if f <= 0 || f > maxDim {
			return fmt.Errorf("intermediate_size[%d] %d: must be in [1, %d]", i, f, maxDim)
		}
	}
	if len(c.LayerTypes) != L {
		return fmt.Errorf("layer_types: %d entries for %d layers", len(c.LayerTypes), L)
	}
	for i, t := range c.LayerTypes {
		if t != SlidingAttention && t != FullAttention {
			return fmt.Errorf("layer_types[%d] %q: want %q or %q", i, t, SlidingAttention, FullAttention)
		}
	}
	if len(c.ActivationSparsity) != L {
		return fmt.Errorf("activation_sparsity_pattern: %d entries for %d layers", len(c.ActivationSparsity), L)
	}
	for i, p := range c.ActivationSparsity {
		if !(p >= 0 && p < 1) {
			return fmt.Errorf("activation_sparsity_pattern[%d] %v: must be in [0, 1)", i, p)
		}
	}
	if c.NumKVSharedLayers < 0 || c.NumKVSharedLayers >= L {
		return fmt.Errorf("num_kv_shared_layers %d: must be in [0, %d)", c.NumKVSharedLayers, L)
	}
	s := c.FirstKVSharedLayer()
	for l := s; l < L; l++ {
		if !slices.Contains(c.LayerTypes[:s], c.LayerTypes[l]) {
			return fmt.Errorf("layer_types[%d] %q is KV-shared but no earlier layer (0..%d) has that type to share from",
				l, c.LayerTypes[l], s-1)
		}
	}
	if c.AltUpActiveIdx != 0 {
		return fmt.Errorf("altup_active_idx %d: only 0 is supported", c.AltUpActiveIdx)
	}
	if c.AltUpNumInputs < 2 || c.AltUpNumInputs > 64 {
		return fmt.Errorf("altup_num_inputs %d: must be in [2, 64]", c.AltUpNumInputs)
	}
	if c.HiddenActivation != "gelu_pytorch_tanh" {
		return fmt.Errorf("hidden_activation %q: only \"gelu_pytorch_tanh\" is supported", c.HiddenActivation)
	}
	if !c.TieWordEmbeddings {
		return errors.New("tie_word_embeddings false: Gemma 3n ties the LM head to embed_tokens")
	}
	finite := []struct {
		name  string
		value float64
	}{
		{"rms_norm_eps", c.RMSNormEps},
		{"final_logit_softcapping", c.FinalLogitSoftcapping},
		{"altup_coef_clip", c.AltUpCoefClip},
		{"rope_theta (full_attention)", c.RopeThetaFull},
		{"rope_theta (sliding_attention)", c.RopeThetaSliding},
	}
	for _, f := range finite {
		if math.IsNaN(f.value) || math.IsInf(f.value, 0) || f.value < 0 {
			return fmt.Errorf("%s %v: must be a finite non-negative number", f.name, f.value)
		}
	}
	if c.RMSNormEps == 0 {
		return errors.New("rms_norm_eps 0: must be positive")
	}
	if c.RopeThetaFull <= 1 || c.RopeThetaSliding <= 1 {
		return fmt.Errorf("rope_theta %v / %v: RoPE bases must exceed 1", c.RopeThetaFull, c.RopeThetaSliding)
	}
	for _, id := range c.EOSTokenIDs {
		if id < 0 || id >= c.VocabSize {
			return fmt.Errorf("eos_token_id %d: outside the vocabulary [0, %d)", id, c.VocabSize)
		}
	}
	for _, p := range []struct {
		name string
		id   int
	}{{"pad_token_id", c.PadTokenID}, {"bos_token_id", c.BOSTokenID}} {
		if p.id < 0 || p.id >= c.VocabSize {
			return fmt.Errorf("%s %d: outside the vocabulary [0, %d)", p.name, p.id, c.VocabSize)
		}
	}
	return nil
}

// FirstKVSharedLayer is s = L − num_kv_shared_layers: layers s..L−1 reuse
// the K/V of an earlier layer.
func (c *Config) FirstKVSharedLayer() int { return c.NumHiddenLayers - c.NumKVSharedLayers }

// IsKVShared reports whether layer l reuses another layer's K/V (and so
// ignores its own k_proj, v_proj and k_norm).
func (c *Config) IsKVShared(l int) bool { return l >= c.FirstKVSharedLayer() }

// KVSource returns the layer whose K/V layer l attends to: l itself for
// owner layers, and for shared layers the last non-shared layer of the same
// attention type (spec §3.6; E2B: sliding → 18, full → 19).
func (c *Config) KVSource(l int) int {
	s := c.FirstKVSharedLayer()
	if l < s {
		return l
	}
	for j := s - 1; j >= 0; j-- {
		if c.LayerTypes[j] == c.LayerTypes[l] {
			return j
		}
	}
	return -1 // unreachable for a validated config
}

// RopeTheta returns the RoPE base of a layer type.
func (c *Config) RopeTheta(t LayerType) float64 {
	if t == FullAttention {
		return c.RopeThetaFull
	}
	return c.RopeThetaSliding
}

// Clone returns a deep copy of c.
func (c *Config) Clone() *Config {
	out := *c
	out.IntermediateSize = slices.Clone(c.IntermediateSize)
	out.LayerTypes = slices.Clone(c.LayerTypes)
	out.ActivationSparsity = slices.Clone(c.ActivationSparsity)
	out.EOSTokenIDs = slices.Clone(c.EOSTokenIDs)
	return &out
}

// IsEOS reports whether id is one of the configured end-of-sequence ids.
func (c *Config) IsEOS(id int) bool { return slices.Contains(c.EOSTokenIDs, id) }

// repeat returns n copies of v.
func repeat[T any](v T, n int) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = v
	}
	return out
}
