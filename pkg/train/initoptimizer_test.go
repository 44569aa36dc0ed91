package train

import (
	stdcontext "context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
)

// toyMoments are the AdamW moments of the toy model's trainable variables.
var toyMoments = []string{
	"/train/adamw/adapter/A_m", "/train/adamw/adapter/A_v",
	"/train/adamw/adapter/B_m", "/train/adamw/adapter/B_v",
	"/train/adamw/final_norm/scale_m", "/train/adamw/final_norm/scale_v",
}

// noDropoutLogits is the toy model without dropout: a run started from
// another run's checkpoint seeds its own random state, so dropout masks
// would differ from those of one continuous run.
func noDropoutLogits(scope *model.Scope, ids, mask *Node) *Node {
	scope.Store().SetTraining(ids.Graph(), false)
	return toyLogits(scope, ids, mask)
}

// carryFixture trains the first half of 8 examples for 2 steps (run "A"),
// the whole of them for 4 steps in one run ("continuous"), and prepares a
// second-half run whose adapter is restored from A's final checkpoint.
type carryFixture struct {
	t                   *testing.T
	examples            []Example
	checkpointA         string
	continuous          map[string][]float32 // trainable variables and moments after 4 steps
	continuousAfterStep map[int]map[string][]float32
}

// carryConfig: a constant learning rate without warmup, so that the second
// half of a continuous run sees the rates of a run that starts afresh;
// weight decay and clipping are on.
func carryConfig(runDir string, steps int) Config {
	cfg := testConfig(runDir)
	cfg.Steps = steps
	cfg.Schedule = ScheduleConstant
	cfg.WarmupSteps, cfg.WarmupRatio = 0, 0
	cfg.WeightDecay = 0.01
	cfg.MaxGradNorm = 1
	return cfg
}

func (f *carryFixture) source(examples []Example) *LMSource {
	return mustLMSource(f.t, examples, LMSourceConfig{BatchSize: 2, MaxLen: 32, Buckets: []int{32}})
}

