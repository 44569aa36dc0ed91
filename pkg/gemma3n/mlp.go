package gemma3n

import (
	"math"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck
)

// mlp is the gated feed-forward block of layer l (spec §3.7):
// down(gelu_t(topk(gate(x))) ⊙ up(x)), where topk is the Gaussian top-k of
// layers with activation sparsity > 0.
//
//	layers.{l}.mlp.gate_proj.weight [F, D]
//	layers.{l}.mlp.up_proj.weight   [F, D]
//	layers.{l}.mlp.down_proj.weight [D, F]
func (f *forward) mlp(l int, x *Node) *Node {
	prefix := layerPrefix(l) + "mlp."
	gate := f.linear(prefix+"gate_proj", x)
	if p := f.cfg.ActivationSparsity[l]; p > 0 {
		gate = gaussianTopK(gate, p)
	}
	up := f.linear(prefix+"up_proj", x)
	return f.linear(prefix+"down_proj", Mul(geluTanh(gate), up))
}

// gaussianTopK keeps about (1−p) of the units of x (per token, last axis),
// assuming they are normally distributed: relu(x − (μ + z·σ)), where μ and
// σ are the mean and population standard deviation over the last axis and
// z = Φ⁻¹(p). It is differentiable (through relu, μ and σ).
func gaussianTopK(x *Node, p float64) *Node {
	mean := ReduceAndKeep(x, ReduceMean, -1)
	centered := Sub(x, mean)
	std := Sqrt(ReduceAndKeep(Square(centered), ReduceMean, -1))
	// HF computes z in float32 and casts it to the activation dtype.
	z := float64(float32(InverseNormalCDF(p)))
	cutoff := Add(mean, MulScalar(std, z))
	return Max(Sub(x, cutoff), ZerosLike(x))
}

// InverseNormalCDF is Φ⁻¹(p), the quantile of the standard normal
// distribution: √2·erfinv(2p − 1).
func InverseNormalCDF(p float64) float64 {
	return math.Sqrt2 * math.Erfinv(2*p-1)
}
