package lora

import (
	"math"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
)

// Fixtures (copied from the project's reference fixtures): the 6-layer tiny
// Gemma 3n saved by transformers 5.17.0 and a PEFT 0.21.0 LoRA adapter for
// it (r=4, alpha=8, q/k/v/o) with the logits and loss of base + adapter.
var (
	tinyDir        = testutil.TinyModel()
	fixtureAdapter = testutil.TinyAdapter()
)

const (
	// baseLoss is the fixture's loss of the tiny model without adapter
	// (fixtures README; the adapter's reference file holds only its own).
	baseLoss = 6.28847
)

// loadTiny loads a fresh copy of the fixture model (adapters add variables
// to its context, so tests do not share models).
func loadTiny(t testing.TB, dtype dtypes.DType) *gemma3n.Model {
	t.Helper()
	m, err := gemma3n.Load(tinyDir, dtype)
	if err != nil {
		t.Fatalf("gemma3n.Load(%s): %v", tinyDir, err)
	}
	return m
}

// reference holds the adapter fixture's reference outputs.
type reference struct {
	ids    [][]int32
	logits []float32
	loss   float32
}

func loadReference(t testing.TB) reference {
	t.Helper()
	ck, err := safetensors.OpenCheckpoint(fixtureAdapter + "/reference.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ck.Close() }()
	get := func(name string, dtype dtypes.DType) *tensors.Tensor {
		x, err := ck.Tensor(name, dtype)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	return reference{
		ids:    get("input_ids", dtypes.Int32).Value().([][]int32),
		logits: tensors.MustCopyFlatData[float32](get("logits", dtypes.Float32)),
		loss:   tensors.MustCopyFlatData[float32](get("loss", dtypes.Float32))[0],
	}
}

// logitsAndLoss runs the model (with whatever Linear it has now) on ids and
// returns the float32 logits and the mean next-token loss.
func logitsAndLoss(t testing.TB, m *gemma3n.Model, ids [][]int32) ([]float32, float32) {
	t.Helper()
	targets, weights := nextTokenTargets(t, ids)
	exec, err := model.NewExec(testutil.Backend(t), m.Store, func(scope *model.Scope, ids, targets, weights *Node) []*Node {
		logits := m.Logits(scope, ids, nil, nil)
		return []*Node{ConvertDType(logits, dtypes.Float32), gemma3n.Loss(logits, targets, weights)}
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(ids, targets, weights)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](out[0]), tensors.ToScalar[float32](out[1])
}

// tinyIDs are a few token ids for tests that need no reference.
var tinyIDs = [][]int32{{2, 17, 300, 45, 9, 88, 120, 7, 501, 33}, {2, 5, 6, 7, 8, 9, 10, 11, 12, 13}}

// setB gives every B of the adapter deterministic non-zero values.
func setB(t testing.TB, a *Adapter, scale float32) {
	t.Helper()
	for mi, m := range a.Modules() {
		_, varB := a.Variables(m.Name)
		values := make([]float32, m.Out*m.Rank)
		for i := range values {
			values[i] = scale * float32(math.Sin(float64(7*i+13*mi+1)))
		}
		if err := varB.SetValue(tensors.FromFlatDataAndDimensions(values, m.Out, m.Rank)); err != nil {
			t.Fatal(err)
		}
	}
}

func variableData(t testing.TB, v *model.Variable) []float32 {
	t.Helper()
	x, err := v.Value()
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](x)
}

// nextTokenTargets supervises every token but the first.
func nextTokenTargets(t testing.TB, ids [][]int32) ([][]int32, [][]float32) {
	t.Helper()
	targets, weights, err := gemma3n.NextTokenTargets(ids, nil)
	if err != nil {
		t.Fatal(err)
	}
	return targets, weights
}

// lossOf is the model's mean next-token loss.
func lossOf(scope *model.Scope, m *gemma3n.Model, ids, targets, weights *Node) *Node {
	return gemma3n.Loss(m.Logits(scope, ids, nil, nil), targets, weights)
}
