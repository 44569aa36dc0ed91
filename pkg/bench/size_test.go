package bench

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
)

func TestModelSizeConfig(t *testing.T) {
	e2b := gemma3n.E2BConfig()
	for _, tc := range []struct {
		name  string
		size  ModelSize
		check func(t *testing.T, c *gemma3n.Config)
	}{
		{"default is E2B", ModelSize{}, func(t *testing.T, c *gemma3n.Config) {
			if !reflect.DeepEqual(c, e2b) {
				t.Errorf("got %+v, want the E2B preset", c)
			}
		}},
		{"E2B counts", ModelSize{Preset: "e2b"}, func(t *testing.T, c *gemma3n.Config) {
			// The Python stack's E2B text model: 30 layers, 10 KV-shared, every 5th full.
			if c.NumHiddenLayers != 30 || c.NumKVSharedLayers != 10 || c.LayerTypes[4] != gemma3n.FullAttention || c.LayerTypes[5] != gemma3n.SlidingAttention {
				t.Errorf("unexpected E2B layout: %d layers, %d shared, types %v", c.NumHiddenLayers, c.NumKVSharedLayers, c.LayerTypes[:6])
			}
		}},
		{"fewer E2B layers keep the pattern", ModelSize{Layers: 10}, func(t *testing.T, c *gemma3n.Config) {
			if c.NumHiddenLayers != 10 || len(c.IntermediateSize) != 10 || len(c.ActivationSparsity) != 10 {
				t.Fatalf("per-layer fields not resized: %+v", c)
			}
			for i, lt := range c.LayerTypes {
				want := gemma3n.SlidingAttention
				if i == 4 || i == 9 {
					want = gemma3n.FullAttention
				}
				if lt != want {
					t.Errorf("layer %d: %s, want %s", i, lt, want)
				}
			}
			if c.NumKVSharedLayers != 3 { // a third, as in E2B
				t.Errorf("kv shared %d, want 3", c.NumKVSharedLayers)
			}
			if c.ActivationSparsity[9] != e2b.ActivationSparsity[9] {
				t.Errorf("sparsity of layer 9 %v, want the preset's %v", c.ActivationSparsity[9], e2b.ActivationSparsity[9])
			}
		}},
		{"more tiny layers", ModelSize{Preset: "tiny", Layers: 6}, func(t *testing.T, c *gemma3n.Config) {
			want := []gemma3n.LayerType{"sliding_attention", "full_attention", "sliding_attention", "full_attention", "sliding_attention", "full_attention"}
			if !reflect.DeepEqual(c.LayerTypes, want) || c.NumKVSharedLayers != 3 {
				t.Errorf("types %v, shared %d", c.LayerTypes, c.NumKVSharedLayers)
			}
		}},
		{"overrides", ModelSize{Preset: "tiny", Hidden: 32, Intermediate: 48, Heads: 2, KVHeads: 1, HeadDim: 8, Vocab: 300, PLEDim: 4, SlidingWindow: 7, LaurelRank: 2, KVShared: -1}, func(t *testing.T, c *gemma3n.Config) {
			if c.HiddenSize != 32 || c.IntermediateSize[3] != 48 || c.NumAttentionHeads != 2 || c.NumKeyValueHeads != 1 || c.HeadDim != 8 ||
				c.VocabSize != 300 || c.VocabSizePerLayerInput != 300 || c.HiddenSizePerLayerInput != 4 || c.SlidingWindow != 7 ||
				c.LaurelRank != 2 || c.NumKVSharedLayers != 0 {
				t.Errorf("overrides not applied: %+v", c)
			}
			if !reflect.DeepEqual(c.EOSTokenIDs, []int{1, 106}) {
				t.Errorf("EOS ids %v", c.EOSTokenIDs)
			}
		}},
		{"small vocabulary drops special ids outside it", ModelSize{Preset: "tiny", Vocab: 100}, func(t *testing.T, c *gemma3n.Config) {
			if !reflect.DeepEqual(c.EOSTokenIDs, []int{1}) {
				t.Errorf("EOS ids %v, want [1]", c.EOSTokenIDs)
			}
		}},
		{"PLE vocabulary", ModelSize{Preset: "tiny", Vocab: 1000, PLEVocab: 600}, func(t *testing.T, c *gemma3n.Config) {
			if c.VocabSizePerLayerInput != 600 {
				t.Errorf("PLE vocab %d", c.VocabSizePerLayerInput)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.size.Config()
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestModelSizeConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		size ModelSize
		want string
	}{
		{ModelSize{Preset: "e4b"}, "unknown gemma3n preset"},
		{ModelSize{Layers: -1}, "layers -1 must not be negative"},
		{ModelSize{KVShared: -2}, "kv-shared -2"},
		{ModelSize{Preset: "tiny", Heads: 3}, "not a multiple"},
		{ModelSize{Preset: "tiny", HeadDim: 7}, "must be even"},
		{ModelSize{Preset: "tiny", KVShared: 4}, "num_kv_shared_layers 4"},
		{ModelSize{Preset: "tiny", Vocab: 100, PLEVocab: 200}, "exceeds vocab_size"},
	} {
		_, err := tc.size.Config()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want it to mention %q", tc.size, err, tc.want)
		}
	}
}
