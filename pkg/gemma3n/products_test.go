package gemma3n

import (
	"math"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
)

// TestProductGradients checks the bfloat16 products of the pure-Go backend
// (float32 copies) against the same arithmetic written out: value and both
// gradients.
func TestProductGradients(t *testing.T) {
	b := testutil.Backend(t)
	if !f32Products(NewGraph(b, "probe")) {
		t.Skip("the backend computes bfloat16 products natively")
	}
	exec := MustNewExec(b, func(x, w *Node) []*Node {
		x16, w16 := ConvertDType(x, dtypes.BFloat16), ConvertDType(w, dtypes.BFloat16)
		outShape := shapes.Make(dtypes.Float32, x.Shape().Dimensions[0], x.Shape().Dimensions[1], w.Shape().Dimensions[0])
		weights := ConvertDType(Sin(IotaFull(x.Graph(), outShape)), dtypes.BFloat16)
		loss := func(y *Node) *Node { return ReduceAllSum(ConvertDType(Mul(y, weights), dtypes.Float32)) }
		got := loss(Linear(x16, w16))
		want := loss(ConvertDType(DotGeneral(ConvertDType(x16, dtypes.Float32), []int{2}, nil, ConvertDType(w16, dtypes.Float32), []int{1}, nil), dtypes.BFloat16))
		gGot, gWant := Gradient(got, x16, w16), Gradient(want, x16, w16)
		out := []*Node{got, want}
		for i := range gGot {
			out = append(out, ConvertDType(gGot[i], dtypes.Float32), ConvertDType(gWant[i], dtypes.Float32))
		}
		return out
	})
	values := func(n int, seed float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(math.Sin(seed + 1.7*float64(i)))
		}
		return v
	}
	x := tensors.FromFlatDataAndDimensions(values(2*5*16, 1), 2, 5, 16)
	w := tensors.FromFlatDataAndDimensions(values(8*16, 2), 8, 16)
	out, err := exec.Exec(x, w)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := tensors.ToScalar[float32](out[0]), tensors.ToScalar[float32](out[1]); g != w {
		t.Errorf("loss %v, written out %v", g, w)
	}
	for i, name := range []string{"x", "w"} {
		got, want := tensors.MustCopyFlatData[float32](out[2+2*i]), tensors.MustCopyFlatData[float32](out[3+2*i])
		if d := testutil.MaxAbsDiff(got, want); d != 0 {
			t.Errorf("gradient of %s differs by %g", name, d)
		}
	}
}
