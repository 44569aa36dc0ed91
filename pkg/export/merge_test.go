package export

import (
	"bytes"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil/modeltest"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safety"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

// multimodalBase writes the fixture model as the official E2B checkpoint
// lays a model out: a Gemma3nForConditionalGeneration config.json with the
// fixture's as text_config, text tensors under "model.language_model." in
// bfloat16 with K/V weights on the KV-shared layers too, vision and audio
// tower tensors beside them (one in float32), in three shards with an
// index.
func multimodalBase(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ck, err := safetensors.OpenCheckpoint(fixtureModel)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	var entries []safetensors.Entry
	var total int64
	for _, name := range ck.Names() {
		x, err := ck.Tensor(name, dtypes.BFloat16)
		if err != nil {
			t.Fatal(err)
		}
		e, err := safetensors.EntryFromTensor("model.language_model."+strings.TrimPrefix(name, "model."), x, safetensors.BF16)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
		total += int64(len(e.Data))
	}
	filler := func(name string, dtype safetensors.DType, shape ...int) safetensors.Entry {
		n := dtype.Size()
		for _, d := range shape {
			n *= d
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7 + len(name))
		}
		return safetensors.Entry{Name: name, DType: dtype, Shape: shape, Data: b}
	}
	for _, l := range []int{4, 5} { // the KV-shared layers: K/V the model never reads
		p := "model.language_model.layers." + string(rune('0'+l)) + ".self_attn."
		entries = append(entries, filler(p+"k_proj.weight", safetensors.BF16, 32, 64), filler(p+"v_proj.weight", safetensors.BF16, 32, 64),
			filler(p+"k_norm.weight", safetensors.BF16, 16))
	}
	entries = append(entries,
		filler("model.vision_tower.timm_model.conv_stem.conv.weight", safetensors.BF16, 3, 5),
		filler("model.audio_tower.conformer.0.attention.attn.per_dim_scale", safetensors.F32, 8),
		filler("model.embed_vision.embedding.weight", safetensors.BF16, 4, 64))
	if err := safetensors.WriteSharded(dir, entries, map[string]string{"format": "pt"}, total/3+1); err != nil {
		t.Fatal(err)
	}
	var text map[string]any
	if err := atomicfile.ReadJSON(filepath.Join(fixtureModel, "config.json"), &text); err != nil {
		t.Fatal(err)
	}
	delete(text, "architectures")
	top := map[string]any{
		"architectures": []string{ArchMultimodal}, "model_type": "gemma3n", "text_config": text,
		"vision_config": map[string]any{"model_type": "gemma3n_vision"}, "audio_config": map[string]any{"model_type": "gemma3n_audio"},
		"eos_token_id": []int{1, 106},
	}
	if err := atomicfile.WriteJSON(filepath.Join(dir, "config.json"), top); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"generation_config.json", "tokenizer.json"} {
		if err := atomicfile.CopyFile(filepath.Join(fixtureModel, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// shardOf names the file of each tensor of a checkpoint directory.
func shardOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	ck, err := safetensors.OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	out := map[string]string{}
	for _, name := range ck.Names() {
		f, _ := ck.FileOf(name)
		out[name] = filepath.Base(f.Path())
	}
	return out
}

func TestMergeCheckpoint(t *testing.T) {
	for _, tc := range []struct {
		name     string
		base     func(t *testing.T) string
		textOnly bool
		dtype    dtypes.DType
		arch     string
		sharded  bool
		logitTol float64
	}{
		{"single float32 text file", func(*testing.T) string { return fixtureModel }, false, dtypes.Float32, ArchText, false, 1e-4},
		{"official multimodal layout", multimodalBase, false, dtypes.BFloat16, ArchMultimodal, true, verifyTolBFloat16},
		{"text-only from the multimodal layout", multimodalBase, true, dtypes.BFloat16, ArchText, true, verifyTolBFloat16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := tc.base(t)
			out := filepath.Join(t.TempDir(), "merged")
			res, err := Merge(t.Context(), MergeOptions{Model: base, Adapter: fixtureAdapter, Out: out, TextOnly: tc.textOnly,
				Verify: true, Backend: testutil.Backend(t), Logger: testutil.QuietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			if res.MaxLogitDiff == nil || *res.MaxLogitDiff > tc.logitTol || res.Architecture != tc.arch {
				t.Errorf("verification: max |Δlogit| %v, want ≤ %g; architecture %s", deref(res.MaxLogitDiff), tc.logitTol, res.Architecture)
			}

			// Every tensor the layout keeps, by name, dtype and shape; only
			// the adapted projections changed.
			before, after := readTensors(t, base), readTensors(t, out)
			kept := 0
			changed := 0
			for name, b := range before {
				outName := name
				if tc.textOnly {
					text, ok := gemma3n.TextTensorName(name)
					if !ok || kvShared(name) {
						if _, there := after["model."+strings.TrimPrefix(text, "model.")]; ok && there {
							t.Errorf("%s was written in the text-only layout", name)
						}
						continue
					}
					outName = "model." + text
				}
				a, ok := after[outName]
				if !ok {
					t.Fatalf("tensor %s of the base is missing (as %s)", name, outName)
				}
				kept++
				if a.info.DType != b.info.DType || !slices.Equal(a.info.Shape, b.info.Shape) {
					t.Errorf("%s: %s%v, the base has %s%v", name, a.info.DType, a.info.Shape, b.info.DType, b.info.Shape)
				}
				adapted := strings.Contains(name, "self_attn.") && strings.HasSuffix(name, "_proj.weight") && !kvShared(name)
				same := bytes.Equal(a.data, b.data)
				if same == adapted {
					t.Errorf("%s: adapted %v, unchanged %v", name, adapted, same)
				}
				if !same {
					changed++
				}
			}
			if len(after) != kept || res.Tensors != kept {
				t.Fatalf("%d tensors written (result says %d), want %d", len(after), res.Tensors, kept)
			}
			if changed != res.MergedTensors || changed == 0 {
				t.Errorf("%d tensors changed, %d merged", changed, res.MergedTensors)
			}
			_, indexErr := os.Stat(filepath.Join(out, safetensors.IndexFileName))
			if tc.sharded != (indexErr == nil) || tc.sharded != (res.Shards > 1) {
				t.Errorf("sharded %v: index %v, %d shards", tc.sharded, indexErr, res.Shards)
			}
			if tc.arch == ArchMultimodal {
				if got, want := shardOf(t, out), shardOf(t, base); !maps.Equal(got, want) {
					t.Errorf("sharding differs from the base's:\n got %v\nwant %v", got, want)
				}
			}
			copied := []string{"generation_config.json", "tokenizer.json"}
			if !tc.textOnly {
				copied = append(copied, "config.json")
			}
			for _, name := range copied {
				want, _ := os.ReadFile(filepath.Join(base, name))
				got, err := os.ReadFile(filepath.Join(out, name))
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s not copied from the base (%v)", name, err)
				}
			}
			var cfgJSON struct {
				Architectures []string `json:"architectures"`
			}
			if err := atomicfile.ReadJSON(filepath.Join(out, "config.json"), &cfgJSON); err != nil || !slices.Equal(cfgJSON.Architectures, []string{tc.arch}) {
				t.Errorf("config.json architectures %v (%v), want %s", cfgJSON.Architectures, err, tc.arch)
			}
			var info MergeResult
			if err := atomicfile.ReadJSON(filepath.Join(out, MergeInfoFileName), &info); err != nil || info.Tensors != res.Tensors || !slices.Contains(info.Files, MergeInfoFileName) {
				t.Errorf("merge_info.json: %+v (%v)", info, err)
			}

			// Reloaded, the merged model reproduces the adapter model, and
			// does so better than the base model without the adapter.
			merged, err := gemma3n.Load(out, tc.dtype)
			if err != nil {
				t.Fatal(err)
			}
			ids := VerifyIDs(out, merged.Config.VocabSize)
			want := modeltest.AdapterLogits(t, base, fixtureAdapter, tc.dtype, ids)
			plain, err := gemma3n.Load(base, tc.dtype)
			if err != nil {
				t.Fatal(err)
			}
			got, without := modeltest.Logits(t, merged, ids), modeltest.Logits(t, plain, ids)
			d, dBase := testutil.MaxAbsDiff(want, got), testutil.MaxAbsDiff(want, without)
			t.Logf("max |Δlogit|: merged %.3g, base without adapter %.3g", d, dBase)
			if d > tc.logitTol || !(d < dBase/4) {
				t.Errorf("merged logits differ from the adapter model's by %g (the base's by %g)", d, dBase)
			}
		})
	}
}

// kvShared reports whether a K/V projection or norm belongs to the
// fixture's KV-shared layers (4 and 5), which adapters skip.
func kvShared(name string) bool {
	return (strings.Contains(name, "layers.4.") || strings.Contains(name, "layers.5.")) &&
		(strings.Contains(name, "k_proj") || strings.Contains(name, "v_proj") || strings.Contains(name, "k_norm"))
}

// presetAdapter saves an adapter for the tiny preset with non-zero B.
func presetAdapter(t *testing.T) string {
	t.Helper()
	m, err := gemma3n.Open("tiny", dtypes.Float32)
	if err != nil {
		t.Fatal(err)
	}
	a, err := lora.New(m, lora.Config{R: 4, Alpha: 8, TargetModules: []string{"q_proj", "v_proj", "o_proj"}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, mod := range a.Modules() {
		_, b := a.Variables(mod.Name)
		vals := make([]float32, mod.Out*mod.Rank)
		for i := range vals {
			vals[i] = float32(rng.NormFloat64() * 0.05)
		}
		if err := b.SetValue(tensors.FromFlatDataAndDimensions(vals, mod.Out, mod.Rank)); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(t.TempDir(), "adapter")
	if err := a.Save(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestMergePreset(t *testing.T) {
	adapter := presetAdapter(t)
	out := filepath.Join(t.TempDir(), "merged")
	res, err := Merge(t.Context(), MergeOptions{Model: "tiny", Adapter: adapter, Out: out, Verify: true, Backend: testutil.Backend(t), Logger: testutil.QuietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if res.BaseDir != "" || res.Shards != 1 || res.MergedTensors != 10 || // q, v, o of 4 layers, less v of the 2 KV-shared ones
		res.DType != "float32" || res.Tokenizer != tokenizer.TinyName {
		t.Errorf("result %+v", res)
	}
	testutil.WantFiles(t, out, safetensors.SingleFileName, "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "NOTICE", ModelCardFileName, MergeInfoFileName)
	card, err := os.ReadFile(filepath.Join(out, ModelCardFileName))
	if err != nil || !strings.Contains(string(card), safety.Disclaimer) || !strings.Contains(string(card), "not part of these weights") ||
		!strings.HasPrefix(string(card), "---\nbase_model: tiny\n") {
		t.Errorf("the merged model's card lacks the front matter, the disclaimer or the note on the screen (%v):\n%s", err, card)
	}
	cfg, err := gemma3n.LoadConfig(out)
	if err != nil || !slices.Equal(cfg.EOSTokenIDs, []int{1, 106}) || cfg.VocabSize != tokenizer.TinyVocabSize {
		t.Fatalf("config of the merged preset: %+v (%v)", cfg, err)
	}
	tok, err := tokenizer.Load(out)
	if err != nil || tok.VocabSize() != tokenizer.TinyVocabSize {
		t.Fatalf("tokenizer of the merged preset: %v", err)
	}
	merged, err := gemma3n.Load(out, dtypes.Float32)
	if err != nil {
		t.Fatal(err)
	}
	ids := VerifyIDs(out, cfg.VocabSize)
	if d := testutil.MaxAbsDiff(modeltest.AdapterLogits(t, "tiny", adapter, dtypes.Float32, ids), modeltest.Logits(t, merged, ids)); d > 1e-4 {
		t.Errorf("reloaded merged preset: max |Δlogit| %g", d)
	}

}

func TestMergeRejects(t *testing.T) {
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts MergeOptions
		want string
	}{
		{"missing flags", MergeOptions{Model: fixtureModel}, "required"},
		{"output not empty", MergeOptions{Model: fixtureModel, Adapter: fixtureAdapter, Out: full}, "not empty"},
		{"no adapter", MergeOptions{Model: fixtureModel, Adapter: filepath.Join(full, "none"), Out: filepath.Join(full, "o")}, "none"},
		{"adapter of another model", MergeOptions{Model: "tiny", Adapter: fixtureAdapter, Out: filepath.Join(full, "o")}, "lora"},
		{"bad dtype", MergeOptions{Model: "tiny", Adapter: fixtureAdapter, Out: filepath.Join(full, "o"), DType: "int8"}, "dtype"},
		{"no model", MergeOptions{Model: filepath.Join(full, "no-model"), Adapter: fixtureAdapter, Out: filepath.Join(full, "o")}, "no-model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Merge(t.Context(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
			if _, statErr := os.Stat(filepath.Join(full, "o")); statErr == nil {
				t.Error("a failed merge left its output directory")
			}
		})
	}
}
