package train

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
)

// A toy causal LM: a frozen embedding E [V,D] (the "base model"), a
// trainable low-rank adapter h = e + (e·A)·B (A created eagerly, B lazily in
// the graph, zero-initialised as LoRA does), a trainable scale (a "norm",
// excluded from weight decay), dropout in training, and logits tied to E.
const (
	toyVocab = 16
	toyDim   = 16
	toyRank  = 8
)

func newToyModel(seed uint64) *model.Store {
	store := model.NewStore()
	scope := store.RootScope()
	rng := rand.New(rand.NewPCG(seed, 7))
	emb := make([]float32, toyVocab*toyDim)
	for i := range emb {
		emb[i] = float32(rng.NormFloat64())
	}
	scope.In("embed").VariableWithValue("weights", tensors.FromFlatDataAndDimensions(emb, toyVocab, toyDim)).SetTrainable(false)
	a := make([]float32, toyDim*toyRank)
	for i := range a {
		a[i] = float32(rng.NormFloat64() * 0.3)
	}
	scope.In("adapter").VariableWithValue("A", tensors.FromFlatDataAndDimensions(a, toyDim, toyRank))
	return store
}

func toyLogits(scope *model.Scope, ids, _ *Node) *Node {
	g := ids.Graph()
	emb := scope.At("embed").GetVariable("weights").NodeValue(g)
	e := Gather(emb, InsertAxes(ids, -1)) // [B,T,D]
	a := scope.At("adapter").GetVariable("A").NodeValue(g)
	b := scope.At("adapter").WithInitializer(initializer.Zero).
		VariableWithShape("B", shapes.Make(dtypes.Float32, toyRank, toyDim)).NodeValue(g)
	scale := scope.At("final_norm").WithInitializer(initializer.One).
		VariableWithShape("scale", shapes.Make(dtypes.Float32, toyDim)).NodeValue(g)
	low := Einsum("btd,dr->btr", e, a)
	if scope.IsTraining(g) {
		keep := GreaterThan(scope.RandomUniform(g, low.Shape()), Scalar(g, dtypes.Float32, 0.1))
		low = Where(keep, DivScalar(low, 0.9), ZerosLike(low))
	}
	h := Add(e, Einsum("btr,rd->btd", low, b))
	h = Mul(h, BroadcastToShape(Reshape(scale, 1, 1, toyDim), h.Shape()))
	return Einsum("btd,vd->btv", h, emb)
}

// toyExamples are sequences of the bigram rule next = (3·cur + 1) mod V,
// of varied lengths, with a 2-token "prompt" that is not trained.
func toyExamples(n int, seed uint64, minLen, maxLen int) []Example {
	rng := rand.New(rand.NewPCG(seed, 11))
	out := make([]Example, n)
	for i := range out {
		length := minLen + rng.IntN(maxLen-minLen+1)
		ids := make([]int32, length)
		mask := make([]bool, length)
		ids[0] = int32(rng.IntN(toyVocab))
		for t := 1; t < length; t++ {
			ids[t] = (3*ids[t-1] + 1) % toyVocab
			mask[t] = t >= 2
		}
		out[i] = Example{IDs: ids, LossMask: mask}
	}
	return out
}

// testConfig is a small, fully specified configuration.
func testConfig(runDir string) Config {
	cfg := DefaultConfig(runDir)
	cfg.LearningRate = 0.05
	cfg.WarmupRatio = 0
	cfg.NoProgress = true
	cfg.Logger = testutil.QuietLogger()
	cfg.KeepLast = 0
	return cfg
}

func mustLMSource(t testing.TB, examples []Example, cfg LMSourceConfig) *LMSource {
	t.Helper()
	src, err := NewLMSource(examples, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

var toyTrainable = []string{"/adapter/A", "/adapter/B", "/final_norm/scale"}
