package gemma3n

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
)

// The reference fixture: a 6-layer Gemma 3n with random (perturbed) weights,
// saved by transformers 5.17.0, and its float32 outputs (see
// pkg/internal/testutil/testdata and its README).
var tinyDir = testutil.TinyModel()

// gradParams are the six weights whose loss gradients the fixture holds.
var gradParams = []string{
	"layers.0.self_attn.q_proj.weight",
	"layers.5.self_attn.o_proj.weight",
	"layers.3.self_attn.v_proj.weight",
	"embed_tokens_per_layer.weight",
	"layers.1.altup.correction_coefs.weight",
	"layers.1.laurel.linear_left.weight",
}

var (
	tinyOnce  sync.Once
	tinyModel *Model
	tinyErr   error
)

// loadTiny loads the fixture model once per test binary.
func loadTiny(t testing.TB) *Model {
	t.Helper()
	tinyOnce.Do(func() { tinyModel, tinyErr = Load(tinyDir, dtypes.Float32) })
	if tinyErr != nil {
		t.Fatalf("Load(%s): %v", tinyDir, tinyErr)
	}
	return tinyModel
}

// reference reads tensors of the fixture's reference.safetensors.
type reference struct{ ck *safetensors.Checkpoint }

func openReference(t testing.TB) *reference {
	t.Helper()
	ck, err := safetensors.OpenCheckpoint(tinyDir + "/reference.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ck.Close() })
	return &reference{ck}
}

func (r *reference) tensor(t testing.TB, name string, dtype dtypes.DType) *tensors.Tensor {
	t.Helper()
	x, err := r.ck.Tensor(name, dtype)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func (r *reference) floats(t testing.TB, name string) []float32 {
	return tensors.MustCopyFlatData[float32](r.tensor(t, name, dtypes.Float32))
}

func (r *reference) ids(t testing.TB, name string) [][]int32 {
	x := r.tensor(t, name, dtypes.Int32)
	return x.Value().([][]int32)
}

func flat32(t testing.TB, x *tensors.Tensor) []float32 {
	t.Helper()
	if x.DType() != dtypes.Float32 {
		t.Fatalf("want float32, got %s", x.DType())
	}
	return tensors.MustCopyFlatData[float32](x)
}

// relError is ‖a − b‖ / ‖b‖.
func relError(a, b []float32) float64 {
	var num, den float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		num += d * d
		den += float64(b[i]) * float64(b[i])
	}
	return math.Sqrt(num / max(den, 1e-30))
}

// parityOutputs runs the fixture inputs through the model once: logits,
// hidden states, loss and the gradients of gradParams.
type parityOutputs struct {
	logits *tensors.Tensor
	hidden []*tensors.Tensor
	loss   float32
	grads  map[string]*tensors.Tensor
}

var (
	parityOnce sync.Once
	parityOut  *parityOutputs
	parityErr  error
)

func runParity(t *testing.T) *parityOutputs {
	t.Helper()
	m := loadTiny(t)
	ref := openReference(t)
	ids := ref.ids(t, "input_ids")
	parityOnce.Do(func() { parityOut, parityErr = computeParity(testutil.Backend(t), m, ids) })
	if parityErr != nil {
		t.Fatal(parityErr)
	}
	return parityOut
}

func computeParity(b compute.Backend, m *Model, ids [][]int32) (*parityOutputs, error) {
	targets, weights, err := NextTokenTargets(ids, nil)
	if err != nil {
		return nil, err
	}
	L := m.Config.NumHiddenLayers
	exec, err := model.NewExec(b, m.Store, func(scope *model.Scope, ids, targets, weights *Node) []*Node {
		logits, hidden := m.HiddenStates(scope, ids, nil, nil)
		loss := Loss(logits, targets, weights)
		var params []*Node
		for _, name := range gradParams {
			params = append(params, scope.Store().GetVariable(VariablePath(name)).NodeValue(ids.Graph()))
		}
		grads := Gradient(loss, params...)
		return slices.Concat([]*Node{logits, loss}, hidden, grads)
	})
	if err != nil {
		return nil, err
	}
	out, err := exec.Exec(ids, targets, weights)
	if err != nil {
		return nil, err
	}
	if len(out) != 2+L+1+len(gradParams) {
		return nil, fmt.Errorf("got %d outputs", len(out))
	}
	p := &parityOutputs{logits: out[0], loss: tensors.ToScalar[float32](out[1]), hidden: out[2 : 2+L+1], grads: map[string]*tensors.Tensor{}}
	for i, name := range gradParams {
		p.grads[name] = out[2+L+1+i]
	}
	return p, nil
}

func TestParityLogitsAndLoss(t *testing.T) {
	p := runParity(t)
	ref := openReference(t)
	want := ref.floats(t, "logits")
	got := flat32(t, p.logits)
	if !slices.Equal(p.logits.Shape().Dimensions, []int{2, 24, 512}) {
		t.Fatalf("logits shape %v, want [2 24 512]", p.logits.Shape())
	}
	if d := testutil.MaxAbsDiff(got, want); d > 1e-4 {
		t.Errorf("logits max |Δ| = %.3g, want ≤ 1e-4", d)
	} else {
		t.Logf("logits max |Δ| = %.3g", d)
	}
	wantLoss := ref.floats(t, "loss")[0]
	if d := math.Abs(float64(p.loss - wantLoss)); d > 1e-5 {
		t.Errorf("loss %.7f, want %.7f (|Δ| = %.3g > 1e-5)", p.loss, wantLoss, d)
	} else {
		t.Logf("loss %.7f vs %.7f (|Δ| = %.3g)", p.loss, wantLoss, d)
	}
}

func TestParityHiddenStates(t *testing.T) {
	p := runParity(t)
	ref := openReference(t)
	for i, h := range p.hidden {
		name := fmt.Sprintf("hidden_state_%d", i)
		want := ref.floats(t, name)
		if !slices.Equal(h.Shape().Dimensions, []int{4, 2, 24, 64}) {
			t.Fatalf("%s shape %v, want [4 2 24 64]", name, h.Shape())
		}
		d := testutil.MaxAbsDiff(flat32(t, h), want)
		scale := 0.0
		for _, v := range want {
			scale = max(scale, math.Abs(float64(v)))
		}
		// Streams grow through the layers; compare relative to their range.
		if d > 1e-5*max(1, scale) {
			t.Errorf("%s: max |Δ| = %.3g (values up to %.3g)", name, d, scale)
		} else {
			t.Logf("%s: max |Δ| = %.3g (values up to %.3g)", name, d, scale)
		}
	}
}

func TestParityGradients(t *testing.T) {
	p := runParity(t)
	ref := openReference(t)
	for _, name := range gradParams {
		want := ref.floats(t, "grad.model."+name)
		got := flat32(t, p.grads[name])
		if len(got) != len(want) {
			t.Fatalf("grad %s: %d values, want %d", name, len(got), len(want))
		}
		if e := relError(got, want); e > 1e-3 {
			t.Errorf("grad %s: relative error %.3g > 1e-3", name, e)
		} else {
			t.Logf("grad %s: relative error %.3g", name, e)
		}
	}
}
