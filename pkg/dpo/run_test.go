package dpo

import (
	stdcontext "context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/compute/dtypes"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// smallConfig is the shipped configuration shrunk for a CPU test: short
// sequences, one pair per step, a small adapter.
func smallConfig(t testing.TB) *config.All {
	t.Helper()
	cfg := config.Default()
	if err := cfg.Apply(
		"dpo.max_length=48", "dpo.max_prompt_length=24", "dpo.per_device_train_batch_size=1",
		"dpo.gradient_accumulation_steps=1", "dpo.learning_rate=1e-3", "dpo.warmup_ratio=0",
		"training.per_device_eval_batch_size=2", "training.logging_steps=1", "training.save_steps=2",
		"lora.r=4", "lora.lora_alpha=8", "lora.lora_dropout=0",
	); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func textPairs(n int, prefix string) []data.PreferencePair {
	questions := []string{"I can't sleep at night.", "My sister and I fight a lot.", "Should I change jobs?", "I feel anxious at school."}
	pairs := make([]data.PreferencePair, n)
	for i := range pairs {
		pairs[i] = data.PreferencePair{
			ID:       prefix + string(rune('a'+i)),
			Prompt:   userPrompt(questions[i%len(questions)]),
			Chosen:   "It sounds like this has been weighing on you. What feels hardest right now?",
			Rejected: "Just stop worrying.",
		}
	}
	return pairs
}

// The whole stage on the tiny fixture model with the SFT adapter and a
// small byte-fallback tokenizer in the model directory: it trains,
// evaluates, writes the run directory (resolved config, metrics,
// checkpoints, PEFT adapters, summary), and a resumed run continues from
// the last checkpoint.
func TestRun(t *testing.T) {
	runDir := t.TempDir()
	opts := Options{
		Config: smallConfig(t), Model: tinyDir, Adapter: sftAdapter, RunDir: runDir, MaxSteps: 2, DType: dtypes.Float32,
		Backend: testutil.Backend(t), TrainPairs: textPairs(3, "t"), EvalPairs: textPairs(2, "e"),
		Reporting: train.Reporting{NoProgress: true, Logger: testutil.QuietLogger()},
	}
	var steps []train.StepMetrics
	opts.OnStep = func(m train.StepMetrics) { steps = append(steps, m) }
	res, err := Run(stdcontext.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Train.Steps != 2 || len(steps) != 2 || res.TrainPairs.Pairs != 3 || res.EvalPairs.Pairs != 2 {
		t.Fatalf("steps %d (logged %d), pairs %d/%d", res.Train.Steps, len(steps), res.TrainPairs.Pairs, res.EvalPairs.Pairs)
	}
	// The policy starts as the SFT adapter, which is the reference.
	if math.Abs(steps[0].Loss-math.Ln2) > 1e-5 || steps[0].Metrics[MetricAccuracy] != 0 {
		t.Errorf("first step: loss %v, accuracy %v; want log 2 and 0", steps[0].Loss, steps[0].Metrics[MetricAccuracy])
	}
	if !res.PrecomputedRef || res.Reference != ReferenceSFT || res.ReferenceSeconds <= 0 {
		t.Errorf("reference %q precomputed %v in %vs, want the shipped sft, precomputed", res.Reference, res.PrecomputedRef, res.ReferenceSeconds)
	}
	testutil.WantFiles(t, runDir, stage.ConfigFileName, SummaryFileName, train.MetricsFileName,
		filepath.Join(stage.AdapterDirName, lora.ConfigFileName), filepath.Join(stage.AdapterDirName, lora.WeightsFileName),
		filepath.Join(stage.BestAdapterDirName, lora.WeightsFileName))
	var summary map[string]any
	testutil.ReadJSON(t, filepath.Join(runDir, SummaryFileName), &summary)
	if tr, ok := summary["train"].(map[string]any); !ok || tr["steps"] != float64(2) || summary["reference"] != "sft" {
		t.Errorf("summary %v", summary)
	}
	if s, err := ReadSummary(runDir); err != nil || s.Train.Steps != 2 || s.TrainPairs.Pairs != 3 || s.EvalPairs.Pairs != 2 || s.Adapter != res.Adapter || s.Reference != "sft" {
		t.Errorf("ReadSummary = %+v, %v", s, err)
	}
	if _, err := config.LoadPath(filepath.Join(runDir, stage.ConfigFileName)); err != nil {
		t.Errorf("resolved config: %v", err)
	}
	// The saved adapter loads onto the base model, and differs from the SFT adapter.
	m, err := gemma3n.Load(tinyDir, dtypes.Float32)
	if err != nil {
		t.Fatal(err)
	}
	a, err := lora.Load(m, res.Adapter)
	if err != nil {
		t.Fatalf("loading the DPO adapter: %v", err)
	}
	_, sft := loadTinyWithAdapter(t)
	key := "/layers/0/self_attn/q_proj/lora_B"
	if testutil.MaxAbsDiff(testutil.Snapshot(t, a.Model().Store, key)[key], testutil.Snapshot(t, sft.Model().Store, key)[key]) == 0 {
		t.Error("the saved adapter equals the SFT adapter")
	}
	checkSaveAdaptersKeepsCurrent(t, filepath.Join(train.CheckpointsDir(runDir), "step-00000002"))

	// Resume to step 3.
	opts.Resume, opts.MaxSteps, opts.OnStep = true, 3, nil
	res2, err := Run(stdcontext.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Train.Steps != 3 || filepath.Base(res2.Train.ResumedFrom) != "step-00000002" {
		t.Errorf("resumed run: %d steps from %q", res2.Train.Steps, res2.Train.ResumedFrom)
	}
}

// checkSaveAdaptersKeepsCurrent: writing the best adapter from checkpoint
// (which differs from the SFT adapter) leaves the model with the adapter it
// had, as sft does, and writes each directory with its own values.
func checkSaveAdaptersKeepsCurrent(t *testing.T, checkpoint string) {
	t.Helper()
	m, a := loadTinyWithAdapter(t)
	var keys []string
	for _, mod := range a.Modules() {
		varA, varB := a.Variables(mod.Name)
		keys = append(keys, varA.Path(), varB.Path())
	}
	current := testutil.Snapshot(t, m.Store, keys...)
	res := &Result{RunDir: t.TempDir(), Train: &train.Result{HasBest: true, BestCheckpoint: checkpoint}}
	if err := saveAdapters(a, res); err != nil {
		t.Fatal(err)
	}
	if d := testutil.MaxAbsDiffByName(t, current, testutil.Snapshot(t, m.Store, keys...)); d != 0 {
		t.Errorf("after saveAdapters the model's adapter differs from the one it had by %g: the best checkpoint's values were left in it", d)
	}
	for dir, wantSame := range map[string]bool{res.Adapter: true, res.BestAdapter: false} {
		saved, err := gemma3n.Load(tinyDir, dtypes.Float32)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lora.Load(saved, dir); err != nil {
			t.Fatal(err)
		}
		d := testutil.MaxAbsDiffByName(t, current, testutil.Snapshot(t, saved.Store, keys...))
		if (d == 0) != wantSame {
			t.Errorf("%s differs from the model's adapter by %g", filepath.Base(dir), d)
		}
	}
}

// The tiny preset: the full Gemma vocabulary and tokenizer, a fresh
// adapter, the base model as the in-graph reference.
func TestRunTinyPreset(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the tiny preset end to end")
	}
	start := time.Now()
	cfg := smallConfig(t)
	if err := cfg.Apply("dpo.reference=base", "dpo.precompute_ref_log_probs=false"); err != nil {
		t.Fatal(err)
	}
	var steps []train.StepMetrics
	res, err := Run(stdcontext.Background(), Options{
		Config: cfg, Model: "tiny", RunDir: t.TempDir(), MaxSteps: 1, DType: dtypes.Float32,
		Backend: testutil.Backend(t), TrainPairs: textPairs(2, "t"),
		Reporting: train.Reporting{
			NoProgress: true, Logger: testutil.QuietLogger(),
			OnStep: func(m train.StepMetrics) { steps = append(steps, m) },
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("1 step in %v (%d compilations)", time.Since(start).Round(time.Millisecond), res.Train.Compilations)
	if len(steps) != 1 || math.Abs(steps[0].Loss-math.Ln2) > 1e-4 || res.PrecomputedRef {
		t.Errorf("steps %+v, precomputed %v: want one step at log 2 with the in-graph reference", steps, res.PrecomputedRef)
	}
}

func TestRunErrors(t *testing.T) {
	if _, err := Run(stdcontext.Background(), Options{Model: "tiny"}); err == nil {
		t.Error("no config: want an error")
	}
	cfg := smallConfig(t)
	bad := *cfg
	bad.DPO.Beta = -1
	if _, err := Run(stdcontext.Background(), Options{Config: &bad, Model: "tiny", RunDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "beta") {
		t.Errorf("bad beta: %v", err)
	}
	// The fixture model's 512 ids cannot hold the Gemma tokenizer's.
	_, err := Run(stdcontext.Background(), Options{
		Config: cfg, Model: tinyDir, Adapter: sftAdapter, RunDir: t.TempDir(), DType: dtypes.Float32, Tokenizer: gemmaTokenizer(t),
		Backend: testutil.Backend(t), TrainPairs: textPairs(2, "t"), Reporting: train.Reporting{NoProgress: true, Logger: testutil.QuietLogger()},
	})
	if err == nil || !strings.Contains(err.Error(), "outside the model's vocabulary of 512") {
		t.Errorf("vocabulary mismatch: %v", err)
	}
	// Pairs that cannot be encoded.
	_, err = Run(stdcontext.Background(), Options{
		Config: cfg, Model: tinyDir, RunDir: t.TempDir(), DType: dtypes.Float32, Backend: testutil.Backend(t),
		TrainPairs: []data.PreferencePair{{ID: "x", Chosen: "a", Rejected: "b"}}, Reporting: train.Reporting{NoProgress: true, Logger: testutil.QuietLogger()},
	})
	if err == nil || !strings.Contains(err.Error(), "pair x: the prompt must end with a user message") {
		t.Errorf("unencodable pairs: %v", err)
	}
}
