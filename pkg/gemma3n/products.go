package gemma3n

import (
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
)

// Matrix products of bfloat16 operands (spec §4) run in float32 on GoMLX's
// pure-Go backend. Its bfloat16 kernels accumulate in float32 too, so the
// result is the same up to summation order, but they are slow: on an AVX-512
// Xeon (Sapphire Rapids) a 1024³ bfloat16 product runs at 0.45 GFLOP/s against
// 71 GFLOP/s for float32, because the Go compiler emits a legacy-SSE MOVD
// between AVX-512 instructions in the kernel's inner loop (each one pays an
// SSE/AVX transition); on the machines where they do not stall (AMD) the
// float32 kernels are still the faster ones (108 vs 76 GFLOP/s). Weights stay
// in bfloat16: each product converts its operands, which costs one pass over
// them, small next to the product itself. XLA computes bfloat16 products
// natively and is left alone.

// f32Products reports whether products in g should be computed in float32.
func f32Products(g *Graph) bool {
	return g.Backend().Name() == goBackendName
}

// goBackendName is what GoMLX's pure-Go backend reports as its Name.
const goBackendName = "Go Backend"

// product computes fn(a, b) — a matrix product — in float32 when a or b is
// bfloat16 and the backend is the pure-Go one, and returns the result in
// the dtype fn would have produced.
//
// A training step keeps the float32 copies from the forward to the backward
// pass, which needs them for the activations' gradients: 4 bytes per weight
// on top of the 2 of the bfloat16 weights. Gradient checkpointing
// (Model.GradientCheckpointing) bounds that to one layer's copies, as it
// recomputes each layer, conversions included, in the backward pass.
// (Checkpointing the products themselves does not help on this backend:
// its optimization barrier copies a weight it does not own, so a
// checkpointed weight exists twice.)
func product(a, b *Node, fn func(a, b *Node) *Node) *Node {
	if a.DType() != dtypes.BFloat16 && b.DType() != dtypes.BFloat16 || !f32Products(a.Graph()) {
		return fn(a, b)
	}
	out := fn(ConvertDType(a, dtypes.Float32), ConvertDType(b, dtypes.Float32))
	return ConvertDType(out, dtypes.BFloat16)
}

// einsum is Einsum through product.
func einsum(equation string, a, b *Node) *Node {
	return product(a, b, func(a, b *Node) *Node { return Einsum(equation, a, b) })
}

// Linear computes x·Wᵀ for x [..., in] and weight [out, in].
//
// On the pure-Go backend a weight of more than maxConvertedElements values
// (in practice the LM head, which reuses the embedding table) is multiplied
// in slices of its rows, concatenated: each slice's float32 copy is made,
// used and dropped in turn, where E2B's whole table would need a 2 GiB
// copy. Every output is the same sum as without slicing.
func Linear(x, weight *Node) *Node {
	dot := func(x, w *Node) *Node { return DotGeneral(x, []int{x.Rank() - 1}, nil, w, []int{1}, nil) }
	out, in := weight.Shape().Dimensions[0], weight.Shape().Dimensions[1]
	if !f32Products(x.Graph()) || weight.DType() != dtypes.BFloat16 || out*in <= maxConvertedElements {
		return product(x, weight, dot)
	}
	step := max(1, maxConvertedElements/in)
	var parts []*Node
	for lo := 0; lo < out; lo += step {
		parts = append(parts, product(x, SliceAxis(weight, 0, AxisRange(lo, min(lo+step, out))), dot))
	}
	return Concatenate(parts, -1)
}

// maxConvertedElements bounds the float32 copy one product makes of a
// bfloat16 weight on the pure-Go backend (256 MiB).
const maxConvertedElements = 64 << 20
