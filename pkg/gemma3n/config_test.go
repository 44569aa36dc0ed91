package gemma3n

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
)

func TestParseFixtureConfig(t *testing.T) {
	cfg, err := LoadConfig(tinyDir)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		VocabSize: 512, VocabSizePerLayerInput: 512, HiddenSize: 64, HiddenSizePerLayerInput: 16,
		IntermediateSize: repeat(128, 6), NumHiddenLayers: 6, NumAttentionHeads: 4, NumKeyValueHeads: 2, HeadDim: 16,
		LayerTypes:    []LayerType{SlidingAttention, SlidingAttention, FullAttention, SlidingAttention, SlidingAttention, FullAttention},
		SlidingWindow: 8, RopeThetaFull: 1e6, RopeThetaSliding: 1e4, RMSNormEps: 1e-6, FinalLogitSoftcapping: 30,
		AltUpNumInputs: 4, AltUpCoefClip: 120, AltUpCorrectScale: true, LaurelRank: 8,
		ActivationSparsity: []float64{0.95, 0.95, 0, 0, 0, 0}, NumKVSharedLayers: 2,
		HiddenActivation: "gelu_pytorch_tanh", MaxPositionEmbeddings: 256, TieWordEmbeddings: true,
		PadTokenID: 0, BOSTokenID: 2, EOSTokenIDs: []int{1}, TorchDType: "float32",
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("config:\n got  %+v\n want %+v", cfg, want)
	}
	// KV sharing of the fixture: layer 4 (sliding) reuses 3, layer 5 (full) reuses 2.
	for l, src := range []int{0, 1, 2, 3, 3, 2} {
		if got := cfg.KVSource(l); got != src {
			t.Errorf("KVSource(%d) = %d, want %d", l, got, src)
		}
	}
}

func TestE2BManifestConfig(t *testing.T) {
	var manifest struct {
		Config json.RawMessage `json:"config"`
	}
	testutil.ReadJSON(t, testutil.Fixture(t, "e2b", "e2b_text_manifest.json"), &manifest)
	cfg, err := ParseConfig(manifest.Config)
	if err != nil {
		t.Fatal(err)
	}
	want := E2BConfig()
	want.EOSTokenIDs = []int{1} // the text config alone; the IT generation config adds 106
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("E2B config:\n got  %+v\n want %+v", cfg, want)
	}
	// Spec §3.6: sliding layers 20–23, 25–28 → 18; full layers 24, 29 → 19.
	for l := 20; l < 30; l++ {
		want := 18
		if l == 24 || l == 29 {
			want = 19
		}
		if got := cfg.KVSource(l); got != want {
			t.Errorf("KVSource(%d) = %d, want %d", l, got, want)
		}
	}
}

// The official checkpoint's layout: a multimodal config, flat RoPE fields,
// a scalar intermediate_size, derived layer_types and sparsity, and the
// stop ids at top level.
const multimodalConfig = `{
  "architectures": ["Gemma3nForConditionalGeneration"],
  "model_type": "gemma3n",
  "eos_token_id": [1, 106],
  "vision_config": {"model_type": "gemma3n_vision"},
  "text_config": {
    "model_type": "gemma3n_text",
    "hidden_size": 2048,
    "intermediate_size": 8192,
    "num_hidden_layers": 30,
    "num_kv_shared_layers": 10,
    "rope_theta": 1000000.0,
    "rope_local_base_freq": 10000.0,
    "rope_scaling": null,
    "query_pre_attn_scalar": 256,
    "altup_lr_multiplier": 1.0,
    "torch_dtype": "bfloat16"
  }
}`

func TestParseMultimodalConfig(t *testing.T) {
	cfg, err := ParseConfig([]byte(multimodalConfig))
	if err != nil {
		t.Fatal(err)
	}
	if want := E2BConfig(); !reflect.DeepEqual(cfg, want) {
		t.Errorf("multimodal E2B config:\n got  %+v\n want %+v", cfg, want)
	}
}

