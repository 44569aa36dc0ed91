package lora

import (
	"fmt"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
)

// linearModule is one linear layer of the decoder: its path and the shape of
// its weight [out, in]. dead marks the K/V projections of KV-shared layers,
// which the forward pass never uses.
type linearModule struct {
	name    string
	in, out int
	dead    bool
}

// notLinear are the rank-2 weights that are looked up, not multiplied: the
// embedding tables (the tied LM head reuses embed_tokens outside the hook).
var notLinear = map[string]bool{
	"embed_tokens.weight":           true,
	"embed_tokens_per_layer.weight": true,
}

// linearModules lists the linear layers of a model with this config, in the
// model's weight order, followed by the dead K/V projections of the
// KV-shared layers.
func linearModules(cfg *gemma3n.Config) []linearModule {
	var mods []linearModule
	for _, spec := range cfg.Weights() {
		if len(spec.Shape) != 2 || notLinear[spec.Name] || !strings.HasSuffix(spec.Name, ".weight") {
			continue
		}
		mods = append(mods, linearModule{
			name: strings.TrimSuffix(spec.Name, ".weight"),
			out:  spec.Shape[0],
			in:   spec.Shape[1],
		})
	}
	kvDim := cfg.NumKeyValueHeads * cfg.HeadDim
	for l := cfg.FirstKVSharedLayer(); l < cfg.NumHiddenLayers; l++ {
		for _, proj := range []string{"k_proj", "v_proj"} {
			mods = append(mods, linearModule{
				name: fmt.Sprintf("layers.%d.self_attn.%s", l, proj),
				out:  kvDim, in: cfg.HiddenSize, dead: true,
			})
		}
	}
	return mods
}

// moduleIndex maps module paths to their description.
func moduleIndex(cfg *gemma3n.Config) map[string]linearModule {
	idx := map[string]linearModule{}
	for _, m := range linearModules(cfg) {
		idx[m.name] = m
	}
	return idx
}
