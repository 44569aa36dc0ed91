package bench

import (
	"fmt"
	"math"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
)

// ModelSize selects the architecture to benchmark: a gemma3n preset with
// optional overrides. A zero field keeps the preset's value.
type ModelSize struct {
	// Preset is a gemma3n preset name ("e2b", "tiny"); empty means "e2b".
	Preset string `json:"preset"`

	Layers        int `json:"layers,omitempty"`         // num_hidden_layers
	Hidden        int `json:"hidden,omitempty"`         // hidden_size
	Intermediate  int `json:"intermediate,omitempty"`   // intermediate_size of every layer
	Heads         int `json:"heads,omitempty"`          // num_attention_heads
	KVHeads       int `json:"kv_heads,omitempty"`       // num_key_value_heads
	HeadDim       int `json:"head_dim,omitempty"`       // head_dim
	Vocab         int `json:"vocab,omitempty"`          // vocab_size
	PLEVocab      int `json:"ple_vocab,omitempty"`      // vocab_size_per_layer_input (default min(preset's, Vocab))
	PLEDim        int `json:"ple_dim,omitempty"`        // hidden_size_per_layer_input
	SlidingWindow int `json:"sliding_window,omitempty"` // sliding_window
	LaurelRank    int `json:"laurel_rank,omitempty"`    // laurel_rank
	// KVShared is num_kv_shared_layers; -1 means none. With Layers set and
	// KVShared zero, the preset's share of KV-shared layers is kept (E2B: a third).
	KVShared int `json:"kv_shared,omitempty"`
}

// DefaultPreset is the architecture the benchmarks use unless told otherwise.
const DefaultPreset = "e2b"

// Config returns the gemma3n configuration of the size, validated.
//
// When Layers differs from the preset, the per-layer fields are rebuilt:
// every k-th layer uses full attention where the preset's first full layer
// is the k-th (E2B: every 5th), the activation sparsity of the preset's
// first layers is kept (zero beyond), and the preset's share of KV-shared
// layers is kept unless KVShared says otherwise.
func (s ModelSize) Config() (*gemma3n.Config, error) {
	preset := s.Preset
	if preset == "" {
		preset = DefaultPreset
	}
	base, err := gemma3n.Preset(preset)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name  string
		value int
	}{
		{"layers", s.Layers}, {"hidden", s.Hidden}, {"intermediate", s.Intermediate}, {"heads", s.Heads},
		{"kv-heads", s.KVHeads}, {"head-dim", s.HeadDim}, {"vocab", s.Vocab}, {"ple-vocab", s.PLEVocab},
		{"ple-dim", s.PLEDim}, {"sliding-window", s.SlidingWindow}, {"laurel-rank", s.LaurelRank},
	} {
		if f.value < 0 {
			return nil, fmt.Errorf("bench: model size: %s %d must not be negative", f.name, f.value)
		}
	}
	if s.KVShared < -1 {
		return nil, fmt.Errorf("bench: model size: kv-shared %d must be ≥ -1 (-1: none)", s.KVShared)
	}
	c := base.Clone()
	setIf := func(dst *int, v int) {
		if v > 0 {
			*dst = v
		}
	}
	setIf(&c.HiddenSize, s.Hidden)
	setIf(&c.NumAttentionHeads, s.Heads)
	setIf(&c.NumKeyValueHeads, s.KVHeads)
	setIf(&c.HeadDim, s.HeadDim)
	setIf(&c.HiddenSizePerLayerInput, s.PLEDim)
	setIf(&c.SlidingWindow, s.SlidingWindow)
	setIf(&c.LaurelRank, s.LaurelRank)
	if s.Vocab > 0 {
		c.VocabSize = s.Vocab
		c.VocabSizePerLayerInput = min(base.VocabSizePerLayerInput, s.Vocab)
		// Keep the special ids inside a small vocabulary.
		c.EOSTokenIDs = clampIDs(c.EOSTokenIDs, s.Vocab)
		c.PadTokenID = min(c.PadTokenID, s.Vocab-1)
		c.BOSTokenID = min(c.BOSTokenID, s.Vocab-1)
	}
	setIf(&c.VocabSizePerLayerInput, s.PLEVocab)
	if s.Layers > 0 && s.Layers != base.NumHiddenLayers {
		resizeLayers(c, base, s.Layers)
	}
	if s.Intermediate > 0 {
		for i := range c.IntermediateSize {
			c.IntermediateSize[i] = s.Intermediate
		}
	}
	switch {
	case s.KVShared == -1:
		c.NumKVSharedLayers = 0
	case s.KVShared > 0:
		c.NumKVSharedLayers = s.KVShared
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("bench: model size %+v: %w", s, err)
	}
	return c, nil
}

// resizeLayers rebuilds the per-layer fields of c for n layers, following
// the pattern of base.
func resizeLayers(c, base *gemma3n.Config, n int) {
	period := 0 // layer i is full iff (i+1) % period == 0
	for i, t := range base.LayerTypes {
		if t == gemma3n.FullAttention {
			period = i + 1
			break
		}
	}
	c.NumHiddenLayers = n
	c.LayerTypes = make([]gemma3n.LayerType, n)
	c.IntermediateSize = make([]int, n)
	c.ActivationSparsity = make([]float64, n)
	for i := range n {
		c.LayerTypes[i] = gemma3n.SlidingAttention
		if period > 0 && (i+1)%period == 0 {
			c.LayerTypes[i] = gemma3n.FullAttention
		}
		c.IntermediateSize[i] = base.IntermediateSize[min(i, len(base.IntermediateSize)-1)]
		if i < len(base.ActivationSparsity) {
			c.ActivationSparsity[i] = base.ActivationSparsity[i]
		}
	}
	shared := int(math.Round(float64(n) * float64(base.NumKVSharedLayers) / float64(base.NumHiddenLayers)))
	c.NumKVSharedLayers = min(shared, n-1)
	// A shared layer needs an earlier owner layer of its type; give up
	// sharing layers until that holds.
	for c.NumKVSharedLayers > 0 && c.Validate() != nil {
		c.NumKVSharedLayers--
	}
}

func clampIDs(ids []int, vocab int) []int {
	out := make([]int, 0, len(ids))
	for _, id := range ids {
		if id < vocab {
			out = append(out, id)
		}
	}
	return out
}
