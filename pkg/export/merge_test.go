package export

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

// multimodalBase writes the fixture model as the official E2B checkpoint
// lays a model out: text tensors under "model.language_model.", a vision
// tensor beside them, bfloat16, in three shards with an index.
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
	vision := make([]byte, 2*3*5)
	for i := range vision {
		vision[i] = byte(i * 7)
	}
	entries = append(entries, safetensors.Entry{Name: "model.vision_tower.timm_model.conv_stem.conv.weight", DType: safetensors.BF16, Shape: []int{3, 5}, Data: vision})
	if err := safetensors.WriteSharded(dir, entries, map[string]string{"format": "pt"}, total/3+1); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"config.json", "generation_config.json", "tokenizer.json"} {
		if err := atomicfile.CopyFile(filepath.Join(fixtureModel, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestMergeCheckpoint(t *testing.T) {
	for _, tc := range []struct {
		name     string
		base     func(t *testing.T) string
		dtype    dtypes.DType
		sharded  bool
		logitTol float64
	}{
		{"single float32 file", func(*testing.T) string { return fixtureModel }, dtypes.Float32, false, 1e-4},
		{"sharded bfloat16 multimodal", multimodalBase, dtypes.BFloat16, true, verifyTolBFloat16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := tc.base(t)
			out := filepath.Join(t.TempDir(), "merged")
			res, err := Merge(t.Context(), MergeOptions{Model: base, Adapter: fixtureAdapter, Out: out, Verify: true, Backend: testutil.Backend(t), Logger: testutil.QuietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			if res.MaxLogitDiff == nil || *res.MaxLogitDiff > tc.logitTol {
				t.Errorf("verification: max |Δlogit| %v, want ≤ %g", deref(res.MaxLogitDiff), tc.logitTol)
			}

			// Every tensor of the base, by name, dtype and shape; only the
			// adapted projections changed.
			before, after := readTensors(t, base), readTensors(t, out)
			if len(after) != len(before) || res.Tensors != len(before) {
				t.Fatalf("%d tensors written (result says %d), the base has %d", len(after), res.Tensors, len(before))
			}
			changed := 0
			for name, b := range before {
				a, ok := after[name]
				if !ok {
					t.Fatalf("tensor %s of the base is missing", name)
				}
				if a.info.DType != b.info.DType || !slices.Equal(a.info.Shape, b.info.Shape) {
					t.Errorf("%s: %s%v, the base has %s%v", name, a.info.DType, a.info.Shape, b.info.DType, b.info.Shape)
				}
				adapted := strings.Contains(name, "self_attn.") && strings.HasSuffix(name, "_proj.weight")
				same := bytes.Equal(a.data, b.data)
				if same == adapted && !(adapted && kvShared(name)) {
					t.Errorf("%s: adapted %v, unchanged %v", name, adapted, same)
				}
				if !same {
					changed++
				}
			}
			if changed != res.MergedTensors || changed == 0 {
				t.Errorf("%d tensors changed, %d merged", changed, res.MergedTensors)
			}
			_, indexErr := os.Stat(filepath.Join(out, safetensors.IndexFileName))
			if tc.sharded != (indexErr == nil) || tc.sharded != (res.Shards > 1) {
				t.Errorf("sharded %v: index %v, %d shards", tc.sharded, indexErr, res.Shards)
			}
			for _, name := range []string{"config.json", "generation_config.json", "tokenizer.json"} {
				want, _ := os.ReadFile(filepath.Join(base, name))
				got, err := os.ReadFile(filepath.Join(out, name))
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s not copied from the base (%v)", name, err)
				}
			}
			var info MergeResult
			if err := readJSON(filepath.Join(out, MergeInfoFileName), &info); err != nil || info.Tensors != res.Tensors || !slices.Contains(info.Files, MergeInfoFileName) {
				t.Errorf("merge_info.json: %+v (%v)", info, err)
			}

			// Reloaded, the merged model reproduces the adapter model, and
			// does so better than the base model without the adapter.
			merged, err := gemma3n.Load(out, tc.dtype)
			if err != nil {
				t.Fatal(err)
			}
			ids := VerifyIDs(out, merged.Config.VocabSize)
			want := scoreWithAdapter(t, base, fixtureAdapter, tc.dtype, ids)
			plain, err := gemma3n.Load(base, tc.dtype)
			if err != nil {
				t.Fatal(err)
			}
			got, without := score(t, merged, ids), score(t, plain, ids)
			d, dBase := testutil.MaxAbsDiff(want, got), testutil.MaxAbsDiff(want, without)
			t.Logf("max |Δlogit|: merged %.3g, base without adapter %.3g", d, dBase)
			if d > tc.logitTol || !(d < dBase/4) {
				t.Errorf("merged logits differ from the adapter model's by %g (the base's by %g)", d, dBase)
			}
		})
	}
}

// kvShared reports whether a K/V projection belongs to the fixture's
// KV-shared layers (4 and 5), which adapters skip.
func kvShared(name string) bool {
	return (strings.Contains(name, "layers.4.") || strings.Contains(name, "layers.5.")) &&
		(strings.Contains(name, "k_proj") || strings.Contains(name, "v_proj"))
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
	for _, name := range []string{safetensors.SingleFileName, "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "NOTICE", MergeInfoFileName} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("merged preset: %v", err)
		}
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
	if d := testutil.MaxAbsDiff(scoreWithAdapter(t, "tiny", adapter, dtypes.Float32, ids), score(t, merged, ids)); d > 1e-4 {
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
