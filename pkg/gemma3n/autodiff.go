package gemma3n

import (
	"reflect"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// GoMLX v0.26.0 differentiates DotGeneral by broadcasting the adjoint
// against the other operand and reduce-summing: it materialises a tensor of
// size batch × lhs-cross × rhs-cross × contracted (for the LM head of a
// 262144-token vocabulary, tens of GB), and in bfloat16 the reduce-sum
// accumulates in bfloat16 (gradient errors of tens of percent).
//
// This file replaces it, through GoMLX's documented extension point
// graph.VJPRegistration, by the textbook adjoint: two DotGenerals (which
// accumulate in float32 and use the backend's matrix kernels) and a
// transposition. The replacement is process-wide and exact; it falls back
// to GoMLX's own VJP if the node's parameters cannot be read (a GoMLX
// version with another internal layout).

var originalDotGeneralVJP = graph.VJPRegistration[graph.NodeTypeDotGeneral]

func init() {
	graph.VJPRegistration[graph.NodeTypeDotGeneral] = dotGeneralVJP
}

// dotGeneralAxes are the contracting and batch axes of a DotGeneral node.
type dotGeneralAxes struct {
	lhsContracting, lhsBatch, rhsContracting, rhsBatch []int
}

// readDotGeneralAxes reads the axes of a DotGeneral node. GoMLX keeps them
// in unexported fields; reflection reads them without modifying anything.
func readDotGeneralAxes(node *graph.Node) (dotGeneralAxes, bool) {
	var axes dotGeneralAxes
	nv := reflect.ValueOf(node)
	if nv.Kind() != reflect.Pointer || nv.IsNil() {
		return axes, false
	}
	inputs := nv.Elem().FieldByName("inputs")
	if !inputs.IsValid() || inputs.Kind() != reflect.Interface || inputs.IsNil() {
		return axes, false
	}
	p := inputs.Elem()
	if p.Kind() != reflect.Pointer || p.IsNil() || p.Elem().Kind() != reflect.Struct {
		return axes, false
	}
	s := p.Elem()
	read := func(name string) ([]int, bool) {
		f := s.FieldByName(name)
		if !f.IsValid() || f.Kind() != reflect.Slice || f.Type().Elem().Kind() != reflect.Int {
			return nil, false
		}
		out := make([]int, f.Len())
		for i := range out {
			out[i] = int(f.Index(i).Int())
		}
		return out, true
	}
	var ok [4]bool
	axes.lhsContracting, ok[0] = read("lhsContractingAxes")
	axes.lhsBatch, ok[1] = read("lhsBatchAxes")
	axes.rhsContracting, ok[2] = read("rhsContractingAxes")
	axes.rhsBatch, ok[3] = read("rhsBatchAxes")
	return axes, ok == [4]bool{true, true, true, true}
}

// crossAxes are the axes of a rank-r operand that are neither contracted
// nor batch, in increasing order.
func crossAxes(rank int, contracting, batch []int) []int {
	var out []int
	for a := range rank {
		if !slices.Contains(contracting, a) && !slices.Contains(batch, a) {
			out = append(out, a)
		}
	}
	return out
}

func axisRange(start, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = start + i
	}
	return out
}

// consistent checks that the axes describe node's output shape, guarding
// against a misread.
func (a dotGeneralAxes) consistent(lhs, rhs *graph.Node, out shapes.Shape) bool {
	if len(a.lhsContracting) != len(a.rhsContracting) || len(a.lhsBatch) != len(a.rhsBatch) {
		return false
	}
	var dims []int
	for _, ax := range a.lhsBatch {
		if ax < 0 || ax >= lhs.Rank() {
			return false
		}
		dims = append(dims, lhs.Shape().Dimensions[ax])
	}
	for _, ax := range crossAxes(lhs.Rank(), a.lhsContracting, a.lhsBatch) {
		dims = append(dims, lhs.Shape().Dimensions[ax])
	}
	for _, ax := range crossAxes(rhs.Rank(), a.rhsContracting, a.rhsBatch) {
		dims = append(dims, rhs.Shape().Dimensions[ax])
	}
	return slices.Equal(dims, out.Dimensions)
}

// dotGeneralVJP returns the adjoints of lhs and rhs for the adjoint v of
// out = DotGeneral(lhs, rhs), whose axes are [batch…, lhs cross…, rhs cross…]:
//
//	∂lhs = DotGeneral(v, rhs) contracting v's rhs-cross axes with rhs's cross axes,
//	∂rhs = DotGeneral(v, lhs) contracting v's lhs-cross axes with lhs's cross axes,
//
// each batched over the batch axes and transposed back to its operand's layout.
func dotGeneralVJP(node *graph.Node, vjpOutputs []*graph.Node, outputShape shapes.Shape) []*graph.Node {
	inputs := node.Inputs()
	axes, ok := readDotGeneralAxes(node)
	if !ok || len(inputs) != 2 || len(vjpOutputs) != 1 || !outputShape.IsScalar() ||
		!axes.consistent(inputs[0], inputs[1], node.Shape()) {
		return originalDotGeneralVJP(node, vjpOutputs, outputShape)
	}
	lhs, rhs, v := inputs[0], inputs[1], vjpOutputs[0]
	lhsCross := crossAxes(lhs.Rank(), axes.lhsContracting, axes.lhsBatch)
	rhsCross := crossAxes(rhs.Rank(), axes.rhsContracting, axes.rhsBatch)
	nb, nl, nr := len(axes.lhsBatch), len(lhsCross), len(rhsCross)
	vBatch := axisRange(0, nb)
	vLhsCross := axisRange(nb, nl)
	vRhsCross := axisRange(nb+nl, nr)

	adjoint := func(this *graph.Node, thisBatch, thisContracting, thisCross []int,
		vFree, vContracted []int, other *graph.Node, otherBatch, otherContracting, otherCross []int) *graph.Node {
		// Result axes: [batch…, this cross… (v's free axes), other's contracted axes in increasing order].
		g := graph.DotGeneral(v, vContracted, vBatch, other, otherCross, otherBatch)
		sortedOther := slices.Sorted(slices.Values(otherContracting))
		perm := make([]int, this.Rank())
		for i, ax := range thisBatch {
			perm[ax] = i
		}
		for j, ax := range thisCross {
			perm[ax] = nb + j
		}
		for i, ax := range thisContracting {
			perm[ax] = nb + len(vFree) + slices.Index(sortedOther, otherContracting[i])
		}
		identity := true
		for i, p := range perm {
			identity = identity && i == p
		}
		if !identity {
			g = graph.TransposeAllAxes(g, perm...)
		}
		if g.DType() != this.DType() {
			g = graph.ConvertDType(g, this.DType())
		}
		return g
	}
	return []*graph.Node{
		adjoint(lhs, axes.lhsBatch, axes.lhsContracting, lhsCross, vLhsCross, vRhsCross,
			rhs, axes.rhsBatch, axes.rhsContracting, rhsCross),
		adjoint(rhs, axes.rhsBatch, axes.rhsContracting, rhsCross, vRhsCross, vLhsCross,
			lhs, axes.lhsBatch, axes.lhsContracting, lhsCross),
	}
}
