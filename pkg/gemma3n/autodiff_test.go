package gemma3n

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
)

func randomTensor64(r *rand.Rand, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return tensors.FromFlatDataAndDimensions(v, dims...)
}

// TestDotGeneralVJP compares the replacement DotGeneral adjoint with GoMLX's
// own (in float64) on products with batch axes, several contracting axes and
// transposed layouts, and checks its bfloat16 accuracy.
func TestDotGeneralVJP(t *testing.T) {
	cases := []struct {
		eq   string
		a, b []int
	}{
		{"ij,jk->ik", []int{3, 4}, []int{4, 5}},
		{"btd,vd->btv", []int{2, 3, 4}, []int{5, 4}},
		{"btd,btv->dv", []int{2, 3, 4}, []int{2, 3, 5}},
		{"bij,bjk->bik", []int{2, 3, 4}, []int{2, 4, 5}},
		{"ibj,kjb->bik", []int{3, 2, 4}, []int{5, 4, 2}},
		{"btkgd,bskd->bkgts", []int{2, 3, 2, 2, 4}, []int{2, 5, 2, 4}},
		{"bkgts,bskd->btkgd", []int{2, 2, 2, 3, 5}, []int{2, 5, 2, 4}},
		{"btnd,n->btd", []int{2, 3, 4, 5}, []int{4}},
		{"dji,ijk->dk", []int{2, 3, 4}, []int{4, 3, 5}},
	}
	r := rand.New(rand.NewPCG(1, 2))
	b := testutil.Backend(t)
	for _, c := range cases {
		x, w := randomTensor64(r, c.a...), randomTensor64(r, c.b...)
		grads := func(dtype dtypes.DType, original bool) []float64 {
			exec, err := context.NewExec(b, nil, func(_ *context.Context, x, w *Node) []*Node {
				xd, wd := ConvertDType(x, dtype), ConvertDType(w, dtype)
				y := ConvertDType(Einsum(c.eq, xd, wd), dtypes.Float64)
				loss := ReduceAllSum(Mul(y, Sin(IotaFull(x.Graph(), y.Shape()))))
				if original {
					VJPRegistration[NodeTypeDotGeneral] = originalDotGeneralVJP
					defer func() { VJPRegistration[NodeTypeDotGeneral] = dotGeneralVJP }()
				}
				g := Gradient(loss, xd, wd)
				return []*Node{ConvertDType(g[0], dtypes.Float64), ConvertDType(g[1], dtypes.Float64)}
			})
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Exec(x, w)
			if err != nil {
				t.Fatalf("%s: %v", c.eq, err)
			}
			return append(tensors.MustCopyFlatData[float64](out[0]), tensors.MustCopyFlatData[float64](out[1])...)
		}
		want := grads(dtypes.Float64, true)
		got := grads(dtypes.Float64, false)
		if e := relError64(got, want); e > 1e-12 {
			t.Errorf("%s: float64 adjoint relative error %.3g", c.eq, e)
		}
		if e := relError64(grads(dtypes.BFloat16, false), want); e > 0.02 {
			t.Errorf("%s: bfloat16 adjoint relative error %.3g", c.eq, e)
		}
	}
}

func relError64(a, b []float64) float64 {
	var num, den float64
	for i := range a {
		num += (a[i] - b[i]) * (a[i] - b[i])
		den += b[i] * b[i]
	}
	if den == 0 {
		return num
	}
	return num / den
}
