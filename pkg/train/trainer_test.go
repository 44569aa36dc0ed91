package train

import (
	stdcontext "context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
)

func newTrainer(t *testing.T, store *model.Store, objective Objective, src Source, cfg Config) *Trainer {
	t.Helper()
	tr, err := New(testutil.Backend(t), store, objective, src, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Close)
	return tr
}

func TestLossDecreases(t *testing.T) {
	src := mustLMSource(t, toyExamples(64, 1, 6, 24), LMSourceConfig{BatchSize: 4, MaxLen: 32, Buckets: []int{8, 16, 32}, Shuffle: true, Seed: 3})
	cfg := testConfig(t.TempDir())
	cfg.Epochs = 3 // 48 steps
	var losses []float64
	cfg.OnStep = func(m StepMetrics) { losses = append(losses, m.Loss) }
	scope := newToyModel(1)
	res, err := newTrainer(t, scope, CausalLM(toyLogits), src, cfg).Run(stdcontext.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 48 || len(losses) != 48 {
		t.Fatalf("steps %d, logged %d, want 48", res.Steps, len(losses))
	}
	tenth := len(losses) / 10
	first, last := testutil.Mean(losses[:tenth]), testutil.Mean(losses[len(losses)-tenth:])
	t.Logf("loss first 10%%: %.4f, last 10%%: %.4f, compilations %d", first, last, res.Compilations)
	if !(last < 0.7*first) {
		t.Errorf("loss did not fall enough: first %.4f, last %.4f", first, last)
	}
}

// Gradient accumulation of 4 micro-batches of 1 must equal one batch of 4:
// same loss, same gradient norm, same updated variables — with examples of
// different lengths (so padding inside the batch of 4) and different numbers
// of target tokens (so a mean of means would differ).
func TestGradAccumEquivalence(t *testing.T) {
	examples := toyExamples(4, 5, 5, 30)
	type outcome struct {
		loss, norm []float64
		values     map[string][]float32
	}
	run := func(batchSize, accum int) outcome {
		src := mustLMSource(t, examples, LMSourceConfig{BatchSize: batchSize, MaxLen: 32, Buckets: []int{8, 16, 32}})
		cfg := testConfig(t.TempDir())
		cfg.Steps = 3
		cfg.GradAccum = accum
		cfg.MaxGradNorm = 0.5 // clipping active: the norm must match too
		cfg.WeightDecay = 0.1
		var o outcome
		cfg.OnStep = func(m StepMetrics) { o.loss = append(o.loss, m.Loss); o.norm = append(o.norm, m.GradNorm) }
		scope := newToyModel(2)
		noDropout := func(scope *model.Scope, ids, mask *Node) *Node {
			scope.Store().SetTraining(ids.Graph(), false) // dropout masks would differ between batch shapes
			return toyLogits(scope, ids, mask)
		}
		if _, err := newTrainer(t, scope, CausalLM(noDropout), src, cfg).Run(stdcontext.Background()); err != nil {
			t.Fatal(err)
		}
		o.values = testutil.Snapshot(t, scope, toyTrainable...)
		return o
	}
	big, accumulated := run(4, 1), run(1, 4)
	for i := range big.loss {
		if d := math.Abs(big.loss[i] - accumulated.loss[i]); d > 1e-5 {
			t.Errorf("step %d loss: batch 4 %.7f vs 4×1 %.7f", i+1, big.loss[i], accumulated.loss[i])
		}
		if d := math.Abs(big.norm[i] - accumulated.norm[i]); d > 1e-5 {
			t.Errorf("step %d grad norm: batch 4 %.7f vs 4×1 %.7f", i+1, big.norm[i], accumulated.norm[i])
		}
	}
	for _, key := range toyTrainable {
		if d := testutil.MaxAbsDiff(big.values[key], accumulated.values[key]); d > 1e-5 {
			t.Errorf("%s differs by %g", key, d)
		}
	}
}

func TestFrozenVariablesBitwiseUnchanged(t *testing.T) {
	src := mustLMSource(t, toyExamples(16, 3, 6, 20), LMSourceConfig{BatchSize: 4, MaxLen: 32, Buckets: []int{16, 32}})
	cfg := testConfig(t.TempDir())
	cfg.Steps = 5
	cfg.WeightDecay = 0.5 // decay must not reach frozen variables either
	scope := newToyModel(3)
	before := testutil.Snapshot(t, scope, "/embed/weights", "/adapter/A")
	if _, err := newTrainer(t, scope, CausalLM(toyLogits), src, cfg).Run(stdcontext.Background()); err != nil {
		t.Fatal(err)
	}
	after := testutil.Snapshot(t, scope, "/embed/weights", "/adapter/A")
	for i := range before["/embed/weights"] {
		if math.Float32bits(before["/embed/weights"][i]) != math.Float32bits(after["/embed/weights"][i]) {
			t.Fatalf("frozen embedding changed at %d", i)
		}
	}
	if testutil.MaxAbsDiff(before["/adapter/A"], after["/adapter/A"]) == 0 {
		t.Error("trainable adapter A did not move")
	}
	// Only trainable variables get optimizer state.
	for v := range scope.IterVariables() {
		if strings.HasPrefix(v.Scope(), OptimizerScope) && strings.Contains(v.Scope(), "embed") {
			t.Errorf("optimizer state for a frozen variable: %s", v.Path())
		}
	}
}

// resumeConfig exercises everything that a resume must restore: shuffling
// across epochs, accumulation, warmup + cosine, weight decay, clipping, dropout.
func resumeConfig(runDir string) Config {
	cfg := testConfig(runDir)
	cfg.Steps = 10
	cfg.GradAccum = 2
	cfg.WarmupSteps = 2
	cfg.WeightDecay = 0.01
	cfg.MaxGradNorm = 1
	cfg.CheckpointEvery = 4
	cfg.Resume = true
	return cfg
}

func TestResumeEqualsUninterrupted(t *testing.T) {
	examples := toyExamples(14, 4, 5, 24)
	newSource := func() *LMSource {
		return mustLMSource(t, examples, LMSourceConfig{BatchSize: 3, MaxLen: 32, Buckets: []int{8, 16, 32}, Shuffle: true, Seed: 9})
	}
	// Uninterrupted.
	ctxA := newToyModel(4)
	if _, err := newTrainer(t, ctxA, CausalLM(toyLogits), newSource(), resumeConfig(t.TempDir())).Run(stdcontext.Background()); err != nil {
		t.Fatal(err)
	}
	want := testutil.Snapshot(t, ctxA, toyTrainable...)

	// Killed after step 6 (the last checkpoint is step 4), then resumed in a fresh process state.
	dir := t.TempDir()
	runCtx, cancel := stdcontext.WithCancel(stdcontext.Background())
	cfg := resumeConfig(dir)
	cfg.OnStep = func(m StepMetrics) {
		if m.Step == 6 {
			cancel()
		}
	}
	_, err := newTrainer(t, newToyModel(4), CausalLM(toyLogits), newSource(), cfg).Run(runCtx)
	if !errors.Is(err, stdcontext.Canceled) {
		t.Fatalf("interrupted run: err = %v, want context.Canceled", err)
	}
	ctxB := newToyModel(4) // adapter B and the scale are created lazily and come from the checkpoint loader
	res, err := newTrainer(t, ctxB, CausalLM(toyLogits), newSource(), resumeConfig(dir)).Run(stdcontext.Background())
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(res.ResumedFrom) != "step-00000004" || res.Steps != 10 {
		t.Fatalf("resumed from %q, steps %d", res.ResumedFrom, res.Steps)
	}
	got := testutil.Snapshot(t, ctxB, toyTrainable...)
	for _, key := range toyTrainable {
		if d := testutil.MaxAbsDiff(want[key], got[key]); d > 1e-6 {
			t.Errorf("%s: resumed run differs by %g", key, d)
		}
	}
	// The metrics log tells each step once, although steps 5 and 6 ran twice.
	var steps []int
	for _, rec := range readLog(t, dir) {
		if rec["kind"] == "train" {
			steps = append(steps, int(rec["step"].(float64)))
		}
	}
	if !slices.Equal(steps, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}) {
		t.Errorf("logged steps %v", steps)
	}
}

