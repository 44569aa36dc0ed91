package lora

import (
	"fmt"

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

// linearModules lists the linear layers of a model with this config, in the
// model's weight order, followed by the dead K/V projections of the
// KV-shared layers.
func linearModules(cfg *gemma3n.Config) []linearModule {
	var mods []linearModule
	for _, spec := range cfg.Weights() {
		if spec.Module == "" { // embeddings (the tied LM head reuses one outside the hook), norms, scales
			continue
		}
		mods = append(mods, linearModule{name: spec.Module, out: spec.Shape[0], in: spec.Shape[1]})
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