func TestConfigDefaultsRules(t *testing.T) {
	cfg, err := ParseConfig([]byte(`{"num_hidden_layers": 7, "num_kv_shared_layers": 2, "intermediate_size": [1,2,3,4,5,6,7]}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := make([]float64, 7); !slices.Equal(cfg.ActivationSparsity, want) {
		t.Errorf("≤ 10 layers: sparsity %v, want all 0", cfg.ActivationSparsity)
	}
	if want := []LayerType{"sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention", "full_attention", "sliding_attention", "sliding_attention"}; !slices.Equal(cfg.LayerTypes, want) {
		t.Errorf("derived layer types %v", cfg.LayerTypes)
	}
	if !slices.Equal(cfg.IntermediateSize, []int{1, 2, 3, 4, 5, 6, 7}) {
		t.Errorf("intermediate sizes %v", cfg.IntermediateSize)
	}
	cfg, err = ParseConfig([]byte(`{}`)) // HF defaults: 35 layers (E4B-like)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NumHiddenLayers != 35 || cfg.ActivationSparsity[9] != 0.95 || cfg.ActivationSparsity[10] != 0 || cfg.IntermediateSize[34] != 16384 {
		t.Errorf("defaults: %+v", cfg)
	}
	cfg, err = ParseConfig([]byte(`{"final_logit_softcapping": null, "altup_coef_clip": null, "num_hidden_layers": 5, "num_kv_shared_layers": 0,
		"rope_parameters": {"rope_type": "default", "rope_theta": 5000.0}}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.FinalLogitSoftcapping != 0 || cfg.AltUpCoefClip != 0 || cfg.RopeThetaFull != 5000 || cfg.RopeThetaSliding != 1e4 {
		t.Errorf("nulls and flat rope_parameters: %+v", cfg)
	}
}

func TestConfigErrors(t *testing.T) {
	base := func(extra string) string {
		return `{"num_hidden_layers": 4, "num_kv_shared_layers": 1, "layer_types": ["sliding_attention","full_attention","sliding_attention","full_attention"]` + extra + `}`
	}
	cases := []struct {
		name, json, wantErr string
	}{
		{"syntax", `{"hidden_size": 12,}`, "line 1"},
		{"not an object", `[1, 2]`, "expected"},
		{"trailing data", `{} {}`, "after the JSON object"},
		{"wrong type", `{"hidden_size": "big"}`, "hidden_size"},
		{"other model", `{"model_type": "gemma3_text"}`, "model_type"},
		{"other multimodal", `{"model_type": "llava", "text_config": {}}`, "model_type"},
		{"layer_types length", base(`, "layer_types": ["full_attention"]`), "layer_types"},
		{"layer type value", base(`, "layer_types": ["sliding_attention","full_attention","sliding_attention","chunked"]`), "layer_types[3]"},
		{"sparsity length", base(`, "activation_sparsity_pattern": [0.95]`), "activation_sparsity_pattern"},
		{"sparsity range", base(`, "activation_sparsity_pattern": [0, 0, 1.0, 0]`), "activation_sparsity_pattern[2]"},
		{"intermediate length", base(`, "intermediate_size": [1, 2]`), "intermediate_size"},
		{"intermediate type", base(`, "intermediate_size": "x"`), "intermediate_size"},
		{"kv shared too many", base(`, "num_kv_shared_layers": 4`), "num_kv_shared_layers"},
		{"kv shared negative", base(`, "num_kv_shared_layers": -1`), "num_kv_shared_layers"},
		{"kv shared without source", `{"num_hidden_layers": 3, "num_kv_shared_layers": 1, "layer_types": ["sliding_attention","sliding_attention","full_attention"]}`, "no earlier layer"},
		{"gqa", base(`, "num_attention_heads": 6, "num_key_value_heads": 4`), "multiple"},
		{"odd head dim", base(`, "head_dim": 15`), "head_dim"},
		{"altup active", base(`, "altup_active_idx": 1`), "altup_active_idx"},
		{"altup inputs", base(`, "altup_num_inputs": 1`), "altup_num_inputs"},
		{"ple width", base(`, "hidden_size_per_layer_input": 0`), "hidden_size_per_layer_input"},
		{"ple vocab", base(`, "vocab_size": 100, "vocab_size_per_layer_input": 200`), "vocab_size_per_layer_input"},
		{"activation", base(`, "hidden_activation": "silu"`), "hidden_activation"},
		{"untied", base(`, "tie_word_embeddings": false`), "tie_word_embeddings"},
		{"rope type", base(`, "rope_parameters": {"full_attention": {"rope_type": "yarn", "rope_theta": 1e6}}`), "rope_type"},
		{"rope scaling", base(`, "rope_scaling": {"rope_type": "linear", "factor": 2}`), "rope_scaling"},
		{"eos", base(`, "eos_token_id": [1, 999999]`), "eos_token_id"},
		{"eos type", base(`, "eos_token_id": "x"`), "eos_token_id"},
		{"attention bias", base(`, "attention_bias": true`), "attention_bias"},
		{"huge", base(`, "hidden_size": 1000000000`), "implausibly large"},
		{"zero layers", `{"num_hidden_layers": 0}`, "num_hidden_layers"},
		{"eps", base(`, "rms_norm_eps": 0`), "rms_norm_eps"},
		{"text_config error", `{"model_type": "gemma3n", "text_config": {"head_dim": 3}}`, "text_config"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(c.json))
			if err == nil {
				t.Fatalf("no error for %s", c.json)
			}
			if !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error %q does not mention %q", err, c.wantErr)
			}
		})
	}
}

