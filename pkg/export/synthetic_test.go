package export

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
)

// envSyntheticE2B names the directory TestWriteSyntheticE2B fills.
const envSyntheticE2B = "GEMMA3N_SYNTHETIC_E2B"

// patternStream writes n bfloat16 values of a fixed pseudo-random block,
// repeated, with small values (|x| < 0.06): data that costs nothing to
// make and is not all zeros.
func patternStream(n int64, seed uint64) func(w io.Writer) error {
	return func(w io.Writer) error {
		rng := rand.New(rand.NewPCG(seed, 1))
		block := make([]byte, 1<<20)
		for i := 0; i < len(block); i += 2 {
			binary.LittleEndian.PutUint16(block[i:], bfloat16Bits(float32(rng.NormFloat64()*0.02)))
		}
		left := 2 * n
		for left > 0 {
			k := min(left, int64(len(block)))
			if _, err := w.Write(block[:k]); err != nil {
				return err
			}
			left -= k
		}
		return nil
	}
}

// TestWriteSyntheticE2B writes a full-size E2B checkpoint in the official
// multimodal layout (config, text tensors of the manifest under
// "model.language_model." with K/V on the KV-shared layers, vision and
// audio towers, bfloat16, shards of at most 5 GB with an index,
// generation_config.json, no tokenizer files) and a rank-16 adapter on
// every projection into $GEMMA3N_SYNTHETIC_E2B/{base,adapter}. It is a
// tool for measuring merge and export at full size, not a test.
func TestWriteSyntheticE2B(t *testing.T) {
	root := os.Getenv(envSyntheticE2B)
	if root == "" {
		t.Skipf("set %s=DIR to write a synthetic full-size E2B checkpoint (about 11 GB) into DIR", envSyntheticE2B)
	}
	var manifest struct {
		Config  map[string]any   `json:"config"`
		Tensors map[string][]int `json:"tensors"`
	}
	if err := atomicfile.ReadJSON(testutil.Fixture(t, "e2b", "e2b_text_manifest.json"), &manifest); err != nil {
		t.Fatal(err)
	}
	var names []string
	if err := atomicfile.ReadJSON(testutil.Fixture(t, "e2b", "e2b_multimodal_names.json"), &names); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(root, "base")
	var entries []safetensors.Entry
	add := func(name string, shape ...int) {
		n := int64(1)
		for _, d := range shape {
			n *= int64(d)
		}
		entries = append(entries, safetensors.Entry{Name: name, DType: safetensors.BF16, Shape: shape, Stream: patternStream(n, uint64(len(entries)))})
	}
	for name, shape := range manifest.Tensors {
		if name == "lm_head.weight" {
			continue // tied to the embedding
		}
		add("model.language_model."+strings.TrimPrefix(name, "model."), shape...)
	}
	for l := 20; l < 30; l++ {
		p := fmt.Sprintf("model.language_model.layers.%d.self_attn.", l)
		add(p+"k_proj.weight", 512, 2048)
		add(p+"v_proj.weight", 512, 2048)
		add(p+"k_norm.weight", 256)
	}
	towers := 0
	for _, name := range names {
		if !strings.HasPrefix(name, "model.language_model.") && name != "lm_head.weight" {
			towers++
		}
	}
	for _, name := range names {
		if !strings.HasPrefix(name, "model.language_model.") && name != "lm_head.weight" {
			add(name, 1024, 1_000_000_000/1024/towers)
		}
	}
	slices.SortFunc(entries, func(a, b safetensors.Entry) int { return strings.Compare(a.Name, b.Name) })
	if err := safetensors.WriteSharded(base, entries, map[string]string{"format": "pt"}, 5_000_000_000); err != nil {
		t.Fatal(err)
	}
	text := manifest.Config
	text["model_type"] = "gemma3n_text"
	cfg := map[string]any{
		"architectures": []string{ArchMultimodal}, "model_type": "gemma3n", "text_config": text,
		"vision_config": map[string]any{"model_type": "gemma3n_vision"}, "audio_config": map[string]any{"model_type": "gemma3n_audio"},
		"eos_token_id": []int{1, 106}, "torch_dtype": "bfloat16",
	}
	gen := map[string]any{"bos_token_id": 2, "eos_token_id": []int{1, 106}, "pad_token_id": 0, "top_k": 64, "top_p": 0.95, "do_sample": true}
	for file, v := range map[string]any{"config.json": cfg, "generation_config.json": gen} {
		if err := atomicfile.WriteJSON(filepath.Join(base, file), v); err != nil {
			t.Fatal(err)
		}
	}

	// The adapter: rank 16 on q, k, v, o (k and v only where the layer
	// owns its K/V) and the MLP, PEFT's names in the multimodal layout.
	adapter := filepath.Join(root, "adapter")
	var ad []safetensors.Entry
	const r = 16
	for l := range 30 {
		for _, m := range []struct {
			name    string
			in, out int
		}{{"self_attn.q_proj", 2048, 2048}, {"self_attn.k_proj", 2048, 512}, {"self_attn.v_proj", 2048, 512}, {"self_attn.o_proj", 2048, 2048},
			{"mlp.gate_proj", 2048, 8192}, {"mlp.up_proj", 2048, 8192}, {"mlp.down_proj", 8192, 2048}} {
			if l >= 20 && (m.name == "self_attn.k_proj" || m.name == "self_attn.v_proj") {
				continue
			}
			p := fmt.Sprintf("base_model.model.model.language_model.layers.%d.%s.", l, m.name)
			ad = append(ad,
				safetensors.Entry{Name: p + "lora_A.weight", DType: safetensors.F32, Shape: []int{r, m.in}, Data: f32Pattern(r*m.in, uint64(len(ad)))},
				safetensors.Entry{Name: p + "lora_B.weight", DType: safetensors.F32, Shape: []int{m.out, r}, Data: f32Pattern(m.out*r, uint64(len(ad)+1))})
		}
	}
	if err := os.MkdirAll(adapter, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := safetensors.Write(filepath.Join(adapter, "adapter_model.safetensors"), ad, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	pc, _ := json.Marshal(map[string]any{"peft_type": "LORA", "r": r, "lora_alpha": 32, "lora_dropout": 0.0,
		"target_modules": []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}, "bias": "none", "task_type": "CAUSAL_LM"})
	if err := atomicfile.WriteBytes(filepath.Join(adapter, "adapter_config.json"), pc); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s and %s", base, adapter)
}

// f32Pattern is n small pseudo-random float32 values.
func f32Pattern(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 2))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64() * 0.01)
	}
	b := make([]byte, 4*n)
	encodeFloat32s(b, v)
	return b
}
