package sft

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// fullOptions are tinyOptions for a full run on a JSONL file.
func fullOptions(t testing.TB, out, file string, overrides ...string) Options {
	o := tinyOptions(t, out, append([]string{"training.learning_rate=1e-2"}, overrides...)...)
	o.Data, o.Full, o.MaxEvalExamples = file, true, 1
	return o
}

// fullConversations are three AnnoMI train windows and one validation one.
func fullConversations(t *testing.T) string {
	convs := annomiTrain(t, 4)
	return writeConversations(t, append(withSplit(convs[:3], data.SplitTrain), withSplit(convs[3:], data.SplitValidation)...))
}

// weightValues reads every weight of a model, by HF name.
func weightValues(t testing.TB, m *gemma3n.Model) map[string][]float32 {
	t.Helper()
	out := map[string][]float32{}
	for _, spec := range m.Config.Weights() {
		v, err := m.WeightVariable(spec.Name).Value()
		if err != nil {
			t.Fatal(err)
		}
		out[spec.Name] = tensors.MustCopyFlatData[float32](v)
	}
	return out
}

// TestFullTrainsEveryWeight: a full run trains every tensor of the model (none
// stays frozen), its loss falls, and it writes a model directory that
// gemma3n.Load reads back with the trained values, the tokenizer beside it.
func TestFullTrainsEveryWeight(t *testing.T) {
	out := t.TempDir()
	o := fullOptions(t, out, fullConversations(t), "training.max_steps=6", "training.eval_steps=3")
	var losses []float64
	o.OnStep = func(m train.StepMetrics) { losses = append(losses, m.Loss) }
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Adapter != nil {
		t.Error("a full run installed an adapter")
	}
	base, err := gemma3n.Open("tiny", dtypes.Float32)
	if err != nil {
		t.Fatal(err)
	}
	before, after := weightValues(t, base), weightValues(t, res.Model)
	for _, spec := range base.Config.Weights() {
		if slices.Equal(before[spec.Name], after[spec.Name]) {
			t.Errorf("weight %s did not move: a full run must train every weight", spec.Name)
		}
	}
	if len(losses) != 6 || !(losses[5] < losses[0]) {
		t.Errorf("losses %v: want 6 steps and a fall", losses)
	}

	s := res.Summary
	if !s.Full || s.FromScratch || s.Trainable != base.Config.NumParameters() || s.DType != "float32" || s.LossOn != LossOnAssistant ||
		s.SavedModel != filepath.Join(out, ModelDirName) || s.BestSavedModel != filepath.Join(out, BestModelDirName) || s.Adapter != "" {
		t.Errorf("summary: %+v", s)
	}
	loaded, err := gemma3n.Load(s.SavedModel, dtypes.Float32)
	if err != nil {
		t.Fatal(err)
	}
	if d := testutil.MaxAbsDiffByName(t, after, weightValues(t, loaded)); d != 0 {
		t.Errorf("model/ differs from the trained weights by %g", d)
	}
	tok, err := tokenizer.ForModel(s.SavedModel, loaded.Config.VocabSize)
	if err != nil || tok.Name() == tokenizer.TinyName {
		t.Errorf("model/ has no tokenizer of its own (got %v, %v)", tok, err)
	}
	if _, err := os.Stat(filepath.Join(s.SavedModel, gemma3n.GenerationConfigFileName)); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(out, stage.AdapterDirName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a full run wrote an adapter directory (err %v)", err)
	}
	// The best model is the checkpoint of the best evaluation, and loads too.
	if s.BestStep == nil {
		t.Fatal("no best step")
	}
	if _, err := gemma3n.Load(s.BestSavedModel, dtypes.Float32); err != nil {
		t.Error(err)
	}
}

