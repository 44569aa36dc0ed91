package gemma3n

import (
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
)

func shapeInt32(dims ...int) shapes.Shape { return shapes.Make(dtypes.Int32, dims...) }

// embed is the scaled token embedding (spec §3.2 step 1):
// e = embed_tokens[ids] · √D, the scale cast to the model dtype first.
//
//	embed_tokens.weight [V, D]
func (f *forward) embed(ids *Node) *Node {
	table := f.weight("embed_tokens.weight")
	e := Gather(table, ExpandAxes(ids, -1))
	return MulScalar(e, math.Sqrt(float64(f.cfg.HiddenSize)))
}

// perLayerInputs builds the per-layer inputs PLI [B, T, L, P] (spec §3.2
// steps 2–4) from the ids and the scaled embedding e:
//
//	z   = embed_tokens_per_layer[ids'] · √P            ids' = ids outside [0, Vp) → 0
//	u   = RMS_{per_layer_projection_norm}(Lin(e; per_layer_model_projection) · D^−½)
//	PLI = (u + z) · 2^−½
//
// Weights:
//
//	embed_tokens_per_layer.weight      [Vp, L·P]
//	per_layer_model_projection.weight  [L·P, D]
//	per_layer_projection_norm.weight   [P]
func (f *forward) perLayerInputs(ids, e *Node) *Node {
	cfg := f.cfg
	L, P := cfg.NumHiddenLayers, cfg.HiddenSizePerLayerInput
	b, t := f.batch, f.seq

	inRange := LogicalAnd(GreaterOrEqual(ids, ScalarZero(f.g, ids.DType())),
		LessThan(ids, Scalar(f.g, ids.DType(), cfg.VocabSizePerLayerInput)))
	pleIDs := Where(inRange, ids, ScalarZero(f.g, ids.DType()))
	z := Gather(f.weight("embed_tokens_per_layer.weight"), ExpandAxes(pleIDs, -1))
	z = MulScalar(z, math.Sqrt(float64(P)))
	z = Reshape(z, b, t, L, P)

	u := f.linear("per_layer_model_projection", e)
	u = MulScalar(u, math.Pow(float64(cfg.HiddenSize), -0.5))
	u = Reshape(u, b, t, L, P)
	u = f.norm("per_layer_projection_norm", u)

	return MulScalar(Add(u, z), 1/math.Sqrt2)
}

// selectLayer returns PLI[:, :, l, :] as [B, T, P].
func (f *forward) selectLayer(pli *Node, l int) *Node {
	return Squeeze(SliceAxis(pli, 2, AxisElem(l)), 2)
}
