package sft

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// TestRunLearnsRealData trains the tiny preset on two real AnnoMI windows
// and checks what a run promises: the loss falls, the run directory is
// complete, the base weights are bitwise untouched while every trained
// variable is an adapter tensor, and the saved adapter, loaded with
// pkg/lora onto a fresh base model, reproduces the trained model's logits.
func TestRunLearnsRealData(t *testing.T) {
	out := t.TempDir()
	opts := tinyOptions(t, out,
		"training.per_device_train_batch_size=2", "training.max_steps=6", "training.learning_rate=2e-2",
		"lora.target_modules=all-linear", "lora.r=8", "lora.lora_alpha=16")
	opts.Conversations = withSplit(annomiTrain(t, 2), data.SplitTrain)
	var losses []float64
	opts.OnStep = func(m train.StepMetrics) { losses = append(losses, m.Loss) }
	res, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}

	// The loss falls: the mean of the last 10% of the steps is below the first 10%.
	if len(losses) != 6 {
		t.Fatalf("OnStep saw %d steps, want 6", len(losses))
	}
	k := max(1, len(losses)/10)
	first, last := testutil.Mean(losses[:k]), testutil.Mean(losses[len(losses)-k:])
	t.Logf("losses %.4f", losses)
	if !(last < first-0.1) {
		t.Errorf("loss did not fall: first %.4f, last %.4f", first, last)
	}

	// The run directory.
	testutil.WantFiles(t, out, stage.ConfigFileName, stage.DataSummaryFileName, SummaryFileName, train.MetricsFileName,
		filepath.Join(stage.AdapterDirName, lora.ConfigFileName), filepath.Join(stage.AdapterDirName, lora.WeightsFileName),
		filepath.Join("checkpoints", "step-00000006", "state.json"))
	if _, err := os.Stat(filepath.Join(out, stage.BestAdapterDirName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("best_adapter written without any evaluation (err %v)", err)
	}
	resolved, err := config.LoadResolved(filepath.Join(out, stage.ConfigFileName))
	if err != nil {
		t.Fatal(err)
	}
	if resolved.Training.LearningRate != 2e-2 || resolved.Model.MaxSeqLength != 32 || resolved.Model.NameOrPath != "tiny" {
		t.Errorf("config.yaml: lr %v, max_seq_length %d, model %q", resolved.Training.LearningRate, resolved.Model.MaxSeqLength, resolved.Model.NameOrPath)
	}
	var sum Summary
	testutil.ReadJSON(t, filepath.Join(out, SummaryFileName), &sum)
	if sum.Steps != 6 || sum.Updates != 6 || sum.Tokens <= 0 || sum.Compilations < 2 || sum.FinalTrainLoss == nil ||
		math.Abs(*sum.FinalTrainLoss-losses[5]) > 1e-9 || sum.TokensPerSec <= 0 || sum.Trainable != res.Adapter.NumTrainable() {
		t.Errorf("summary.json: %+v", sum)
	}
	var ds DataSummary
	testutil.ReadJSON(t, filepath.Join(out, stage.DataSummaryFileName), &ds)
	if ds.Train.Examples != 2 || ds.MaxSeqLength != 32 || len(ds.Sources) != 1 || !ds.Sources[0].OnlyFinalTurn || len(ds.Eval) != 0 {
		t.Errorf("data_summary.json: %+v", ds)
	}
	if n := len(readMetrics(t, out)); n != 6 {
		t.Errorf("metrics.jsonl has %d records, want 6", n)
	}

	// Base weights bitwise unchanged, only adapter tensors trained.
	base, err := gemma3n.Open("tiny", dtypes.Float32)
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range base.Config.Weights() {
		want, _ := base.WeightVariable(spec.Name).Value()
		got, err := res.Model.WeightVariable(spec.Name).Value()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(tensors.MustCopyFlatData[float32](got), tensors.MustCopyFlatData[float32](want)) {
			t.Errorf("base weight %s changed", spec.Name)
		}
	}
	var trained []string
	for v := range res.Model.Store.IterVariables() {
		if v.Trainable {
			trained = append(trained, v.Path())
		}
	}
	var adapterVars []string
	movedB := 0
	for _, m := range res.Adapter.Modules() {
		a, b := res.Adapter.Variables(m.Name)
		adapterVars = append(adapterVars, a.Path(), b.Path())
		bValue, _ := b.Value()
		if slices.ContainsFunc(tensors.MustCopyFlatData[float32](bValue), func(x float32) bool { return x != 0 }) {
			movedB++
		}
	}
	slices.Sort(trained)
	slices.Sort(adapterVars)
	if !slices.Equal(trained, adapterVars) {
		t.Errorf("trainable variables %v, want exactly the adapter's %v", trained, adapterVars)
	}
	if movedB == 0 {
		t.Error("no lora_B moved away from zero")
	}

	// The saved adapter reproduces the trained model's logits.
	ids := [][]int32{append([]int32{res.Tokenizer.BOS()}, res.Tokenizer.Encode("How do you feel about drinking less?")...)}
	trainedLogits, _, err := res.Model.Score(testutil.Backend(t), ids)
	if err != nil {
		t.Fatal(err)
	}
	baseLogits, _, err := base.Score(testutil.Backend(t), ids)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lora.Load(base, filepath.Join(out, stage.AdapterDirName)); err != nil {
		t.Fatal(err)
	}
	reloadedLogits, _, err := base.Score(testutil.Backend(t), ids)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(trainedLogits, reloadedLogits); d > 1e-5 {
		t.Errorf("reloaded adapter: logits differ from the trained model's by %g", d)
	}
	if d := maxDiff(trainedLogits, baseLogits); d < 1e-3 {
		t.Errorf("the trained adapter barely changes the logits (max |Δ| %g against the base)", d)
	}

	// A next phase continues from the saved adapter, with its settings (r=8
	// from adapter_config.json, not lora.r=4 of the options).
	next := t.TempDir()
	opts = tinyOptions(t, next, "training.max_steps=1", "training.learning_rate=1e-9")
	opts.Conversations, opts.InitAdapter = withSplit(annomiTrain(t, 2), data.SplitTrain), filepath.Join(out, stage.AdapterDirName)
	var nextLoss float64
	opts.OnStep = func(m train.StepMetrics) { nextLoss = m.Loss }
	phase2, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if r := phase2.Adapter.Config().R; r != 8 {
		t.Errorf("continued adapter has r=%d, want the initial adapter's 8", r)
	}
	if !(nextLoss < first-0.5) {
		t.Errorf("the next phase starts at loss %.4f, not from the trained adapter (first loss of phase 1: %.4f)", nextLoss, first)
	}
	if d := testutil.MaxAbsDiffByName(t, readAdapter(t, filepath.Join(out, stage.AdapterDirName)), readAdapter(t, filepath.Join(next, stage.AdapterDirName))); d > 1e-6 {
		t.Errorf("one step at learning rate 1e-9 moved the continued adapter by %g", d)
	}
}

