package gemma3n

import (
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
)

func TestFusedAttentionApplies(t *testing.T) {
	gpu := fusedAttentionCase{kernel: AttentionFused, capable: true, layerType: FullAttention, dtype: dtypes.BFloat16, headDim: 256}
	cases := []struct {
		name string
		edit func(*fusedAttentionCase)
		want bool
	}{
		{"full layer, bfloat16, no mask, capable backend", func(*fusedAttentionCase) {}, true},
		{"zero kernel value means fused", func(c *fusedAttentionCase) { c.kernel = "" }, true},
		{"right padding", func(c *fusedAttentionCase) { c.mask = rightPadded }, true},
		{"float16", func(c *fusedAttentionCase) { c.dtype = dtypes.Float16 }, true},
		{"turned off", func(c *fusedAttentionCase) { c.kernel = AttentionEager }, false},
		{"backend without the op (pure Go)", func(c *fusedAttentionCase) { c.capable = false }, false},
		{"sliding window layer", func(c *fusedAttentionCase) { c.layerType = SlidingAttention }, false},
		{"float32", func(c *fusedAttentionCase) { c.dtype = dtypes.Float32 }, false},
		{"head size not a multiple of 8", func(c *fusedAttentionCase) { c.headDim = 12 }, false},
		{"KV-cache decoding", func(c *fusedAttentionCase) { c.cached = true }, false},
		{"packed segments or left padding", func(c *fusedAttentionCase) { c.mask = generalMask }, false},
	}
	for _, c := range cases {
		x := gpu
		c.edit(&x)
		if got := fusedAttentionApplies(x); got != c.want {
			t.Errorf("%s: %t, want %t", c.name, got, c.want)
		}
	}
}

// TestFusedRouteMatchesExplicit sends the full-attention layers of the
// tiny fixture through the fused route (attention.Core with causal masking
// and row lengths; on the CPU its decomposed equivalent) and compares with
// the explicit path: no mask, and right padding.
func TestFusedRouteMatchesExplicit(t *testing.T) {
	base := loadTiny(t)
	fused := *base
	fused.routes.forceFused = true
	ids := openReference(t).ids(t, "input_ids")
	want, _ := logitsOf(t, base, ids)
	got, _ := logitsOf(t, &fused, ids)
	if d := testutil.MaxAbsDiff(got, want); d > 1e-5 {
		t.Errorf("no mask: fused route differs from the explicit path by %g", d)
	}

	// Right padding: the real tokens' logits match; so does the explicit
	// path with the same mask.
	padded := [][]int32{append(append([]int32(nil), ids[0][:10]...), make([]int32, 6)...)}
	mask := [][]float32{make([]float32, 16)}
	for i := range 10 {
		mask[0][i] = 1
	}
	run := func(m *Model, rightPadded bool) []float32 {
		exec, err := model.NewExec(testutil.Backend(t), m.Store, func(scope *model.Scope, ids, mask *Node) *Node {
			return m.Forward(scope, Inputs{IDs: ids, Mask: mask, RightPadded: rightPadded}).Logits
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Exec(padded, mask)
		if err != nil {
			t.Fatal(err)
		}
		return tensors.MustCopyFlatData[float32](out[0])
	}
	vocab := base.Config.VocabSize
	explicit, viaFused := run(base, true), run(&fused, true)
	if d := testutil.MaxAbsDiff(viaFused[:10*vocab], explicit[:10*vocab]); d > 1e-5 {
		t.Errorf("right padding: fused route differs from the explicit path by %g on real tokens", d)
	}
	// Without the RightPadded promise the fused route is not taken.
	if d := testutil.MaxAbsDiff(run(&fused, false), explicit); d != 0 {
		t.Errorf("a general mask took the fused route (difference %g)", d)
	}
}
