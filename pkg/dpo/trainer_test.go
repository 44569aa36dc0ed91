package dpo

import (
	stdcontext "context"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

func newTrainer(t *testing.T, model Model, p Params, src train.Source, cfg train.Config, seed uint64) (*train.Trainer, func() map[string][]float32) {
	t.Helper()
	ctx := newToyModel(seed)
	tr, err := train.New(testutil.Backend(t), ctx, mustObjective(t, model, p), src, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Close)
	return tr, func() map[string][]float32 { return testutil.Snapshot(t, ctx, toyTrainable...) }
}

// A short DPO run through pkg/train raises the preference accuracy on its
// training pairs from 0 (the policy starts equal to the reference, so no
// pair is preferred) to nearly 1, with a positive margin, and the loss
// falls below log 2 — with both the in-graph and the precomputed reference.
func TestTrainingRaisesPreferenceAccuracy(t *testing.T) {
	for _, precompute := range []bool{false, true} {
		name := map[bool]string{false: "in-graph reference", true: "precomputed reference"}[precompute]
		t.Run(name, func(t *testing.T) {
			pairs := toyPairs(32, 7, 10)
			cfg := train.LMSourceConfig{BatchSize: 4, MaxLen: 16, Buckets: []int{8, 16}, Shuffle: true, Seed: 2}
			src := mustPairSource(t, pairs, cfg)
			evalCfg := cfg
			evalCfg.Shuffle = false
			evalSrc := mustPairSource(t, pairs, evalCfg)
			model := Model{Policy: toyPolicy, Reference: toyReference}
			if precompute {
				for _, s := range []*PairSource{src, evalSrc} {
					chosen, rejected, err := ComputeReference(testutil.Backend(t), newToyModel(8), toyReference, s, nil)
					if err != nil {
						t.Fatal(err)
					}
					if err := s.SetReference(chosen, rejected); err != nil {
						t.Fatal(err)
					}
				}
				model.Reference = nil
			}
			tc := testTrainConfig(t.TempDir())
			tc.Epochs = 4 // 32 steps
			tc.LearningRate = 0.02
			tc.EvalSets = []train.EvalSet{{Name: "train pairs", Source: evalSrc}}
			tc.EvalAtStart = true
			var evals []train.EvalMetrics
			tc.OnEval = func(m train.EvalMetrics) { evals = append(evals, m) }
			var steps []train.StepMetrics
			tc.OnStep = func(m train.StepMetrics) { steps = append(steps, m) }
			tr, _ := newTrainer(t, model, Params{Beta: 0.5}, src, tc, 8)
			res, err := tr.Run(stdcontext.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(evals) != 2 || res.Steps != 32 {
				t.Fatalf("%d evaluations and %d steps, want 2 and 32", len(evals), res.Steps)
			}
			before, after := evals[0], evals[1]
			t.Logf("accuracy %.3f → %.3f, margin %.3f → %.3f, loss %.4f → %.4f",
				before.Metrics[MetricAccuracy], after.Metrics[MetricAccuracy],
				before.Metrics[MetricMargin], after.Metrics[MetricMargin], before.Loss, after.Loss)
			if before.Metrics[MetricAccuracy] != 0 || math.Abs(before.Loss-math.Ln2) > 1e-5 {
				t.Errorf("before training: accuracy %v and loss %v, want 0 and log 2", before.Metrics[MetricAccuracy], before.Loss)
			}
			if after.Metrics[MetricAccuracy] < 0.9 || after.Metrics[MetricMargin] <= 0 || after.Loss >= 0.5*math.Ln2 {
				t.Errorf("after training: accuracy %v, margin %v, loss %v; want ≥ 0.9, > 0, < log(2)/2",
					after.Metrics[MetricAccuracy], after.Metrics[MetricMargin], after.Loss)
			}
			if after.Weight != 32 {
				t.Errorf("evaluation weight %v, want 32 pairs", after.Weight)
			}
			if steps[0].StepWeight != 4 || steps[0].Metrics[MetricAccuracy] != 0 {
				t.Errorf("first step: weight %v and accuracy %v, want 4 pairs and 0", steps[0].StepWeight, steps[0].Metrics[MetricAccuracy])
			}
		})
	}
}

// A run stopped after step k and resumed from its checkpoint ends with the
// same adapter as an uninterrupted run (the data position, optimizer state
// and dropout RNG all come back), and the metrics log holds each step once.
func TestResume(t *testing.T) {
	pairs := toyPairs(20, 9, 10)
	cfg := train.LMSourceConfig{BatchSize: 3, MaxLen: 16, Buckets: []int{8, 16}, Shuffle: true, GroupByLength: true, Seed: 4}
	model := Model{Policy: toyPolicy, Reference: toyReference}
	p := Params{Beta: 0.3, RPOAlpha: 0.2}
	base := func(runDir string) train.Config {
		tc := testTrainConfig(runDir)
		tc.Steps = 10
		tc.GradAccum = 2 // 7 batches per epoch: steps straddle epochs
		tc.CheckpointEvery = 4
		return tc
	}

	full, fullValues := newTrainer(t, model, p, mustPairSource(t, pairs, cfg), base(t.TempDir()), 10)
	if _, err := full.Run(stdcontext.Background()); err != nil {
		t.Fatal(err)
	}
	want := fullValues()

	runDir := t.TempDir()
	first := base(runDir)
	ctx, cancel := stdcontext.WithCancel(stdcontext.Background())
	first.OnStep = func(m train.StepMetrics) {
		if m.Step == 6 {
			cancel() // killed after step 6; the last checkpoint is step 4
		}
	}
	tr, _ := newTrainer(t, model, p, mustPairSource(t, pairs, cfg), first, 10)
	if _, err := tr.Run(ctx); !errors.Is(err, stdcontext.Canceled) {
		t.Fatalf("interrupted run: %v, want cancellation", err)
	}
	second := base(runDir)
	second.Resume = true
	resumed, resumedValues := newTrainer(t, model, p, mustPairSource(t, pairs, cfg), second, 10)
	res, err := resumed.Run(stdcontext.Background())
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(res.ResumedFrom) != "step-00000004" || res.Steps != 10 {
		t.Fatalf("resumed from %q and ran to step %d, want step-00000004 and 10", res.ResumedFrom, res.Steps)
	}
	got := resumedValues()
	for _, key := range toyTrainable {
		if d := testutil.MaxAbsDiff(got[key], want[key]); d > 1e-6 {
			t.Errorf("%s: resumed run differs from the uninterrupted one by %g", key, d)
		}
	}
	// Each step is logged once, with the DPO metrics.
	type record struct {
		Kind    string             `json:"kind"`
		Step    int                `json:"step"`
		Metrics map[string]float64 `json:"metrics"`
	}
	seen := map[int]int{}
	for _, rec := range testutil.ReadJSONL[record](t, filepath.Join(runDir, train.MetricsFileName)) {
		if rec.Kind == "train" {
			seen[rec.Step]++
			if _, ok := rec.Metrics[MetricMargin]; !ok {
				t.Errorf("step %d: no %s in %v", rec.Step, MetricMargin, rec.Metrics)
			}
		}
	}
	for step := 1; step <= 10; step++ {
		if seen[step] != 1 {
			t.Errorf("step %d logged %d times", step, seen[step])
		}
	}
}