// maxDiff is the largest |Δ| between two float32 tensors.
func maxDiff(a, b *tensors.Tensor) float64 {
	return testutil.MaxAbsDiff(tensors.MustCopyFlatData[float32](a), tensors.MustCopyFlatData[float32](b))
}

// TestResumeMatchesUninterrupted kills a run (cancels it without a final
// checkpoint) after step 3, resumes it from its step-2 checkpoint and
// compares it with a run that was never interrupted: same losses, same
// final and best adapters. Dropout is on, so the random state must be
// restored too.
func TestResumeMatchesUninterrupted(t *testing.T) {
	convs := append(withSplit(annomiTrain(t, 4)[:3], data.SplitTrain), withSplit(annomiTrain(t, 4)[3:], data.SplitValidation)...)
	file := writeConversations(t, convs)
	options := func(out string) Options {
		o := tinyOptions(t, out, "training.max_steps=4", "training.save_steps=2", "training.eval_steps=2",
			"training.learning_rate=1e-2", "lora.lora_dropout=0.2")
		o.Data, o.MaxEvalExamples = file, 1
		return o
	}

	straight := t.TempDir()
	var straightLosses []float64
	o := options(straight)
	o.OnStep = func(m train.StepMetrics) { straightLosses = append(straightLosses, m.Loss) }
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}

	// Cancelled at step 3: the newest checkpoint is the periodic one of
	// step 2, or step 3 itself with SaveOnCancel; either way the resumed
	// run ends where the uninterrupted one did.
	for _, saveOnCancel := range []bool{false, true} {
		t.Run(fmt.Sprintf("SaveOnCancel=%v", saveOnCancel), func(t *testing.T) {
			resumeAfterCancel(t, options, straight, straightLosses, saveOnCancel)
		})
	}
}

