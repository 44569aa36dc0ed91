package gemma3n

import (
	"math"

	"github.com/gomlx/compute/dtypes"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
)

// mlp is the gated feed-forward block of a layer (spec §3.7).
type mlp struct {
	Gate linear `hf:"gate_proj" shape:"F,D"`
	Up   linear `hf:"up_proj" shape:"F,D"`
	Down linear `hf:"down_proj" shape:"D,F"`
}

// forward is down(gelu_t(topk(gate(x))) ⊙ up(x)), where topk is the
// Gaussian top-k that keeps about 1 − sparsity of the units (none when
// sparsity is 0).
func (m *mlp) forward(f *forward, x *Node, sparsity float64) *Node {
	gate := m.Gate.forward(f, x)
	if sparsity > 0 {
		gate = gaussianTopK(gate, sparsity)
	}
	up := m.Up.forward(f, x)
	return m.Down.forward(f, Mul(geluTanh(gate), up))
}

// gaussianTopK keeps about (1−p) of the units of x (per token, last axis),
// assuming they are normally distributed: relu(x − (μ + z·σ)), where μ and
// σ are the mean and population standard deviation over the last axis and
// z = Φ⁻¹(p). It is differentiable (through relu, μ and σ). The statistics
// are computed in float32 (HF reduces with float32 accumulation; SimpleGo
// would accumulate bfloat16 reductions in bfloat16) and the result is cast
// back to x's dtype.
func gaussianTopK(x *Node, p float64) *Node {
	x32 := ConvertDType(x, dtypes.Float32)
	mean := ReduceAndKeep(x32, ReduceMean, -1)
	std := Sqrt(ReduceAndKeep(Square(Sub(x32, mean)), ReduceMean, -1))
	// HF computes z in float32 and casts it to the activation dtype.
	z := roundToDType(float64(float32(InverseNormalCDF(p))), x.DType())
	cutoff := Add(mean, MulScalar(std, z))
	return ConvertDType(Max(Sub(x32, cutoff), ZerosLike(x32)), x.DType())
}

// InverseNormalCDF is Φ⁻¹(p), the quantile of the standard normal
// distribution: √2·erfinv(2p − 1).
func InverseNormalCDF(p float64) float64 {
	return math.Sqrt2 * math.Erfinv(2*p-1)
}

// roundToDType rounds v to the nearest value of dtype (ties to even), as a
// PyTorch cast does; dtypes other than bfloat16 round to float32.
func roundToDType(v float64, dtype dtypes.DType) float64 {
	f := float32(v)
	if dtype != dtypes.BFloat16 {
		return float64(f)
	}
	bits := math.Float32bits(f)
	bits += 0x7fff + (bits>>16)&1 // round to nearest even on the low 16 bits
	return float64(math.Float32frombits(bits &^ 0xffff))
}