// TestFullDecaysMatricesOnly: one step with and one without weight decay
// (the same gradients): vectors (norm weights, AltUp scales) come out
// bitwise alike, every matrix differs.
func TestFullDecaysMatricesOnly(t *testing.T) {
	file := fullConversations(t)
	run := func(decay string) map[string][]float32 {
		o := fullOptions(t, t.TempDir(), file, "training.max_steps=1", "training.weight_decay="+decay)
		res, err := Run(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		return weightValues(t, res.Model)
	}
	without, with := run("0"), run("0.5")
	cfg, _ := gemma3n.Preset("tiny")
	vectors := 0
	for _, spec := range cfg.Weights() {
		same := slices.Equal(without[spec.Name], with[spec.Name])
		switch len(spec.Shape) {
		case 1:
			vectors++
			if !same {
				t.Errorf("vector %s was decayed", spec.Name)
			}
		default:
			if same {
				t.Errorf("matrix %s %v was not decayed", spec.Name, spec.Shape)
			}
		}
	}
	if vectors == 0 {
		t.Fatal("the tiny preset has no vector weights: the test checks nothing")
	}
}

func TestMatricesOnlyDecay(t *testing.T) {
	store := model.NewStore()
	store.VariableWithValue("/layers/0/input_layernorm/weight", tensors.FromValue([]float32{1, 1}))
	store.VariableWithValue("/layers/0/mlp/up_proj/weight", tensors.FromValue([][]float32{{1, 2}, {3, 4}}))
	store.VariableWithValue("/scale", tensors.FromScalar(float32(1)))
	noDecay := MatricesOnlyDecay(store)
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"/layers/0/input_layernorm/weight", true},
		{"/layers/0/mlp/up_proj/weight", false},
		{"/scale", true},
		{"/missing", true},
	} {
		if got := noDecay(tc.path); got != tc.want {
			t.Errorf("NoDecay(%s) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

// TestFullResumeMatchesUninterrupted: a full run cancelled after step 3 and
// resumed ends with the weights of the uninterrupted run (the checkpoints
// hold every weight and its moments).
func TestFullResumeMatchesUninterrupted(t *testing.T) {
	file := fullConversations(t)
	options := func(out string) Options {
		return fullOptions(t, out, file, "training.max_steps=4", "training.save_steps=2", "training.eval_steps=2", "training.weight_decay=0.1")
	}
	straight := t.TempDir()
	if _, err := Run(context.Background(), options(straight)); err != nil {
		t.Fatal(err)
	}
	killed := t.TempDir()
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := options(killed)
	o.OnStep = func(m train.StepMetrics) {
		if m.Step == 3 {
			cancel()
		}
	}
	if _, err := Run(runCtx, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("killed run: got %v, want a cancellation", err)
	}
	o = options(killed)
	o.Resume = true
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(res.Summary.ResumedFrom) != "step-00000002" || res.Summary.Steps != 4 {
		t.Errorf("resumed from %q after %d steps", res.Summary.ResumedFrom, res.Summary.Steps)
	}
	for _, dir := range []string{ModelDirName, BestModelDirName} {
		a := testutil.ReadFloat32Tensors(t, filepath.Join(straight, dir, "model.safetensors"))
		b := testutil.ReadFloat32Tensors(t, filepath.Join(killed, dir, "model.safetensors"))
		if len(a) == 0 || len(a) != len(b) {
			t.Fatalf("%s: %d and %d tensors", dir, len(a), len(b))
		}
		if d := testutil.MaxAbsDiffByName(t, a, b); d > 1e-6 {
			t.Errorf("%s of the resumed run differs from the uninterrupted one by %g", dir, d)
		}
	}
}

// TestFullFromScratchLossOnAll: from scratch the weights are the random
// initialisation of training.seed (not the preset's seed 0); with the loss on
// every token, every token after <bos> is a target; bfloat16 saving rounds.
func TestFullFromScratchLossOnAll(t *testing.T) {
	out := t.TempDir()
	o := fullOptions(t, out, fullConversations(t), "training.max_steps=1", "training.learning_rate=1e-30", "training.seed=7")
	o.FromScratch, o.LossOn, o.SaveDType = true, LossOnAll, "bfloat16"
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := gemma3n.Preset("tiny")
	want, err := gemma3n.NewRandom(cfg, dtypes.Float32, 7)
	if err != nil {
		t.Fatal(err)
	}
	if d := testutil.MaxAbsDiffByName(t, weightValues(t, want), weightValues(t, res.Model)); d > 1e-25 {
		t.Errorf("with learning rate 1e-30 the weights moved from the seed-7 initialisation by %g", d)
	}
	ds := res.Data
	if ds.LossOn != LossOnAll || ds.Train.Targets != ds.Train.Tokens-ds.Train.Examples {
		t.Errorf("loss on all: %d targets of %d tokens in %d examples (want tokens − examples), loss_on %q",
			ds.Train.Targets, ds.Train.Tokens, ds.Train.Examples, ds.LossOn)
	}
	if ev := ds.Eval[data.SourceAnnoMI]; ev.Targets == 0 || ev.Targets >= ev.Tokens-ev.Examples {
		t.Errorf("evaluation scored %d of %d tokens: it must keep the assistant turns only", ev.Targets, ev.Tokens)
	}
	saved := testutil.ReadFloat32Tensors(t, filepath.Join(res.Summary.SavedModel, "model.safetensors"))
	if len(saved) == 0 || res.Summary.SaveDType != "bfloat16" || !res.Summary.FromScratch {
		t.Errorf("summary %+v", res.Summary)
	}
	for name, values := range saved {
		for _, v := range values {
			if math.Float32bits(v)&0xffff != 0 {
				t.Fatalf("%s holds %v, not a bfloat16 value", name, v)
			}
		}
	}
}

func TestFullRejects(t *testing.T) {
	file := fullConversations(t)
	for _, tc := range []struct {
		name string
		edit func(o *Options)
		want string
	}{
		{"from scratch without full", func(o *Options) { o.Full, o.FromScratch = false, true }, "needs Full"},
		{"save dtype without full", func(o *Options) { o.Full, o.SaveDType = false, "bfloat16" }, "needs Full"},
		{"adapter", func(o *Options) { o.InitAdapter = "adapter" }, "takes no adapter"},
		{"loss on", func(o *Options) { o.LossOn = "user" }, `loss on "user"`},
		{"save dtype", func(o *Options) { o.SaveDType = "float16" }, `save dtype "float16"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := fullOptions(t, t.TempDir(), file)
			tc.edit(&o)
			if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}