func resumeAfterCancel(t *testing.T, options func(string) Options, straight string, straightLosses []float64, saveOnCancel bool) {
	want := "step-00000002"
	if saveOnCancel {
		want = "step-00000003"
	}
	killed := t.TempDir()
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := options(killed)
	o.SaveOnCancel = saveOnCancel
	o.OnStep = func(m train.StepMetrics) {
		if m.Step == 3 {
			cancel()
		}
	}
	if _, err := Run(runCtx, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("killed run: got error %v, want a cancellation", err)
	}
	if latest, _ := train.LatestCheckpoint(killed); filepath.Base(latest) != want {
		t.Fatalf("killed run: newest checkpoint %q, want %s", latest, want)
	}
	if _, err := Run(context.Background(), options(killed)); err == nil || !strings.Contains(err.Error(), "already has checkpoints") {
		t.Fatalf("a second run in the same directory without Resume: got %v, want a refusal", err)
	}

	o = options(killed)
	o.Resume = true
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(res.Summary.ResumedFrom) != want || res.Summary.Steps != 4 {
		t.Errorf("resumed from %q, %d steps", res.Summary.ResumedFrom, res.Summary.Steps)
	}
	for _, dir := range []string{stage.AdapterDirName, stage.BestAdapterDirName} {
		d := testutil.MaxAbsDiffByName(t, readAdapter(t, filepath.Join(straight, dir)), readAdapter(t, filepath.Join(killed, dir)))
		t.Logf("%s: max |Δ| %g", dir, d)
		if d > 1e-6 {
			t.Errorf("%s of the resumed run differs from the uninterrupted one by %g", dir, d)
		}
	}
	var steps []int
	var losses []float64
	for _, r := range readMetrics(t, killed) {
		if r.Kind == "train" {
			steps = append(steps, r.Step)
			losses = append(losses, *r.Loss)
		}
	}
	if !slices.Equal(steps, []int{1, 2, 3, 4}) {
		t.Errorf("metrics.jsonl of the resumed run has steps %v, want 1 2 3 4 once each", steps)
	}
	for i := range min(len(losses), len(straightLosses)) {
		if math.Abs(losses[i]-straightLosses[i]) > 1e-6 {
			t.Errorf("step %d: loss %.7f resumed, %.7f uninterrupted", i+1, losses[i], straightLosses[i])
		}
	}
}

// stepsRun is what a short tiny-preset run on a JSONL file produced.
type stepsRun struct {
	loss, norm []float64
	adapter    map[string][]float32
	res        *Result
}

// runSteps runs SFT on file with the overrides and records every step.
func runSteps(t *testing.T, file string, overrides ...string) stepsRun {
	t.Helper()
	out := t.TempDir()
	o := tinyOptions(t, out, overrides...)
	o.Data = file
	var r stepsRun
	o.OnStep = func(m train.StepMetrics) { r.loss = append(r.loss, m.Loss); r.norm = append(r.norm, m.GradNorm) }
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	r.res, r.adapter = res, readAdapter(t, filepath.Join(out, stage.AdapterDirName))
	return r
}

// sameTraining fails unless a and b have the same losses (relative 1e-5),
// gradient norms (relative normTol) and final adapters (1e-5).
func sameTraining(t *testing.T, nameA, nameB string, a, b stepsRun, normTol float64) {
	t.Helper()
	if len(a.loss) != len(b.loss) {
		t.Fatalf("%d steps (%s) vs %d (%s)", len(a.loss), nameA, len(b.loss), nameB)
	}
	for i := range a.loss {
		if rel := math.Abs(a.loss[i]-b.loss[i]) / a.loss[i]; rel > 1e-5 {
			t.Errorf("step %d: loss %.7f (%s) vs %.7f (%s)", i+1, a.loss[i], nameA, b.loss[i], nameB)
		}
		if rel := math.Abs(a.norm[i]-b.norm[i]) / a.norm[i]; rel > normTol {
			t.Errorf("step %d: gradient norm %.7f (%s) vs %.7f (%s)", i+1, a.norm[i], nameA, b.norm[i], nameB)
		}
	}
	if d := testutil.MaxAbsDiffByName(t, a.adapter, b.adapter); d > 1e-5 {
		t.Errorf("adapters after %d steps differ by %g", len(a.loss), d)
	} else {
		t.Logf("adapters differ by %g; gradient norms %v vs %v", d, a.norm, b.norm)
	}
}

