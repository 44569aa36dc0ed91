package dpo

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// A toy causal LM, as in pkg/train's tests: a frozen embedding E [V,D] (the
// "base model"), a trainable low-rank adapter h = e + dropout(e·A)·B (B
// zero-initialised, as LoRA), and logits tied to E. The reference is the
// same model with the adapter switched off.
const (
	toyVocab = 16
	toyDim   = 16
	toyRank  = 8
)

func newToyModel(seed uint64) *model.Store {
	store := model.NewStore()
	scope := store.RootScope()
	rng := rand.New(rand.NewPCG(seed, 7))
	normal := func(n int, std float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * std)
		}
		return v
	}
	scope.In("embed").VariableWithValue("weights", tensors.FromFlatDataAndDimensions(normal(toyVocab*toyDim, 1), toyVocab, toyDim)).SetTrainable(false)
	scope.In("adapter").VariableWithValue("A", tensors.FromFlatDataAndDimensions(normal(toyDim*toyRank, 0.3), toyDim, toyRank))
	scope.At("adapter").VariableWithValue("B", tensors.FromFlatDataAndDimensions(make([]float32, toyRank*toyDim), toyRank, toyDim))
	return store
}

// setToyB gives the adapter's B random values, so that policy and reference differ.
func setToyB(t testing.TB, store *model.Store, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 3))
	b := make([]float32, toyRank*toyDim)
	for i := range b {
		b[i] = float32(rng.NormFloat64() * 0.2)
	}
	if err := store.GetVariable("/adapter/B").SetValue(tensors.FromFlatDataAndDimensions(b, toyRank, toyDim)); err != nil {
		t.Fatal(err)
	}
}

func toyEmbed(scope *model.Scope, ids *Node) (e, emb *Node) {
	emb = scope.At("embed").GetVariable("weights").NodeValue(ids.Graph())
	return Gather(emb, InsertAxes(ids, -1)), emb
}

// toyPolicy is the adapted model.
func toyPolicy(scope *model.Scope, ids, _ *Node) *Node {
	g := ids.Graph()
	e, emb := toyEmbed(scope, ids)
	a := scope.At("adapter").GetVariable("A").NodeValue(g)
	b := scope.At("adapter").GetVariable("B").NodeValue(g)
	low := Einsum("btd,dr->btr", e, a)
	if scope.IsTraining(g) {
		keep := GreaterThan(scope.RandomUniform(g, low.Shape()), Scalar(g, dtypes.Float32, 0.1))
		low = Where(keep, DivScalar(low, 0.9), ZerosLike(low))
	}
	h := Add(e, Einsum("btr,rd->btd", low, b))
	return Einsum("btd,vd->btv", h, emb)
}

// toyReference is the base model: the adapter switched off.
func toyReference(scope *model.Scope, ids, _ *Node) *Node {
	e, emb := toyEmbed(scope, ids)
	return Einsum("btd,vd->btv", e, emb)
}

var toyTrainable = []string{"/adapter/A", "/adapter/B"}

// toyPairs are preference pairs over a 3-token prompt: the chosen answer
// continues with the rule next = (3·cur + 1) mod V, the rejected one with
// next = (5·cur + 2) mod V; answers have 3 to maxAnswer tokens.
func toyPairs(n int, seed uint64, maxAnswer int) []Pair {
	rng := rand.New(rand.NewPCG(seed, 11))
	seq := func(prompt []int32, length int, rule func(int32) int32) train.Example {
		ids := append([]int32(nil), prompt...)
		mask := make([]bool, len(prompt), len(prompt)+length)
		for range length {
			ids = append(ids, rule(ids[len(ids)-1]))
			mask = append(mask, true)
		}
		return train.Example{IDs: ids, LossMask: mask}
	}
	pairs := make([]Pair, n)
	for i := range pairs {
		prompt := []int32{int32(rng.IntN(toyVocab)), int32(rng.IntN(toyVocab)), int32(rng.IntN(toyVocab))}
		pairs[i] = Pair{
			Chosen:   seq(prompt, 3+rng.IntN(maxAnswer-2), func(c int32) int32 { return (3*c + 1) % toyVocab }),
			Rejected: seq(prompt, 3+rng.IntN(maxAnswer-2), func(c int32) int32 { return (5*c + 2) % toyVocab }),
		}
	}
	return pairs
}

// testTrainConfig is a small, fully specified training configuration.
func testTrainConfig(runDir string) train.Config {
	cfg := train.DefaultConfig(runDir)
	cfg.LearningRate = 0.05
	cfg.WarmupRatio = 0
	cfg.NoProgress = true
	cfg.Logger = testutil.QuietLogger()
	cfg.KeepLast = 0
	return cfg
}

func mustPairSource(t testing.TB, pairs []Pair, cfg train.LMSourceConfig) *PairSource {
	t.Helper()
	src, err := NewPairSource(pairs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func mustObjective(t testing.TB, model Model, p Params) train.Objective {
	t.Helper()
	obj, err := Objective(model, p)
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// evalBatch computes the objective of one batch (evaluation mode) and
// returns the loss sum, the weight and the metric sums.
func evalBatch(t testing.TB, store *model.Store, obj train.Objective, batch train.Batch) (sum, weight float64, metrics map[string]float64) {
	t.Helper()
	var names []string
	exec, err := model.NewExec(testutil.Backend(t), store, func(scope *model.Scope, inputs []*Node) []*Node {
		scope.Store().SetTraining(inputs[0].Graph(), false)
		loss := obj(scope, inputs)
		outs := []*Node{loss.Sum, loss.Weight}
		names = names[:0]
		for name, node := range loss.Metrics {
			names = append(names, name)
			outs = append(outs, node)
		}
		return outs
	})
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	args := make([]any, len(batch.Inputs))
	for i, x := range batch.Inputs {
		args[i] = x
	}
	outs, err := exec.Exec(args...)
	if err != nil {
		t.Fatal(err)
	}
	value := func(x *tensors.Tensor) float64 { return float64(x.Value().(float32)) }
	metrics = map[string]float64{}
	for i, name := range names {
		metrics[name] = value(outs[2+i])
	}
	return value(outs[0]), value(outs[1]), metrics
}
