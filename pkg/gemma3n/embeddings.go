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
func (t *textModel) embed(f *forward, ids *Node) *Node {
	e := Gather(t.Embed.node(f), ExpandAxes(ids, -1))
	return MulScalar(e, math.Sqrt(float64(f.cfg.HiddenSize)))
}

// perLayerEmbedding makes the per-layer inputs (spec §3.2): a second token
// embedding with a slice of width P for every layer, mixed with a
// projection of the main embedding.
type perLayerEmbedding struct {
	Table      embedding `hf:"embed_tokens_per_layer" shape:"Vp,L*P"`
	Projection linear    `hf:"per_layer_model_projection" shape:"L*P,D"`
	Norm       norm      `hf:"per_layer_projection_norm" shape:"P"`
}

// forward builds the per-layer inputs PLI [B, T, L, P] (spec §3.2 steps
// 2–4) from the ids and the scaled embedding e:
//
//	z   = embed_tokens_per_layer[ids'] · √P            ids' = ids outside [0, Vp) → 0
//	u   = RMS_{per_layer_projection_norm}(Lin(e; per_layer_model_projection) · D^−½)
//	PLI = (u + z) · 2^−½
func (p *perLayerEmbedding) forward(f *forward, ids, e *Node) *Node {
	cfg := f.cfg
	L, P := cfg.NumHiddenLayers, cfg.HiddenSizePerLayerInput
	b, t := f.batch, f.seq

	inRange := LogicalAnd(GreaterOrEqual(ids, ScalarZero(f.g, ids.DType())),
		LessThan(ids, Scalar(f.g, ids.DType(), cfg.VocabSizePerLayerInput)))
	pleIDs := Where(inRange, ids, ScalarZero(f.g, ids.DType()))
	z := Gather(p.Table.node(f), ExpandAxes(pleIDs, -1))
	z = MulScalar(z, math.Sqrt(float64(P)))
	z = Reshape(z, b, t, L, P)

	u := p.Projection.forward(f, e)
	u = MulScalar(u, math.Pow(float64(cfg.HiddenSize), -0.5))
	u = Reshape(u, b, t, L, P)
	u = p.Norm.forward(f, u)

	return MulScalar(Add(u, z), 1/math.Sqrt2)
}

// selectLayer returns PLI[:, :, l, :] as [B, T, P].
func (f *forward) selectLayer(pli *Node, l int) *Node {
	return Squeeze(SliceAxis(pli, 2, AxisElem(l)), 2)
}
