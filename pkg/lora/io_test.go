package lora

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
)

// TestFixtureRoundTrip loads PEFT's files and saves them again: both come
// out byte for byte as PEFT wrote them.
func TestFixtureRoundTrip(t *testing.T) {
	a, err := Load(loadTiny(t, dtypes.Float32), fixtureAdapter)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.NumTrainable(); got != 9216 {
		t.Errorf("fixture adapter: %d trainable parameters, want 9216", got)
	}
	cfg := a.Config()
	if cfg.R != 4 || cfg.Alpha != 8 || cfg.Dropout != 0 || cfg.UseRSLoRA ||
		!slices.Equal(cfg.TargetModules, []string{"o_proj", "q_proj", "k_proj", "v_proj"}) {
		t.Errorf("fixture config read as %+v", cfg)
	}
	dir := t.TempDir()
	if err := a.Save(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{ConfigFileName, WeightsFileName} {
		want, err := os.ReadFile(filepath.Join(fixtureAdapter, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from PEFT's (%d vs %d bytes)", name, len(got), len(want))
			if name == ConfigFileName {
				t.Logf("got:\n%s", got)
			}
		}
	}
}

// TestSaveLoadRoundTrip saves a new adapter in both layouts and loads it
// onto a fresh model: tensors are bitwise equal, the configuration and the
// layout survive, and PEFT's tensor names are used.
func TestSaveLoadRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		layout      Layout
		targets     []string
		wantTargets any
		wantPrefix  string
	}{
		{LayoutCausalLM, DefaultTargetModules, []any{"q_proj", "k_proj", "v_proj", "o_proj"}, "base_model.model.model.layers."},
		{LayoutMultimodal, []string{"q_proj", "o_proj"}, nil, "base_model.model.model.language_model.layers."},
		{LayoutCausalLM, []string{`layers\.[01]\.mlp\.(up|down)_proj`}, []any{"layers.0.mlp.up_proj", "layers.0.mlp.down_proj", "layers.1.mlp.up_proj", "layers.1.mlp.down_proj"}, "base_model.model.model.layers."},
	} {
		t.Run(tc.layout.String()+" "+strings.Join(tc.targets, ","), func(t *testing.T) {
			cfg := Config{R: 3, Alpha: 5, Dropout: 0.05, TargetModules: tc.targets, UseRSLoRA: true, BaseModelNameOrPath: "google/gemma-3n-E2B-it", Seed: 9}
			a, err := New(loadTiny(t, dtypes.Float32), cfg)
			if err != nil {
				t.Fatal(err)
			}
			setB(t, a, 0.01)
			a.Layout = tc.layout
			dir := filepath.Join(t.TempDir(), "nested", "adapter")
			if err := a.Save(dir); err != nil {
				t.Fatal(err)
			}

			var written map[string]any
			testutil.ReadJSON(t, filepath.Join(dir, ConfigFileName), &written)
			for key, want := range map[string]any{
				"peft_type": "LORA", "r": 3.0, "lora_alpha": 5.0, "lora_dropout": 0.05, "use_rslora": true,
				"bias": "none", "task_type": "CAUSAL_LM", "fan_in_fan_out": false, "use_dora": false,
				"base_model_name_or_path": "google/gemma-3n-E2B-it", "inference_mode": true,
			} {
				if !reflect.DeepEqual(written[key], want) {
					t.Errorf("%s: %s = %v, want %v", ConfigFileName, key, written[key], want)
				}
			}
			if len(written) != len(peftDefaults) {
				t.Errorf("%s has %d fields, PEFT writes %d", ConfigFileName, len(written), len(peftDefaults))
			}
			wantTargets := tc.wantTargets
			if wantTargets == nil { // multimodal: explicit module list under language_model
				var list []any
				for _, m := range a.Modules() {
					list = append(list, "language_model."+m.Name)
				}
				wantTargets = list
			}
			if !reflect.DeepEqual(written["target_modules"], wantTargets) {
				t.Errorf("target_modules = %v, want %v", written["target_modules"], wantTargets)
			}

			ck, err := safetensors.OpenCheckpoint(filepath.Join(dir, WeightsFileName))
			if err != nil {
				t.Fatal(err)
			}
			names := ck.Names()
			_ = ck.Close()
			if len(names) != 2*len(a.Modules()) {
				t.Fatalf("%d tensors for %d modules", len(names), len(a.Modules()))
			}
			for _, n := range names {
				if !strings.HasPrefix(n, tc.wantPrefix) {
					t.Errorf("tensor %q lacks the prefix %q", n, tc.wantPrefix)
				}
			}

			b, err := Load(loadTiny(t, dtypes.Float32), dir)
			if err != nil {
				t.Fatal(err)
			}
			if b.Layout != tc.layout {
				t.Errorf("loaded layout %v, want %v", b.Layout, tc.layout)
			}
			if !reflect.DeepEqual(b.Modules(), a.Modules()) {
				t.Errorf("modules differ:\n%v\n%v", b.Modules(), a.Modules())
			}
			got := b.Config()
			if got.R != cfg.R || got.Alpha != cfg.Alpha || got.Dropout != cfg.Dropout || got.UseRSLoRA != cfg.UseRSLoRA || got.BaseModelNameOrPath != cfg.BaseModelNameOrPath {
				t.Errorf("config read back as %+v", got)
			}
			for _, m := range a.Modules() {
				a1, b1 := a.Variables(m.Name)
				a2, b2 := b.Variables(m.Name)
				for _, pair := range [][2][]float32{{variableData(t, a1), variableData(t, a2)}, {variableData(t, b1), variableData(t, b2)}} {
					if !bitwiseEqual(pair[0], pair[1]) {
						t.Fatalf("%s: tensors differ after the round trip", m.Name)
					}
				}
			}
			// Saving the loaded adapter again gives the same files.
			dir2 := t.TempDir()
			if err := b.Save(dir2); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{ConfigFileName, WeightsFileName} {
				x, _ := os.ReadFile(filepath.Join(dir, name))
				y, _ := os.ReadFile(filepath.Join(dir2, name))
				if !bytes.Equal(x, y) {
					t.Errorf("%s changed when saved again", name)
				}
			}
			// No temporary files are left behind.
			entries, _ := os.ReadDir(dir)
			if len(entries) != 2 {
				t.Errorf("adapter dir holds %d entries, want 2", len(entries))
			}
		})
	}
}

func bitwiseEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// writeAdapter writes an adapter directory from a config JSON and tensors.
func writeAdapter(t *testing.T, config string, entries map[string][]int) string {
	t.Helper()
	dir := t.TempDir()
	if config != "" {
		if err := os.WriteFile(filepath.Join(dir, ConfigFileName), []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if entries != nil {
		var es []safetensors.Entry
		for name, shape := range entries {
			n := 1
			for _, d := range shape {
				n *= d
			}
			vals := make([]float32, n)
			for i := range vals {
				vals[i] = 0.01 * float32(i%7)
			}
			e, err := safetensors.EntryFromTensor(name, tensors.FromFlatDataAndDimensions(vals, shape...), "F32")
			if err != nil {
				t.Fatal(err)
			}
			es = append(es, e)
		}
		if err := safetensors.Write(filepath.Join(dir, WeightsFileName), es, nil); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const minimalConfig = `{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj"]}`

// qPair are the tensors of layer 0's q_proj adapter in the causal-LM layout.
func qPair(r int) map[string][]int {
	return map[string][]int{
		"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": {r, 64},
		"base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight": {64, r},
	}
}

func with(m map[string][]int, name string, shape ...int) map[string][]int {
	out := map[string][]int{}
	for k, v := range m {
		out[k] = v
	}
	if shape == nil {
		delete(out, name)
	} else {
		out[name] = shape
	}
	return out
}

func TestLoadErrors(t *testing.T) {
	const qA = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"
	const qB = "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"
	for _, tc := range []struct {
		name    string
		config  string
		tensors map[string][]int
		want    []string
	}{
		{"no config", "", qPair(4), []string{ConfigFileName}},
		{"no weights", minimalConfig, nil, []string{WeightsFileName}},
		{"bad json", "{\n  \"r\": 4,\n  oops\n}", qPair(4), []string{ConfigFileName, "line 3, column 3"}},
		{"not an object", "[1, 2]", qPair(4), []string{ConfigFileName, "line 1"}},
		{"wrong type", `{"peft_type": "LORA", "r": "four"}`, qPair(4), []string{`field "r"`, `"four"`}},
		{"prefix tuning", `{"peft_type": "PREFIX_TUNING"}`, qPair(4), []string{`"PREFIX_TUNING" is not supported`}},
		{"dora", `{"peft_type": "LORA", "r": 4, "use_dora": true}`, qPair(4), []string{`"use_dora"`, "not supported"}},
		{"bias", `{"peft_type": "LORA", "r": 4, "bias": "all"}`, qPair(4), []string{`"bias"`, "not supported"}},
		{"modules_to_save", `{"peft_type": "LORA", "r": 4, "modules_to_save": ["lm_head"]}`, qPair(4), []string{`"modules_to_save"`}},
		{"zero rank", `{"peft_type": "LORA", "r": 0}`, qPair(4), []string{"r = 0"}},
		{"bad target type", `{"peft_type": "LORA", "r": 4, "target_modules": 7}`, qPair(4), []string{`"target_modules"`}},
		{"rank mismatch", minimalConfig, qPair(8), []string{qA, "shape [8 64]", "r = 4"}},
		{"B shape", minimalConfig, with(qPair(4), qB, 32, 4), []string{qB, "shape [32 4]", "want [64 4]"}},
		{"A shape", minimalConfig, with(qPair(4), qA, 4, 63), []string{qA, "want [4 64]"}},
		{"missing B", minimalConfig, with(qPair(4), qB), []string{qA, "no partner", qB}},
		{"unknown module", minimalConfig, with(qPair(4), "base_model.model.model.layers.9.self_attn.q_proj.lora_A.weight", 4, 64), []string{"layers.9.self_attn.q_proj", "not a linear layer"}},
		{"not linear", minimalConfig, with(qPair(4), "base_model.model.model.norm.lora_A.weight", 4, 64), []string{`"norm" is not a linear layer`}},
		{"dora magnitude", minimalConfig, with(qPair(4), "base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector", 64), []string{"lora_magnitude_vector", "only LoRA A/B"}},
		{"foreign name", minimalConfig, with(qPair(4), "model.layers.0.self_attn.q_proj.weight", 64, 64), []string{"model.layers.0.self_attn.q_proj.weight", "not a PEFT adapter tensor"}},
		{"mixed layouts", minimalConfig, with(with(qPair(4),
			"base_model.model.model.language_model.layers.1.self_attn.q_proj.lora_A.weight", 4, 64),
			"base_model.model.model.language_model.layers.1.self_attn.q_proj.lora_B.weight", 64, 4), []string{"layout"}},
		{"no text tensors", minimalConfig, map[string][]int{"base_model.model.model.audio_tower.conformer.0.attention.attn.q_proj.lora_A.weight": {4, 8}}, []string{"no LoRA tensors"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeAdapter(t, tc.config, tc.tensors)
			_, err := Load(loadTiny(t, dtypes.Float32), dir)
			if err == nil {
				t.Fatalf("Load succeeded, want an error mentioning %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	t.Run("pickle", func(t *testing.T) {
		dir := writeAdapter(t, minimalConfig, nil)
		if err := os.WriteFile(filepath.Join(dir, "adapter_model.bin"), []byte("PK"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(loadTiny(t, dtypes.Float32), dir); err == nil || !strings.Contains(err.Error(), "safe_serialization") {
			t.Errorf("error %v, want advice to re-save as safetensors", err)
		}
	})
}

// TestLoadSkips: adapters of dead K/V projections (older transformers kept
// those modules) and of the audio tower are skipped with warnings.
func TestLoadSkips(t *testing.T) {
	tens := qPair(4)
	for _, proj := range []string{"k_proj", "v_proj"} {
		tens["base_model.model.model.layers.5.self_attn."+proj+".lora_A.weight"] = []int{4, 64}
		tens["base_model.model.model.layers.5.self_attn."+proj+".lora_B.weight"] = []int{32, 4}
	}
	tens["base_model.model.model.audio_tower.conformer.0.attention.attn.q_proj.lora_A.weight"] = []int{4, 8}
	tens["base_model.model.model.audio_tower.conformer.0.attention.attn.q_proj.lora_B.weight"] = []int{8, 4}
	a, err := Load(loadTiny(t, dtypes.Float32), writeAdapter(t, minimalConfig, tens))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Modules()) != 1 || a.Modules()[0].Name != "layers.0.self_attn.q_proj" {
		t.Errorf("modules %v, want only layers.0.self_attn.q_proj", a.Modules())
	}
	w := strings.Join(a.Warnings(), "\n")
	for _, want := range []string{"vision/audio", "layers.5.self_attn.k_proj", "layers.5.self_attn.v_proj", "KV-shared"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings %q do not mention %q", a.Warnings(), want)
		}
	}
}

// TestLoadRankPattern reads per-module ranks and alphas.
func TestLoadRankPattern(t *testing.T) {
	config := `{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "o_proj"],
	  "rank_pattern": {"o_proj": 2}, "alpha_pattern": {"layers.0.self_attn.o_proj": 1.5}}`
	tens := with(with(qPair(4),
		"base_model.model.model.layers.0.self_attn.o_proj.lora_A.weight", 2, 64),
		"base_model.model.model.layers.0.self_attn.o_proj.lora_B.weight", 64, 2)
	a, err := Load(loadTiny(t, dtypes.Float32), writeAdapter(t, config, tens))
	if err != nil {
		t.Fatal(err)
	}
	want := []Module{
		{Name: "layers.0.self_attn.q_proj", In: 64, Out: 64, Rank: 4, Alpha: 8, Scale: 2},
		{Name: "layers.0.self_attn.o_proj", In: 64, Out: 64, Rank: 2, Alpha: 1.5, Scale: 0.75},
	}
	if !reflect.DeepEqual(a.Modules(), want) {
		t.Errorf("modules %+v, want %+v", a.Modules(), want)
	}
}

func TestLayoutOf(t *testing.T) {
	got, err := LayoutOf(tinyDir)
	if err != nil || got != LayoutCausalLM {
		t.Errorf("LayoutOf(%s) = %v, %v; want %v", tinyDir, got, err, LayoutCausalLM)
	}
	for _, tc := range []struct {
		names []string
		want  Layout
		err   bool
	}{
		{[]string{"model.language_model.layers.0.self_attn.q_proj.weight", "model.audio_tower.x"}, LayoutMultimodal, false},
		{[]string{"model.embed_tokens.weight", "model.layers.0.mlp.up_proj.weight"}, LayoutCausalLM, false},
		{[]string{"lm_head.weight"}, 0, true},
	} {
		got, err := layoutOfNames("test", tc.names)
		if (err != nil) != tc.err || (!tc.err && got != tc.want) {
			t.Errorf("layoutOfNames(%q) = %v, %v; want %v (error %v)", tc.names, got, err, tc.want, tc.err)
		}
	}
}

func TestParseTensorName(t *testing.T) {
	for _, tc := range []struct {
		name    string
		module  string
		isB     bool
		layout  Layout
		errPart string
	}{
		{"base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight", "layers.3.self_attn.q_proj", false, LayoutCausalLM, ""},
		{"base_model.model.model.layers.3.mlp.down_proj.lora_B.weight", "layers.3.mlp.down_proj", true, LayoutCausalLM, ""},
		{"base_model.model.model.language_model.layers.29.self_attn.o_proj.lora_B.weight", "layers.29.self_attn.o_proj", true, LayoutMultimodal, ""},
		{"base_model.model.model.vision_tower.timm_model.blocks.0.lora_A.weight", "", false, 0, "not part of the text decoder"},
		{"base_model.model.model.audio_tower.conformer.0.attention.attn.q_proj.lora_B.weight", "", false, 0, "not part of the text decoder"},
		{"base_model.model.lm_head.lora_A.weight", "", false, 0, "expected"},
		{"base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight", "", false, 0, "only LoRA A/B"},
		{"base_model.model.model.layers.0.self_attn.q_proj.lora_embedding_A", "", false, 0, "only LoRA A/B"},
		{"model.layers.0.self_attn.q_proj.weight", "", false, 0, "not a PEFT adapter tensor"},
		{"base_model.model.model..lora_A.weight", "", false, 0, "empty module path"},
	} {
		module, isB, layout, err := parseTensorName(tc.name)
		if tc.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errPart) || !strings.Contains(err.Error(), tc.name) {
				t.Errorf("parseTensorName(%q): error %v, want one naming the tensor and containing %q", tc.name, err, tc.errPart)
			}
			continue
		}
		if err != nil || module != tc.module || isB != tc.isB || layout != tc.layout {
			t.Errorf("parseTensorName(%q) = %q, %v, %v, %v", tc.name, module, isB, layout, err)
			continue
		}
		if back := layout.TensorName(module, isB); back != tc.name {
			t.Errorf("TensorName round trip: %q → %q", tc.name, back)
		}
	}
}

func TestPyNumber(t *testing.T) {
	for _, tc := range []struct {
		v     float64
		asInt bool
		want  string
	}{
		{8, true, "8"}, {0, false, "0.0"}, {0.1, false, "0.1"}, {0.05, false, "0.05"},
		{1e-5, false, "1e-05"}, {16, false, "16.0"}, {1.5, true, "1.5"},
	} {
		if got := pyNumber(tc.v, tc.asInt); got != tc.want {
			t.Errorf("pyNumber(%v, %v) = %q, want %q", tc.v, tc.asInt, got, tc.want)
		}
	}
}

// FuzzParsePEFTConfig: no input panics; an accepted config re-encodes to
// one that parses to the same settings.
func FuzzParsePEFTConfig(f *testing.F) {
	fixture, err := os.ReadFile(filepath.Join(fixtureAdapter, ConfigFileName))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{string(fixture), minimalConfig, "", "null", "{}", `{"peft_type": "LORA", "target_modules": "q_proj|v_proj"}`,
		`{"peft_type": "LORA", "r": 1e9}`, `{"peft_type": "LORA", "rank_pattern": {"(": 2}}`, `{"peft_type":"LORA","lora_alpha":-0.0}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parsePEFTConfig("fuzz.json", data)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.json") {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		out, err := encodePEFTConfig(p.raw, p.cfg, nil)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		q, err := parsePEFTConfig("again.json", out)
		if err != nil {
			t.Fatalf("re-encoded config does not parse: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(normalized(q.cfg), normalized(p.cfg)) {
			t.Errorf("settings changed: %+v → %+v", p.cfg, q.cfg)
		}
	})
}

// normalized treats empty and nil pattern maps alike.
func normalized(c Config) Config {
	if len(c.RankPattern) == 0 {
		c.RankPattern = nil
	}
	if len(c.AlphaPattern) == 0 {
		c.AlphaPattern = nil
	}
	return c
}

// FuzzParseTensorName: no name panics; an accepted name round-trips.
func FuzzParseTensorName(f *testing.F) {
	for _, seed := range []string{
		"base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight",
		"base_model.model.model.language_model.layers.0.mlp.up_proj.lora_B.weight",
		"base_model.model.model.audio_tower.x.lora_A.weight", "", "base_model.model.", ".lora_A.weight",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		module, isB, layout, err := parseTensorName(name)
		if err != nil {
			return
		}
		if back := layout.TensorName(module, isB); back != name {
			t.Errorf("%q parsed to (%q, %v, %v), which names %q", name, module, isB, layout, back)
		}
	})
}