// readLog decodes the run's metrics.jsonl.
func readLog(t *testing.T, runDir string) []map[string]any {
	t.Helper()
	return testutil.ReadJSONL[map[string]any](t, filepath.Join(runDir, MetricsFileName))
}

// poisonSource appends a scalar input that is NaN on chosen micro-batches.
type poisonSource struct {
	Source
	bad func(epoch, index int) bool
}

func (p poisonSource) Batch(epoch, index int) (Batch, error) {
	b, err := p.Source.Batch(epoch, index)
	value := float32(0)
	if p.bad(epoch, index) {
		value = float32(math.NaN())
	}
	b.Inputs = append(slices.Clone(b.Inputs), tensors.FromScalar(value))
	return b, err
}

// poisoned multiplies the loss by (1 + poison): a NaN poison makes both the
// loss and every gradient NaN.
func poisoned(inner Objective) Objective {
	return func(scope *model.Scope, inputs []*Node) Loss {
		l := inner(scope, inputs[:numLMInputs])
		l.Sum = Mul(l.Sum, AddScalar(inputs[numLMInputs], 1))
		return l
	}
}

func TestNaNStepsAreSkipped(t *testing.T) {
	src := mustLMSource(t, toyExamples(32, 6, 6, 20), LMSourceConfig{BatchSize: 2, MaxLen: 32, Buckets: []int{32}})
	cfg := testConfig(t.TempDir())
	cfg.Steps = 6
	scope := newToyModel(6)
	values := map[int]map[string][]float32{}
	var skipped []int
	cfg.OnStep = func(m StepMetrics) {
		values[m.Step] = testutil.Snapshot(t, scope, toyTrainable...)
		if m.Skipped {
			skipped = append(skipped, m.Step)
		}
	}
	bad := poisonSource{src, func(_, index int) bool { return index == 2 }} // step 3
	res, err := newTrainer(t, scope, poisoned(CausalLM(toyLogits)), bad, cfg).Run(stdcontext.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(skipped, []int{3}) || res.SkippedSteps != 1 || res.Updates != 5 {
		t.Fatalf("skipped %v, result %+v", skipped, res)
	}
	for _, key := range toyTrainable {
		if testutil.MaxAbsDiff(values[2][key], values[3][key]) != 0 {
			t.Errorf("%s changed during the skipped step", key)
		}
		if testutil.MaxAbsDiff(values[3][key], values[4][key]) == 0 && key != "/adapter/A" {
			t.Errorf("%s did not change after the skipped step", key)
		}
		for _, x := range values[6][key] {
			if math.IsNaN(float64(x)) {
				t.Fatalf("%s has NaN", key)
			}
		}
	}
	var logged bool
	for _, rec := range readLog(t, cfg.RunDir) {
		if rec["kind"] == "train" && rec["step"] == 3.0 {
			logged = rec["skipped"] == true && rec["loss"] == nil
		}
	}
	if !logged {
		t.Error("the skipped step is not in the metrics log with skipped=true and loss=null")
	}
}

func TestTooManyNaNStepsStopTheRun(t *testing.T) {
	src := mustLMSource(t, toyExamples(32, 7, 6, 20), LMSourceConfig{BatchSize: 2, MaxLen: 32, Buckets: []int{32}})
	cfg := testConfig(t.TempDir())
	cfg.Steps = 12
	cfg.CheckpointEvery = 4
	cfg.MaxBadSteps = 2
	scope := newToyModel(7)
	bad := poisonSource{src, func(_, index int) bool { return index >= 4 }} // steps 5, 6, 7, …
	_, err := newTrainer(t, scope, poisoned(CausalLM(toyLogits)), bad, cfg).Run(stdcontext.Background())
	if err == nil || !strings.Contains(err.Error(), "3 consecutive steps (5 to 7)") {
		t.Fatalf("err = %v, want a stop after 3 consecutive bad steps", err)
	}
	last, _ := LatestCheckpoint(cfg.RunDir)
	if filepath.Base(last) != "step-00000004" || !strings.Contains(err.Error(), last) {
		t.Fatalf("last checkpoint %q (error %v)", last, err)
	}
	ckpt, err := LoadCheckpoint(last)
	if err != nil {
		t.Fatal(err)
	}
	now := testutil.Snapshot(t, scope, toyTrainable...)
	for _, key := range toyTrainable {
		var saved []float32
		tensors.MustConstFlatData(ckpt.Variables[key], func(flat []float32) { saved = flat })
		if testutil.MaxAbsDiff(saved, now[key]) != 0 {
			t.Errorf("%s: variables moved after the last good checkpoint", key)
		}
	}
}

func TestEarlyStoppingAndBestCheckpoint(t *testing.T) {
	train := mustLMSource(t, toyExamples(16, 8, 6, 20), LMSourceConfig{BatchSize: 4, MaxLen: 32, Buckets: []int{32}})
	held := mustLMSource(t, toyExamples(6, 9, 6, 20), LMSourceConfig{BatchSize: 4, MaxLen: 32, Buckets: []int{32}})
	cfg := testConfig(t.TempDir())
	cfg.Steps = 20
	cfg.LearningRate = 0 // the eval loss never improves after the first evaluation
	cfg.EvalSets = []EvalSet{{"held", held}}
	cfg.EvalEvery = 1
	cfg.EvalAtStart = true
	cfg.EarlyStoppingPatience = 2
	cfg.KeepLast = 1
	var evals []EvalMetrics
	cfg.OnEval = func(m EvalMetrics) { evals = append(evals, m) }
	res, err := newTrainer(t, newToyModel(8), CausalLM(toyLogits), train, cfg).Run(stdcontext.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !res.StoppedEarly || res.Steps != 3 || res.BestStep != 1 || len(evals) != 4 {
		t.Fatalf("stopped early %v at step %d, best %d, %d evals", res.StoppedEarly, res.Steps, res.BestStep, len(evals))
	}
	if evals[0].Step != 0 || evals[0].Best || !evals[1].Best {
		t.Errorf("evals %+v", evals)
	}
	if e := evals[1]; e.Tokens == 0 || math.Abs(e.Perplexity-math.Exp(e.Loss)) > 1e-9 || e.Weight == 0 || e.Metrics["accuracy"] < 0 {
		t.Errorf("eval metrics %+v", e)
	}
	dirs, _ := CheckpointDirs(cfg.RunDir)
	var names []string
	for _, d := range dirs {
		names = append(names, filepath.Base(d))
	}
	if !slices.Equal(names, []string{"step-00000001", "step-00000003"}) {
		t.Errorf("kept checkpoints %v, want the best (1) and the last (3)", names)
	}
	if filepath.Base(res.BestCheckpoint) != "step-00000001" {
		t.Errorf("best checkpoint %q", res.BestCheckpoint)
	}
}

func TestInterruptedCheckpointWriteIsIgnored(t *testing.T) {
	src := mustLMSource(t, toyExamples(12, 10, 6, 20), LMSourceConfig{BatchSize: 2, MaxLen: 32, Buckets: []int{32}})
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Steps = 4
	cfg.CheckpointEvery = 2
	if _, err := newTrainer(t, newToyModel(10), CausalLM(toyLogits), src, cfg).Run(stdcontext.Background()); err != nil {
		t.Fatal(err)
	}
	// A killed write of step 6 and a directory without state.json.
	root := filepath.Join(dir, checkpointsDirName)
	tmp := filepath.Join(root, ".tmp-step-00000006-123")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, variablesFileName), []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "step-00000008"), 0o755); err != nil {
		t.Fatal(err)
	}
	if last, _ := LatestCheckpoint(dir); filepath.Base(last) != "step-00000004" {
		t.Fatalf("latest = %q, want step-00000004", last)
	}
	// Without Resume, a directory with checkpoints is refused.
	if _, err := newTrainer(t, newToyModel(10), CausalLM(toyLogits), src, cfg).Run(stdcontext.Background()); err == nil || !strings.Contains(err.Error(), "Resume") {
		t.Fatalf("err = %v, want a refusal naming Resume", err)
	}
	cfg.Steps, cfg.Resume = 6, true
	res, err := newTrainer(t, newToyModel(10), CausalLM(toyLogits), src, cfg).Run(stdcontext.Background())
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(res.ResumedFrom) != "step-00000004" || res.Steps != 6 {
		t.Fatalf("resumed from %q to step %d", res.ResumedFrom, res.Steps)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Error("the temporary directory was not cleaned up")
	}
}

