package train

import (
	"strings"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph-building code reads best unqualified
)

// DefaultNoDecay excludes normalisation weights and biases from weight decay,
// as TRL/HF do: a variable whose full name (scope and name, lower-cased)
// contains "norm" or "bias" is not decayed.
func DefaultNoDecay(name string) bool {
	name = strings.ToLower(name)
	return strings.Contains(name, "norm") || strings.Contains(name, "bias")
}

// gradNormEpsilon keeps the clipping factor finite for a zero norm (as in
// PyTorch's clip_grad_norm_).
const gradNormEpsilon = 1e-6

// ClipByGlobalNorm returns the gradients scaled so that their global L2 norm
// (over all tensors together) is at most maxNorm, and the norm before
// clipping (float32). maxNorm ≤ 0 disables clipping. Gradients below the
// limit are returned unchanged.
func ClipByGlobalNorm(grads []*Node, maxNorm float64) (clipped []*Node, norm *Node) {
	norm = GlobalNorm(grads)
	if maxNorm <= 0 {
		return grads, norm
	}
	scale := MinScalar(Div(Scalar(norm.Graph(), dtypes.Float32, maxNorm), AddScalar(norm, gradNormEpsilon)), 1.0)
	clipped = make([]*Node, len(grads))
	for i, grad := range grads {
		clipped[i] = Mul(grad, ConvertDType(scale, grad.DType()))
	}
	return clipped, norm
}

// GlobalNorm is the L2 norm of all the tensors taken together, in float32.
func GlobalNorm(tensors []*Node) *Node {
	var sumSquares *Node
	for _, x := range tensors {
		s := ReduceAllSum(Square(ConvertDType(x, dtypes.Float32)))
		if sumSquares == nil {
			sumSquares = s
		} else {
			sumSquares = Add(sumSquares, s)
		}
	}
	return Sqrt(sumSquares)
}

// adamWHyper are the graph scalars of one AdamW update.
type adamWHyper struct {
	lr       *Node // learning rate of this step
	biasCor1 *Node // 1 / (1 - β1^t)
	biasCor2 *Node // 1 / (1 - β2^t)
	beta1    float64
	beta2    float64
	epsilon  float64
}

// adamWUpdate is one step of PyTorch's AdamW (decoupled weight decay), in
// float32: p ← p·(1 − lr·decay); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
// p ← p − lr·m̂/(√v̂ + ε) with m̂ = m/(1−β1^t), v̂ = v/(1−β2^t).
func adamWUpdate(param, grad, m, v *Node, decay float64, h adamWHyper) (newParam, newM, newV *Node) {
	p := ConvertDType(param, dtypes.Float32)
	grad = ConvertDType(grad, dtypes.Float32)
	newM = Add(MulScalar(m, h.beta1), MulScalar(grad, 1-h.beta1))
	newV = Add(MulScalar(v, h.beta2), MulScalar(Square(grad), 1-h.beta2))
	if decay > 0 {
		p = Sub(p, Mul(p, MulScalar(h.lr, decay)))
	}
	denominator := AddScalar(Sqrt(Mul(newV, h.biasCor2)), h.epsilon)
	step := Div(Mul(newM, Mul(h.lr, h.biasCor1)), denominator)
	newParam = ConvertDType(Sub(p, step), param.DType())
	return newParam, newM, newV
}