func TestLoadConfigDirAddsGenerationStopIDs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(ConfigFileName, `{"num_hidden_layers": 5, "num_kv_shared_layers": 0}`)
	write(GenerationConfigFileName, `{"eos_token_id": [1, 106]}`)
	cfg, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.EOSTokenIDs, []int{1, 106}) {
		t.Errorf("EOS ids %v, want [1 106]", cfg.EOSTokenIDs)
	}
	write(GenerationConfigFileName, `{"eos_token_id": "x"}`)
	if _, err := LoadConfig(dir); err == nil || !strings.Contains(err.Error(), GenerationConfigFileName) {
		t.Errorf("bad generation config: error %v", err)
	}
	if _, err := LoadConfig(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing path: no error")
	}
}

func TestConfigJSONRoundTrip(t *testing.T) {
	for _, name := range PresetNames() {
		cfg, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("preset %s: %v", name, err)
		}
		data, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseConfig(data)
		if err != nil {
			t.Fatalf("preset %s: reparse: %v\n%s", name, err, data)
		}
		if !reflect.DeepEqual(back, cfg) {
			t.Errorf("preset %s round trip:\n got  %+v\n want %+v", name, back, cfg)
		}
	}
	if _, err := Preset("huge"); err == nil {
		t.Error("unknown preset: no error")
	}
}

func TestTinyPresetUsesFullVocab(t *testing.T) {
	cfg, _ := Preset("tiny")
	if cfg.VocabSize != TinyVocabSize || cfg.VocabSizePerLayerInput != TinyVocabSize {
		t.Errorf("tiny vocab %d/%d, want the tiny tokenizer's %d", cfg.VocabSize, cfg.VocabSizePerLayerInput, TinyVocabSize)
	}
}

func TestInverseNormalCDF(t *testing.T) {
	// Φ⁻¹(0.95) (spec §3.7) and symmetric points.
	for _, c := range []struct{ p, want float64 }{{0.95, 1.6448536269514722}, {0.5, 0}, {0.05, -1.6448536269514722}} {
		if got := InverseNormalCDF(c.p); abs(got-c.want) > 1e-12 {
			t.Errorf("Φ⁻¹(%v) = %v, want %v", c.p, got, c.want)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func FuzzParseConfig(f *testing.F) {
	for _, seed := range []string{
		multimodalConfig,
		`{}`,
		`{"num_hidden_layers": 4, "num_kv_shared_layers": 1, "intermediate_size": [1,2,3,4]}`,
		`{"rope_parameters": {"full_attention": {"rope_theta": 5}}}`,
		`{"model_type": "gemma3n", "text_config": null}`,
		`{"eos_token_id": [1, 106], "layer_types": null}`,
	} {
		f.Add([]byte(seed))
	}
	if data, err := os.ReadFile(filepath.Join(tinyDir, ConfigFileName)); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err != nil {
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("ParseConfig accepted an invalid config: %v", err)
		}
		// Whatever parses must survive a round trip through MarshalJSON.
		out, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseConfig(out)
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(back, cfg) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v", cfg, back)
		}
	})
}

func TestRoundToDType(t *testing.T) {
	// Spec §3.7: Φ⁻¹(0.95) in float32 is 1.6448533…; in bfloat16, 1.6484375.
	if got := roundToDType(1.6448533535, dtypes.BFloat16); got != 1.6484375 {
		t.Errorf("bfloat16 z = %v, want 1.6484375", got)
	}
	if got := roundToDType(1.0+1.0/256, dtypes.BFloat16); got != 1 { // a tie rounds to even
		t.Errorf("tie rounds to %v, want 1", got)
	}
	if got := roundToDType(0.1, dtypes.Float32); got != float64(float32(0.1)) {
		t.Errorf("float32 rounding %v", got)
	}
}