// TestGradAccumulationEqualsBatch: four micro-batches of one example equal
// one batch of four (padded to a common length), on the Gemma model with
// LoRA, gradient clipping and weight decay active.
func TestGradAccumulationEqualsBatch(t *testing.T) {
	file := writeConversations(t, withSplit(annomiTrain(t, 4), data.SplitTrain))
	run := func(batch, accum string) stepsRun {
		return runSteps(t, file, "training.per_device_train_batch_size="+batch, "training.gradient_accumulation_steps="+accum,
			"training.max_steps=2", "training.learning_rate=1e-2", "training.max_grad_norm=0.5", "training.weight_decay=0.1")
	}
	big, small := run("4", "1"), run("1", "4")
	if train := big.res.Data.Train; train.Tokens >= train.Examples*32 {
		t.Fatal("the four examples all have 32 tokens: the batch of four has no padding")
	}
	sameTraining(t, "batch 4", "4 × batch 1", big, small, 1e-5)
}

// TestPackingEqualsPadding: the same examples packed into shared rows or
// padded one per row give the same loss, gradient and adapter, so packed
// examples neither see nor predict each other.
func TestPackingEqualsPadding(t *testing.T) {
	file := writeConversations(t, withSplit(annomiTrain(t, 6), data.SplitTrain))
	run := func(packing string) stepsRun {
		return runSteps(t, file, "training.per_device_train_batch_size=6", "training.packing="+packing,
			"data.debug.max_seq_length=64", "training.max_steps=2", "training.learning_rate=1e-2")
	}
	padded, packed := run("false"), run("true")
	pd, pk := padded.res.Data.Train, packed.res.Data.Train
	t.Logf("rows: %d padded, %d packed", pd.Rows, pk.Rows)
	if pk.Rows >= pd.Rows || pk.Batches != 1 || pd.Batches != 1 {
		t.Fatalf("rows %d packed vs %d padded, batches %d and %d: want fewer packed rows, one batch each", pk.Rows, pd.Rows, pk.Batches, pd.Batches)
	}
	sameTraining(t, "padded", "packed", padded, packed, 1e-4)
}

// TestRunRejects checks the errors a run reports before any training.
func TestRunRejects(t *testing.T) {
	file := writeConversations(t, withSplit(annomiTrain(t, 2), data.SplitTrain))
	withCheckpoint := t.TempDir()
	if err := os.MkdirAll(filepath.Join(withCheckpoint, "checkpoints", "step-00000001"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(withCheckpoint, "checkpoints", "step-00000001", "state.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		modify func(o *Options)
		want   string
	}{
		{"no run directory", func(o *Options) { o.Out = "" }, "no run directory"},
		{"no data", func(o *Options) { o.Data = "" }, "no training data"},
		{"unknown corpus", func(o *Options) { o.Data = "reddit" }, `unknown data "reddit"`},
		{"missing file", func(o *Options) { o.Data = filepath.Join(t.TempDir(), "none.jsonl") }, "no such file"},
		{"data and conversations", func(o *Options) { o.Conversations = annomiTrain(t, 1) }, "not both"},
		{"existing checkpoints", func(o *Options) { o.Out = withCheckpoint }, "already has checkpoints"},
		{"unknown key", func(o *Options) { o.Overrides = append(o.Overrides, "training.learnin_rate=1e-4") }, "learnin_rate"},
		{"invalid value", func(o *Options) { o.Overrides = append(o.Overrides, "training.learning_rate=7") }, "learning_rate"},
		{"bad dtype", func(o *Options) { o.DType = "float16" }, `dtype "float16"`},
		{"bad init adapter", func(o *Options) { o.InitAdapter = t.TempDir() }, "adapter_config.json"},
		{"vocabulary mismatch", func(o *Options) { o.Model = tinyWithoutTokenizer(t) }, "outside the model's vocabulary of 512 ids"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := tinyOptions(t, t.TempDir(), "training.max_steps=0")
			o.Data = file
			tc.modify(&o)
			_, err := Run(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