func newCarryFixture(t *testing.T) *carryFixture {
	f := &carryFixture{t: t, examples: toyExamples(8, 30, 6, 20)}
	scope := newToyModel(30)
	cfg := carryConfig(t.TempDir(), 4)
	f.continuousAfterStep = map[int]map[string][]float32{}
	cfg.OnStep = func(m StepMetrics) {
		f.continuousAfterStep[m.Step] = testutil.Snapshot(t, scope, append(append([]string(nil), toyTrainable...), toyMoments...)...)
	}
	if _, err := newTrainer(t, scope, CausalLM(noDropoutLogits), f.source(f.examples), cfg).Run(stdcontext.Background()); err != nil {
		t.Fatal(err)
	}
	f.continuous = f.continuousAfterStep[4]

	res, err := newTrainer(t, newToyModel(30), CausalLM(noDropoutLogits), f.source(f.examples[:4]), carryConfig(t.TempDir(), 2)).Run(stdcontext.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.checkpointA = res.LastCheckpoint
	return f
}

// secondHalfModel is a fresh toy model with A's final adapter.
func (f *carryFixture) secondHalfModel() *model.Store {
	ckpt, err := LoadCheckpoint(f.checkpointA)
	if err != nil {
		f.t.Fatal(err)
	}
	scope := newToyModel(30)
	if err := ckpt.Restore(scope, true); err != nil {
		f.t.Fatal(err)
	}
	return scope
}

// Two steps, then two more in a new run that takes the first run's AdamW
// state, equal four steps of one run: the moments and the bias-correction
// step count carry over. Without InitOptimizerFrom the second run differs.
func TestInitOptimizerFromContinuesAdamW(t *testing.T) {
	f := newCarryFixture(t)
	keys := append(append([]string(nil), toyTrainable...), toyMoments...)

	scope := f.secondHalfModel()
	cfg := carryConfig(t.TempDir(), 2)
	cfg.InitOptimizerFrom = f.checkpointA
	res, err := newTrainer(t, scope, CausalLM(noDropoutLogits), f.source(f.examples[4:]), cfg).Run(stdcontext.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.InitOptimizerFrom != f.checkpointA || res.ResumedFrom != "" || res.Updates != 2 {
		t.Errorf("result: init optimizer from %q, resumed from %q, %d updates", res.InitOptimizerFrom, res.ResumedFrom, res.Updates)
	}
	got := testutil.Snapshot(t, scope, keys...)
	for _, key := range keys {
		if d := testutil.MaxAbsDiff(f.continuous[key], got[key]); d > 1e-6 {
			t.Errorf("%s: 2 + 2 carried steps differ from 4 continuous ones by %g", key, d)
		}
	}
	// The checkpoint records where the moments came from and their updates,
	// so that a run started from it goes on counting.
	ckpt, err := LoadCheckpoint(res.LastCheckpoint)
	if err != nil {
		t.Fatal(err)
	}
	if st := ckpt.meta.State; st.OptimizerInitFrom != f.checkpointA || st.OptimizerUpdatesBefore != 2 || st.Updates != 2 {
		t.Errorf("state.json: optimizer_init_from %q, optimizer_updates_before %d, updates %d", st.OptimizerInitFrom, st.OptimizerUpdatesBefore, st.Updates)
	}

	// Fresh moments (a reset) make the same two steps end elsewhere.
	reset := f.secondHalfModel()
	if _, err := newTrainer(t, reset, CausalLM(noDropoutLogits), f.source(f.examples[4:]), carryConfig(t.TempDir(), 2)).Run(stdcontext.Background()); err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for key, values := range testutil.Snapshot(t, reset, toyTrainable...) {
		worst = math.Max(worst, testutil.MaxAbsDiff(f.continuous[key], values))
	}
	if worst < 1e-4 {
		t.Errorf("a reset optimizer ends within %g of the carried one: the test cannot tell them apart", worst)
	}
}

// Before its first update a run holds exactly the moments of the checkpoint
// it was initialised from: with the first step skipped (NaN loss), they are
// bitwise those of the checkpoint.
func TestInitOptimizerFromMomentsBeforeFirstUpdate(t *testing.T) {
	f := newCarryFixture(t)
	ckptA, err := LoadCheckpoint(f.checkpointA)
	if err != nil {
		t.Fatal(err)
	}
	scope := f.secondHalfModel()
	cfg := carryConfig(t.TempDir(), 2)
	cfg.InitOptimizerFrom = f.checkpointA
	var afterSkip map[string][]float32
	cfg.OnStep = func(m StepMetrics) {
		if m.Step == 1 {
			if !m.Skipped {
				t.Errorf("step 1 was not skipped")
			}
			afterSkip = testutil.Snapshot(t, scope, toyMoments...)
		}
	}
	bad := poisonSource{f.source(f.examples[4:]), func(_, index int) bool { return index == 0 }}
	res, err := newTrainer(t, scope, poisoned(CausalLM(noDropoutLogits)), bad, cfg).Run(stdcontext.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Updates != 1 || res.SkippedSteps != 1 {
		t.Fatalf("%d updates, %d skipped", res.Updates, res.SkippedSteps)
	}
	for _, key := range toyMoments {
		var saved []float32
		tensors.MustConstFlatData(ckptA.Variables[key], func(flat []float32) { saved = append(saved, flat...) })
		if len(saved) != len(afterSkip[key]) {
			t.Fatalf("%s: %d values, checkpoint has %d", key, len(afterSkip[key]), len(saved))
		}
		nonZero := false
		for i := range saved {
			if math.Float32bits(saved[i]) != math.Float32bits(afterSkip[key][i]) {
				t.Fatalf("%s[%d] = %v before the first update, the checkpoint has %v", key, i, afterSkip[key][i], saved[i])
			}
			nonZero = nonZero || saved[i] != 0
		}
		if !nonZero {
			t.Errorf("%s is all zeros in the checkpoint: the test shows nothing", key)
		}
	}
	// The update after the skipped step is AdamW's third (bias correction t = 3).
	if ckpt, err := LoadCheckpoint(res.LastCheckpoint); err != nil || ckpt.meta.State.OptimizerUpdatesBefore+ckpt.meta.State.Updates != 3 {
		t.Errorf("updates seen by the moments: %v (%v)", ckpt.meta.State, err)
	}
}

// A run that resumes from its own checkpoint restores its own moments and
// does not initialise them again from InitOptimizerFrom.
func TestInitOptimizerFromIgnoredOnResume(t *testing.T) {
	f := newCarryFixture(t)
	dir := t.TempDir()
	cfg := carryConfig(dir, 2)
	cfg.InitOptimizerFrom = f.checkpointA
	cfg.CheckpointEvery = 1
	cfg.Resume = true
	runCtx, cancel := stdcontext.WithCancel(stdcontext.Background())
	killed := cfg
	killed.OnStep = func(m StepMetrics) {
		if m.Step == 1 {
			cancel()
		}
	}
	if _, err := newTrainer(t, f.secondHalfModel(), CausalLM(noDropoutLogits), f.source(f.examples[4:]), killed).Run(runCtx); !errors.Is(err, stdcontext.Canceled) {
		t.Fatalf("killed run: %v", err)
	}
	scope := newToyModel(30) // everything comes from the run's own checkpoint
	res, err := newTrainer(t, scope, CausalLM(noDropoutLogits), f.source(f.examples[4:]), cfg).Run(stdcontext.Background())
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(res.ResumedFrom) != "step-00000001" || res.InitOptimizerFrom != f.checkpointA {
		t.Errorf("resumed from %q, optimizer initialised from %q", res.ResumedFrom, res.InitOptimizerFrom)
	}
	keys := append(append([]string(nil), toyTrainable...), toyMoments...)
	got := testutil.Snapshot(t, scope, keys...)
	for _, key := range keys {
		if d := testutil.MaxAbsDiff(f.continuous[key], got[key]); d > 1e-6 {
			t.Errorf("%s: the resumed run differs from the continuous one by %g", key, d)
		}
	}
}

func TestMatchMomentsErrors(t *testing.T) {
	a := model.NewStore().VariableWithValue("/adapter/A", tensors.FromShape(shapes.Make(dtypes.Float32, 2, 3)))
	moments := func() map[string]*tensors.Tensor {
		return map[string]*tensors.Tensor{
			"/train/adamw/adapter/A_m": tensors.FromShape(shapes.Make(dtypes.Float32, 2, 3)),
			"/train/adamw/adapter/A_v": tensors.FromShape(shapes.Make(dtypes.Float32, 2, 3)),
			"/train/adamw/other/w_m":   tensors.FromShape(shapes.Make(dtypes.Float32, 4)),
		}
	}
	picked, unused, err := matchMoments(moments(), []*model.Variable{a}, "ckpt")
	if err != nil || len(picked) != 2 || unused != 1 {
		t.Fatalf("picked %d, unused %d, err %v", len(picked), unused, err)
	}
	missing := moments()
	delete(missing, "/train/adamw/adapter/A_v")
	if _, _, err := matchMoments(missing, []*model.Variable{a}, "ckpt"); err == nil ||
		!strings.Contains(err.Error(), "no AdamW moment /train/adamw/adapter/A_v") || !strings.Contains(err.Error(), "variable /adapter/A") {
		t.Errorf("missing moment: %v", err)
	}
	reshaped := moments()
	reshaped["/train/adamw/adapter/A_m"] = tensors.FromShape(shapes.Make(dtypes.Float32, 3, 2))
	if _, _, err := matchMoments(reshaped, []*model.Variable{a}, "ckpt"); err == nil ||
		!strings.Contains(err.Error(), "has shape (Float32)[3, 2]") || !strings.Contains(err.Error(), "variable /adapter/A") {
		t.Errorf("shape mismatch: %v", err)
	}
}

func TestInitOptimizerFromErrors(t *testing.T) {
	f := newCarryFixture(t)
	src := f.source(f.examples[4:])
	// A trainable variable the first run did not have.
	extra := func(scope *model.Scope, inputs []*Node) Loss {
		l := CausalLM(noDropoutLogits)(scope, inputs)
		w := scope.At("extra").WithInitializer(initializer.One).VariableWithShape("w", shapes.Make(dtypes.Float32)).NodeValue(l.Sum.Graph())
		l.Sum = Add(l.Sum, MulScalar(Square(w), 1e-3))
		return l
	}
	cfg := carryConfig(t.TempDir(), 1)
	cfg.InitOptimizerFrom = f.checkpointA
	if _, err := newTrainer(t, f.secondHalfModel(), extra, src, cfg).Run(stdcontext.Background()); err == nil ||
		!strings.Contains(err.Error(), "variable /extra/w") || !strings.Contains(err.Error(), f.checkpointA) {
		t.Errorf("a trainable variable without moments: %v", err)
	}
	cfg = carryConfig(t.TempDir(), 1)
	cfg.InitOptimizerFrom = filepath.Join(t.TempDir(), "none")
	if _, err := newTrainer(t, f.secondHalfModel(), CausalLM(noDropoutLogits), src, cfg).Run(stdcontext.Background()); err == nil || !strings.Contains(err.Error(), "initialising the optimizer") {
		t.Errorf("a missing checkpoint: %v", err)
	}
}