func TestCompilationsAreBounded(t *testing.T) {
	buckets := []int{8, 16, 32}
	train := mustLMSource(t, toyExamples(40, 11, 3, 30), LMSourceConfig{BatchSize: 2, MaxLen: 32, Buckets: buckets, Shuffle: true, Seed: 1})
	held := mustLMSource(t, toyExamples(8, 12, 3, 30), LMSourceConfig{BatchSize: 2, MaxLen: 32, Buckets: buckets})
	cfg := testConfig(t.TempDir())
	cfg.Epochs = 2
	cfg.EvalSets = []EvalSet{{"held", held}}
	cfg.EvalEvery = 10
	tr := newTrainer(t, newToyModel(11), CausalLM(toyLogits), train, cfg)
	res, err := tr.Run(stdcontext.Background())
	if err != nil {
		t.Fatal(err)
	}
	shapes := func(src Source) map[int]bool {
		seen := map[int]bool{}
		for e := range 2 {
			for i := range src.NumBatches() {
				b, _ := src.Batch(e, i)
				seen[b.Inputs[0].Shape().Dim(1)] = true
			}
		}
		return seen
	}
	want := len(shapes(train)) + 1 + len(shapes(held))
	if res.Compilations != want || want > 2*len(buckets)+1 {
		t.Errorf("compilations %d, want %d (train shapes + apply + eval shapes)", res.Compilations, want)
	}
	t.Logf("%d steps, %d compilations", res.Steps, res.Compilations)
}

