package lora

import (
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
)

// TestGradientCheckpointingKeepsGradients computes the loss and the
// gradient of every LoRA variable of the fixture adapter (with dropout off)
// with and without gradient checkpointing: recomputing each decoder layer in
// the backward pass must not change them.
func TestGradientCheckpointingKeepsGradients(t *testing.T) {
	run := func(remat bool) (float32, [][]float32) {
		m := loadTiny(t, dtypes.Float32)
		m.GradientCheckpointing = remat
		a, err := Load(m, fixtureAdapter)
		if err != nil {
			t.Fatal(err)
		}
		var vars []*model.Variable
		for _, mod := range a.Modules() {
			va, vb := a.Variables(mod.Name)
			vars = append(vars, va, vb)
		}
		ids := loadReference(t).ids
		targets, weights := nextTokenTargets(t, ids)
		exec, err := model.NewExec(testutil.Backend(t), m.Store, func(scope *model.Scope, ids, targets, weights *Node) []*Node {
			scope.Store().SetTraining(ids.Graph(), true)
			loss := gemma3n.Loss(m.Logits(scope, ids, nil, nil), targets, weights)
			params := make([]*Node, len(vars))
			for i, v := range vars {
				params[i] = v.NodeValue(ids.Graph())
			}
			return append([]*Node{loss}, Gradient(loss, params...)...)
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Exec(ids, targets, weights)
		if err != nil {
			t.Fatal(err)
		}
		grads := make([][]float32, len(vars))
		for i := range vars {
			grads[i] = tensors.MustCopyFlatData[float32](out[1+i])
		}
		return tensors.ToScalar[float32](out[0]), grads
	}
	loss, grads := run(false)
	lossRemat, gradsRemat := run(true)
	if d := float64(loss - lossRemat); d > 1e-6 || d < -1e-6 {
		t.Errorf("loss %v without checkpointing, %v with", loss, lossRemat)
	}
	nonZero := 0
	for i := range grads {
		if d := testutil.MaxAbsDiff(grads[i], gradsRemat[i]); d > 1e-6 {
			t.Errorf("gradient %d differs by %g with checkpointing", i, d)
		}
		if testutil.MaxAbsDiff(grads[i], make([]float32, len(grads[i]))) > 0 {
			nonZero++
		}
	}
	if nonZero < len(grads)/2 {
		t.Errorf("only %d of %d LoRA gradients are non-zero: the check would not see a difference", nonZero, len(grads))
	}
}
