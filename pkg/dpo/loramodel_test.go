package dpo

import (
	stdcontext "context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/compute/dtypes"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// Fixtures (copied from the project's reference fixtures): the 6-layer tiny
// Gemma 3n (vocabulary 512) saved by transformers 5.17.0 and a PEFT LoRA
// adapter for it (r=4, alpha=8, q/k/v/o, non-zero A and B) that plays the
// SFT adapter.
var (
	tinyDir    = testutil.TinyModel()
	sftAdapter = testutil.TinyAdapter()
)

// loadTinyWithAdapter loads a fresh tiny model with the fixture adapter.
func loadTinyWithAdapter(t testing.TB) (*gemma3n.Model, *lora.Adapter) {
	t.Helper()
	m, err := gemma3n.Load(tinyDir, dtypes.Float32)
	if err != nil {
		t.Fatal(err)
	}
	a, err := lora.Load(m, sftAdapter)
	if err != nil {
		t.Fatal(err)
	}
	return m, a
}

// tinyPairs are pairs over the tiny vocabulary: a prompt of 4–8 random
// tokens after <bos>, then 4–10 answer tokens; the chosen answers count up
// (next = cur + 1) and the rejected ones count down (next = cur − 1), from
// ids in [10, 500).
func tinyPairs(n int, seed uint64) []Pair {
	rng := rand.New(rand.NewPCG(seed, 13))
	side := func(prompt []int32, step int32) train.Example {
		length := 4 + rng.IntN(7)
		start := int32(10 + rng.IntN(480))
		ids := append([]int32(nil), prompt...)
		for i := range length {
			ids = append(ids, start+step*int32(i%8))
		}
		return sequence(prompt, ids[len(prompt):])
	}
	pairs := make([]Pair, n)
	for i := range pairs {
		prompt := []int32{2}
		for range 4 + rng.IntN(5) {
			prompt = append(prompt, int32(10+rng.IntN(490)))
		}
		pairs[i] = Pair{Chosen: side(prompt, 1), Rejected: side(prompt, -1)}
	}
	return pairs
}

func tinySourceConfig() train.LMSourceConfig {
	return train.LMSourceConfig{BatchSize: 2, MaxLen: 32, Buckets: []int{16, 32}, Shuffle: true, Seed: 1}
}

// With the SFT adapter as reference, the policy starts equal to it: the
// sigmoid loss is log 2 and the margin 0 — in-graph and precomputed. With
// the base as reference they differ, and the precomputed and in-graph
// references agree.
func TestLoRAReferences(t *testing.T) {
	pairs := tinyPairs(6, 1)
	for _, ref := range []string{ReferenceSFT, ReferenceBase} {
		t.Run(ref, func(t *testing.T) {
			m, a := loadTinyWithAdapter(t)
			model, err := NewLoRAModel(m, a, ref)
			if err != nil {
				t.Fatal(err)
			}
			obj := mustObjective(t, model, Params{Beta: 0.1})
			inGraph := mustPairSource(t, pairs, tinySourceConfig())
			pre := mustPairSource(t, pairs, tinySourceConfig())
			current, err := CurrentReference(m, a, ref)
			if err != nil {
				t.Fatal(err)
			}
			chosen, rejected, err := ComputeReference(testutil.Backend(t), m.Store, current, pre, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := pre.SetReference(chosen, rejected); err != nil {
				t.Fatal(err)
			}
			for index := range inGraph.NumBatches() {
				a, _ := inGraph.Batch(0, index)
				b, _ := pre.Batch(0, index)
				sumA, weight, metricsA := evalBatch(t, m.Store, obj, a)
				sumB, _, metricsB := evalBatch(t, m.Store, obj, b)
				if math.Abs(sumA-sumB) > 1e-4 || math.Abs(metricsA[MetricMargin]-metricsB[MetricMargin]) > 1e-4 {
					t.Errorf("batch %d: in-graph loss %.6f margin %.6f, precomputed %.6f margin %.6f",
						index, sumA, metricsA[MetricMargin], sumB, metricsB[MetricMargin])
				}
				atReference := math.Abs(sumA/weight-math.Ln2) < 1e-5 && math.Abs(metricsA[MetricMargin]) < 1e-5
				if atReference != (ref == ReferenceSFT) {
					t.Errorf("batch %d: mean loss %.6f, margin %.6f: at the reference %v, want %v",
						index, sumA/weight, metricsA[MetricMargin], atReference, ref == ReferenceSFT)
				}
			}
		})
	}
}

// The base reference is the model without any adapter.
func TestBaseReferenceIsTheBaseModel(t *testing.T) {
	src := mustPairSource(t, tinyPairs(4, 2), tinySourceConfig())
	m, a := loadTinyWithAdapter(t)
	ref, err := CurrentReference(m, a, ReferenceBase)
	if err != nil {
		t.Fatal(err)
	}
	gotC, gotR, err := ComputeReference(testutil.Backend(t), m.Store, ref, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := gemma3n.Load(tinyDir, dtypes.Float32)
	if err != nil {
		t.Fatal(err)
	}
	wantC, wantR, err := ComputeReference(testutil.Backend(t), plain.Store, Logits(plain), src, nil)
	if err != nil {
		t.Fatal(err)
	}
	sft, err := CurrentReference(m, a, ReferenceSFT)
	if err != nil {
		t.Fatal(err)
	}
	sftC, _, err := ComputeReference(testutil.Backend(t), m.Store, sft, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range gotC {
		if math.Abs(float64(gotC[i]-wantC[i])) > 1e-4 || math.Abs(float64(gotR[i]-wantR[i])) > 1e-4 {
			t.Errorf("pair %d: base reference (%v, %v), model without adapter (%v, %v)", i, gotC[i], gotR[i], wantC[i], wantR[i])
		}
		if math.Abs(float64(sftC[i]-wantC[i])) < 1e-3 {
			t.Errorf("pair %d: the adapter changes nothing (%v)", i, sftC[i])
		}
	}
}

func TestNewLoRAModelErrors(t *testing.T) {
	m, a := loadTinyWithAdapter(t)
	if _, err := NewLoRAModel(m, a, "merged"); err == nil {
		t.Error("unknown reference: want an error")
	}
	if _, err := CurrentReference(m, a, ""); err == nil {
		t.Error("empty reference: want an error")
	}
	other, err := gemma3n.Load(tinyDir, dtypes.Float32)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewLoRAModel(other, a, ReferenceBase); err == nil {
		t.Error("adapter of another model: want an error")
	}
}

// A short DPO run of the tiny Gemma 3n with the SFT adapter as the frozen
// in-graph reference: preference accuracy on the training pairs rises, only
// the adapter moves, and the frozen copy keeps the SFT values.
func TestTinyGemmaDPORun(t *testing.T) {
	start := time.Now()
	pairs := tinyPairs(8, 3)
	src := mustPairSource(t, pairs, tinySourceConfig())
	evalCfg := tinySourceConfig()
	evalCfg.Shuffle, evalCfg.BatchSize = false, 4
	evalSrc := mustPairSource(t, pairs, evalCfg)

	m, a := loadTinyWithAdapter(t)
	model, err := NewLoRAModel(m, a, ReferenceSFT)
	if err != nil {
		t.Fatal(err)
	}
	base := testutil.Snapshot(t, m.Store, "/layers/0/self_attn/q_proj/weight", "/embed_tokens/weight")
	sftValues := testutil.Snapshot(t, m.Store, "/layers/0/self_attn/q_proj/lora_B", "/layers/5/self_attn/o_proj/lora_A")

	cfg := testTrainConfig(t.TempDir())
	cfg.Epochs = 3 // 12 steps
	cfg.LearningRate = 5e-3
	cfg.EvalSets = []train.EvalSet{{Name: "train pairs", Source: evalSrc}}
	cfg.EvalAtStart = true
	var evals []train.EvalMetrics
	cfg.OnEval = func(e train.EvalMetrics) { evals = append(evals, e) }
	tr, err := train.New(testutil.Backend(t), m.Store, mustObjective(t, model, Params{Beta: 0.1}), src, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	res, err := tr.Run(stdcontext.Background())
	if err != nil {
		t.Fatal(err)
	}
	before, after := evals[0], evals[len(evals)-1]
	t.Logf("%d steps in %v (%d compilations): accuracy %.2f → %.2f, margin %.3f → %.3f, loss %.4f → %.4f",
		res.Steps, time.Since(start).Round(time.Millisecond), res.Compilations,
		before.Metrics[MetricAccuracy], after.Metrics[MetricAccuracy],
		before.Metrics[MetricMargin], after.Metrics[MetricMargin], before.Loss, after.Loss)
	if math.Abs(before.Loss-math.Ln2) > 1e-5 || before.Metrics[MetricAccuracy] != 0 {
		t.Errorf("before training: loss %v and accuracy %v, want log 2 and 0", before.Loss, before.Metrics[MetricAccuracy])
	}
	if after.Metrics[MetricAccuracy] < 0.75 || after.Metrics[MetricMargin] <= 0 || after.Loss >= before.Loss {
		t.Errorf("after training: accuracy %v, margin %v, loss %v", after.Metrics[MetricAccuracy], after.Metrics[MetricMargin], after.Loss)
	}
	for key, want := range base {
		if d := testutil.MaxAbsDiff(testutil.Snapshot(t, m.Store, key)[key], want); d != 0 {
			t.Errorf("base weight %s moved by %g", key, d)
		}
	}
	frozen := testutil.Snapshot(t, m.Store, "/layers/0/self_attn/q_proj/dpo_reference/lora_B", "/layers/5/self_attn/o_proj/dpo_reference/lora_A")
	trained := testutil.Snapshot(t, m.Store, "/layers/0/self_attn/q_proj/lora_B")
	if testutil.MaxAbsDiff(frozen["/layers/0/self_attn/q_proj/dpo_reference/lora_B"], sftValues["/layers/0/self_attn/q_proj/lora_B"]) != 0 ||
		testutil.MaxAbsDiff(frozen["/layers/5/self_attn/o_proj/dpo_reference/lora_A"], sftValues["/layers/5/self_attn/o_proj/lora_A"]) != 0 {
		t.Error("the frozen reference copy changed")
	}
	if testutil.MaxAbsDiff(trained["/layers/0/self_attn/q_proj/lora_B"], sftValues["/layers/0/self_attn/q_proj/lora_B"]) == 0 {
		t.Error("the adapter did not move")
	}
	frozenVars := 0
	for v := range m.Store.IterVariables() {
		if strings.HasSuffix(v.Scope(), "/"+frozenScope) {
			frozenVars++
			if v.Trainable {
				t.Errorf("frozen copy %s is trainable", v.Path())
			}
		}
	}
	if want := 2 * len(a.Modules()); frozenVars != want {
		t.Errorf("%d frozen variables, want %d (A and B of every module)", frozenVars, want)
	}
}