func TestMetricsLogRecords(t *testing.T) {
	src := mustLMSource(t, toyExamples(8, 13, 6, 20), LMSourceConfig{BatchSize: 2, MaxLen: 32, Buckets: []int{32}})
	held := mustLMSource(t, toyExamples(4, 14, 6, 20), LMSourceConfig{BatchSize: 2, MaxLen: 32, Buckets: []int{32}})
	cfg := testConfig(t.TempDir())
	cfg.Phase = "phase1"
	cfg.EvalSets = []EvalSet{{"held", held}}
	if _, err := newTrainer(t, newToyModel(13), CausalLM(toyLogits), src, cfg).Run(stdcontext.Background()); err != nil {
		t.Fatal(err)
	}
	recs := readLog(t, cfg.RunDir)
	if len(recs) != 5 {
		t.Fatalf("%d records, want 4 steps + 1 eval", len(recs))
	}
	for _, key := range []string{"kind", "phase", "step", "epoch", "loss", "lr", "grad_norm", "tokens_per_sec", "examples", "tokens", "elapsed_s", "heap_bytes", "metrics"} {
		if _, ok := recs[0][key]; !ok {
			t.Errorf("train record lacks %q: %v", key, recs[0])
		}
	}
	last := recs[4]
	if last["kind"] != "eval" || last["eval_set"] != "held" || last["step"] != 4.0 || last["eval_loss"] == nil || last["eval_perplexity"] == nil {
		t.Errorf("eval record %v", last)
	}
	if recs[3]["examples"] != 8.0 || recs[3]["epoch"] != 1.0 {
		t.Errorf("cumulative counts in %v", recs[3])
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	src := mustLMSource(t, toyExamples(4, 1, 6, 10), LMSourceConfig{BatchSize: 2, MaxLen: 16})
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"no run dir", func(c *Config) { c.RunDir = "" }, "RunDir"},
		{"schedule", func(c *Config) { c.Schedule = "exp" }, "schedule"},
		{"beta", func(c *Config) { c.Beta2 = 1 }, "betas"},
		{"eval set", func(c *Config) { c.EvalSets = []EvalSet{{Name: "x"}} }, "eval set"},
		{"best on", func(c *Config) { c.BestOn = "nope" }, "BestOn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t.TempDir())
			tc.mutate(&cfg)
			if _, err := New(testutil.Backend(t), newToyModel(1), CausalLM(toyLogits), src, cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestTokenLogProbs(t *testing.T) {
	logits := [][][]float32{{{1, 2, 3, 0.5}, {-1, 4, 0, 0}, {2, 2, 1, 7}}}
	labels := [][]int32{{2, 0, 3}}
	outs := MustExecOnceN(testutil.Backend(t), func(l, y *Node) []*Node {
		lp, correct := TokenLogProbs(l, y)
		return []*Node{lp, correct}
	}, logits, labels)
	gotLP := outs[0].Value().([][]float32)[0]
	gotCorrect := outs[1].Value().([][]float32)[0]
	for i, row := range logits[0] {
		var sum float64
		for _, x := range row {
			sum += math.Exp(float64(x))
		}
		want := float64(row[labels[0][i]]) - math.Log(sum)
		if math.Abs(float64(gotLP[i])-want) > 1e-5 {
			t.Errorf("token %d: log p = %v, want %v", i, gotLP[i], want)
		}
	}
	if !slices.Equal(gotCorrect, []float32{1, 0, 1}) {
		t.Errorf("correct = %v", gotCorrect)
	}
}

// The gradient through TokenLogProbs (a Gather) must equal softmax − onehot.
func TestTokenLogProbsGradient(t *testing.T) {
	logits := [][]float32{{0.3, -1, 2, 0.1}}
	labels := []int32{1}
	grad := MustExecOnce(testutil.Backend(t), func(l, y *Node) *Node {
		lp, _ := TokenLogProbs(l, y)
		return Gradient(ReduceAllSum(lp), l)[0]
	}, logits, labels).Value().([][]float32)[0]
	var z float64
	for _, x := range logits[0] {
		z += math.Exp(float64(x))
	}
	for j, x := range logits[0] {
		want := -math.Exp(float64(x)) / z
		if j == 1 {
			want++
		}
		if math.Abs(float64(grad[j])-want) > 1e-5 {
			t.Errorf("d/dlogit[%d] = %v, want %v", j, grad[j], want)
		}
	}
}

func TestCausalLMObjectiveMasksAndSums(t *testing.T) {
	// One example of 4 tokens padded to 8: only the labels of targets count.
	src := mustLMSource(t, []Example{{IDs: []int32{1, 4, 13, 8}, LossMask: []bool{false, false, true, true}}}, LMSourceConfig{BatchSize: 2, MaxLen: 8, Buckets: []int{8}})
	b, err := src.Batch(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	scope := newToyModel(1)
	objective := CausalLM(toyLogits)
	outs := model.MustExecOnceN(testutil.Backend(t), scope, func(scope *model.Scope, inputs []*Node) []*Node {
		l := objective(scope, inputs)
		return []*Node{l.Sum, l.Weight}
	}, b.Inputs[0], b.Inputs[1], b.Inputs[2], b.Inputs[3])
	if w := outs[1].Value().(float32); w != 2 {
		t.Errorf("weight = %v, want 2 target tokens", w)
	}
	if s := outs[0].Value().(float32); !(s > 0) {
		t.Errorf("loss sum = %v", s)
	}
}

func TestClipByGlobalNorm(t *testing.T) {
	for _, tc := range []struct {
		maxNorm, wantNorm float64
	}{{1, 1}, {13, 13}, {100, 13}, {0, 13}} {
		outs := MustExecOnceN(testutil.Backend(t), func(a, b *Node) []*Node {
			clipped, norm := ClipByGlobalNorm([]*Node{a, b}, tc.maxNorm)
			return []*Node{norm, GlobalNorm(clipped), clipped[0]}
		}, []float32{3, 4}, [][]float32{{12}})
		norm, after := outs[0].Value().(float32), outs[1].Value().(float32)
		if math.Abs(float64(norm)-13) > 1e-5 {
			t.Errorf("max %v: norm before %v, want 13", tc.maxNorm, norm)
		}
		if math.Abs(float64(after)-tc.wantNorm) > 1e-4 || (tc.maxNorm > 0 && float64(after) > tc.maxNorm*(1+1e-6)) {
			t.Errorf("max %v: norm after %v, want %v", tc.maxNorm, after, tc.wantNorm)
		}
		first := outs[2].Value().([]float32)
		if ratio := first[1] / first[0]; math.Abs(float64(ratio)-4.0/3) > 1e-5 {
			t.Errorf("max %v: direction changed: %v", tc.maxNorm, first)
		}
	}
}

func TestAdamWUpdateMatchesPyTorchFormula(t *testing.T) {
	const lr, beta1, beta2, eps, decay = 0.01, 0.9, 0.99, 1e-8, 0.1
	p, g, m, v := []float32{1, -2}, []float32{0.5, 0.25}, []float32{0.1, 0}, []float32{0.01, 0.02}
	const step = 3
	bc1, bc2 := 1/(1-math.Pow(beta1, step)), 1/(1-math.Pow(beta2, step))
	outs := MustExecOnceN(testutil.Backend(t), func(in []*Node) []*Node {
		h := adamWHyper{lr: in[4], biasCor1: in[5], biasCor2: in[6], beta1: beta1, beta2: beta2, epsilon: eps}
		np, nm, nv := adamWUpdate(in[0], in[1], in[2], in[3], decay, h)
		return []*Node{np, nm, nv}
	}, p, g, m, v, float32(lr), float32(bc1), float32(bc2))
	got := outs[0].Value().([]float32)
	for i := range p {
		wm := beta1*float64(m[i]) + (1-beta1)*float64(g[i])
		wv := beta2*float64(v[i]) + (1-beta2)*float64(g[i])*float64(g[i])
		wp := float64(p[i]) * (1 - lr*decay)
		wp -= lr * (wm * bc1) / (math.Sqrt(wv*bc2) + eps)
		if math.Abs(float64(got[i])-wp) > 1e-6 {
			t.Errorf("param %d = %v, want %v", i, got[i], wp)
		}
		if nm := outs[1].Value().([]float32)[i]; math.Abs(float64(nm)-wm) > 1e-6 {
			t.Errorf("m %d = %v, want %v", i, nm, wm)
		}
	}
}

func TestDefaultNoDecay(t *testing.T) {
	for name, want := range map[string]bool{
		"/model/layers/0/input_layernorm/weight": true,
		"/final_norm/scale":                      true,
		"/dense/biases":                          true,
		"/layers/0/self_attn/q_proj/lora_A":      false,
		"/adapter/B":                             false,
	} {
		if got := DefaultNoDecay(name); got != want {
			t.Errorf("DefaultNoDecay(%q) = %v", name, got)
		}
	}
}

func TestSchedule(t *testing.T) {
	for _, tc := range []struct {
		s    Schedule
		step int
		want float64
	}{
		{Schedule{Kind: ScheduleCosine, Peak: 1, Warmup: 10, TotalSteps: 110}, 0, 0},
		{Schedule{Kind: ScheduleCosine, Peak: 1, Warmup: 10, TotalSteps: 110}, 5, 0.5},
		{Schedule{Kind: ScheduleCosine, Peak: 1, Warmup: 10, TotalSteps: 110}, 10, 1},
		{Schedule{Kind: ScheduleCosine, Peak: 1, Warmup: 10, TotalSteps: 110}, 60, 0.5},
		{Schedule{Kind: ScheduleCosine, Peak: 1, Warmup: 10, TotalSteps: 110}, 110, 0},
		{Schedule{Kind: ScheduleCosine, Peak: 2, Warmup: 0, TotalSteps: 100, MinRatio: 0.1}, 100, 0.2},
		{Schedule{Kind: ScheduleCosine, Peak: 2, Warmup: 0, TotalSteps: 100, MinRatio: 0.1}, 50, 1.1},
		{Schedule{Kind: ScheduleLinear, Peak: 1, Warmup: 4, TotalSteps: 104}, 54, 0.5},
		{Schedule{Kind: ScheduleLinear, Peak: 1, Warmup: 4, TotalSteps: 104}, 2, 0.5},
		{Schedule{Kind: ScheduleLinear, Peak: 1, Warmup: 0, TotalSteps: 10}, 0, 1},
		{Schedule{Kind: ScheduleConstant, Peak: 3, Warmup: 2, TotalSteps: 10}, 1, 1.5},
		{Schedule{Kind: ScheduleConstant, Peak: 3, Warmup: 2, TotalSteps: 10}, 9, 3},
	} {
		if got := tc.s.LR(tc.step); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%+v step %d: lr %v, want %v", tc.s, tc.step, got, tc.want)
		}
	}
	// The warmup rounding rule is package warmup's, tested there.
	if got := WarmupSteps(0, 0.03, 100); got != 3 {
		t.Errorf("warmup ratio 0.03 of 100 = %d, want 3", got)
	}
}

func TestExecuteReportsGraphErrors(t *testing.T) {
	src := mustLMSource(t, toyExamples(4, 1, 6, 10), LMSourceConfig{BatchSize: 2, MaxLen: 16})
	frozenOnly := func(scope *model.Scope, inputs []*Node) Loss {
		logits := toyLogits(scope, inputs[InputIDs], inputs[AttentionMask])
		for v := range scope.IterVariables() {
			v.SetTrainable(false)
		}
		s := ReduceAllSum(logits)
		return Loss{Sum: s, Weight: ScalarOne(s.Graph(), dtypes.Float32)}
	}
	_, err := newTrainer(t, newToyModel(1), frozenOnly, src, testConfig(t.TempDir())).Run(stdcontext.Background())
	if err == nil || !strings.Contains(err.Error(), "no trainable variable") {
		t.Fatalf("err = %v", err)
	}
}
