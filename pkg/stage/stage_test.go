package stage

import (
	stdcontext "context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/hub"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
)

func TestParseDType(t *testing.T) {
	for name, want := range map[string]dtypes.DType{
		"float32": dtypes.Float32, "f32": dtypes.Float32, "bfloat16": dtypes.BFloat16, "BF16": dtypes.BFloat16,
	} {
		if got, err := ParseDType(name); err != nil || got != want {
			t.Errorf("ParseDType(%q) = %v, %v; want %v", name, got, err, want)
		}
		if got, _ := ParseDType(name); DTypeName(got) != map[dtypes.DType]string{dtypes.Float32: "float32", dtypes.BFloat16: "bfloat16"}[want] {
			t.Errorf("DTypeName(%v) = %q", got, DTypeName(got))
		}
	}
	if _, err := ParseDType("float16"); err == nil || err.Error() != `dtype "float16": want float32 or bfloat16` {
		t.Errorf("ParseDType(float16) error %v", err)
	}
	if got := DTypeName(dtypes.Float16); got != dtypes.Float16.String() {
		t.Errorf("DTypeName(Float16) = %q, want GoMLX's name %q", got, dtypes.Float16.String())
	}
}

func TestTrainConfigMapsTraining(t *testing.T) {
	tr := config.Default().Training
	tr.MaxSteps, tr.LearningRate, tr.SaveTotalLimit, tr.MaxConsecutiveNaNSteps = 7, 3e-4, 4, 9
	tc := TrainConfig("/run", tr)
	if tc.RunDir != "/run" || tc.Steps != 7 || tc.LearningRate != 3e-4 || tc.KeepLast != 4 || tc.MaxBadSteps != 9 ||
		tc.Seed != tr.Seed || tc.EvalEvery != tr.EvalSteps || tc.CheckpointEvery != tr.SaveSteps || tc.LogEvery != tr.LoggingSteps {
		t.Errorf("TrainConfig = %+v", tc)
	}
}

func TestLoadModel(t *testing.T) {
	ctx := stdcontext.Background()
	lm, err := LoadModel(ctx, "tiny", dtypes.Float32, hub.Options{Offline: true}, gemma3n.WeightOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if lm.Dir != "" || lm.Tokenizer == nil || lm.Model.DType != dtypes.Float32 {
		t.Errorf("preset: dir %q, tokenizer %v, dtype %v", lm.Dir, lm.Tokenizer, lm.Model.DType)
	}
	dir := testutil.TinyModel()
	lm, err = LoadModel(ctx, dir, dtypes.BFloat16, hub.Options{Offline: true}, gemma3n.WeightOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if lm.Dir != dir || lm.Model.DType != dtypes.BFloat16 {
		t.Errorf("directory: dir %q, dtype %v", lm.Dir, lm.Model.DType)
	}
	// A hub id resolves to its snapshot (a local fake hub; no network).
	cache := t.TempDir()
	hubOpts := hub.Options{Endpoint: testutil.FakeHub(t, "test-org/tiny", dir), CacheDir: cache, Token: "none"}
	lm, err = LoadModel(ctx, "test-org/tiny", dtypes.Float32, hubOpts, gemma3n.WeightOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(cache, "models--test-org--tiny", "snapshots", testutil.FakeHubCommit); lm.Dir != want || lm.Tokenizer.Name() != filepath.Join(want, "tokenizer.json") {
		t.Errorf("hub id: dir %q, tokenizer %q; want the snapshot %s", lm.Dir, lm.Tokenizer.Name(), want)
	}
	scratch, err := LoadScratch(ctx, "test-org/tiny", 7, hubOpts, gemma3n.WeightOptions{})
	if err != nil || scratch.Dir != lm.Dir || scratch.Model.Config.VocabSize != lm.Model.Config.VocabSize {
		t.Errorf("LoadScratch of a hub id: %+v, %v", scratch, err)
	}
	if _, err := LoadModel(ctx, "no-such-org/no-such-model", dtypes.Float32, hub.Options{Offline: true, CacheDir: t.TempDir()}, gemma3n.WeightOptions{}); err == nil ||
		!strings.Contains(err.Error(), "no-such-org/no-such-model") {
		t.Errorf("uncached hub id offline: %v", err)
	}
}

func TestResolveConfigDType(t *testing.T) {
	cfg, err := ResolveConfig(ConfigOptions{DType: "BF16", Overrides: []string{"training.bf16=true"}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Model.DType != config.DTypeBFloat16 || !cfg.Training.BF16 || ModelDType(cfg) != config.DTypeBFloat16 {
		t.Errorf("dtype %q, bf16 %v", cfg.Model.DType, cfg.Training.BF16)
	}
	if cfg, err = ResolveConfig(ConfigOptions{DType: "f32"}); err != nil || cfg.Model.DType != config.DTypeFloat32 || cfg.Training.BF16 {
		t.Errorf("f32: %v, %v", cfg, err)
	}
	if _, err := ResolveConfig(ConfigOptions{DType: "float64"}); err == nil || !strings.Contains(err.Error(), `dtype "float64"`) {
		t.Errorf("float64: %v", err)
	}
}
