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

// TestLinearInSlices multiplies by a bfloat16 weight larger than
// maxConvertedElements, which Linear cuts into slices of rows, and compares
// with one float32 product.
func TestLinearInSlices(t *testing.T) {
	if testing.Short() {
		t.Skip("a 64 Mi-value weight")
	}
	b := testutil.Backend(t)
	if !f32Products(NewGraph(b, "probe")) {
		t.Skip("the backend computes bfloat16 products natively")
	}
	const in = 64
	const out = maxConvertedElements/in + 3 // two slices, the second of 3 rows
	exec := MustNewExec(b, func(x *Node) []*Node {
		// Every row of the weight differs, so slices out of order would show.
		w := Cos(MulScalar(IotaFull(x.Graph(), shapes.Make(dtypes.Float32, out, in)), 1e-3))
		x16, w16 := ConvertDType(x, dtypes.BFloat16), ConvertDType(w, dtypes.BFloat16)
		whole := DotGeneral(ConvertDType(x16, dtypes.Float32), []int{1}, nil, ConvertDType(w16, dtypes.Float32), []int{1}, nil)
		return []*Node{ConvertDType(Linear(x16, w16), dtypes.Float32), whole}
	})
	x := make([]float32, 2*in)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)))
	}
	res, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, 2, in))
	if err != nil {
		t.Fatal(err)
	}
	got, want := tensors.MustCopyFlatData[float32](res[0]), tensors.MustCopyFlatData[float32](res[1])
	if len(got) != 2*out {
		t.Fatalf("%d outputs, want %d", len(got), 2*out)
	}
	for i := range got {
		// got is rounded to bfloat16: within half a unit in the last place.
		if d := math.Abs(float64(got[i] - want[i])); d > math.Abs(float64(want[i]))/256+1e-6 {
			t.Fatalf("output %d: %v, one product gives %v", i, got[i], want[i])
		}
	}
}
