package gemma3n

import (
	"math"
	"strconv"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
)

// layerPrefix is the HF name prefix of layer l's tensors: "layers.{l}.".
func layerPrefix(l int) string { return "layers." + strconv.Itoa(l) + "." }

// decoderLayer is one layer of the decoder (spec §3.5, tensors §2.3).
type decoderLayer struct {
	Attention           selfAttention `hf:"self_attn"`
	MLP                 mlp           `hf:"mlp"`
	InputNorm           norm          `hf:"input_layernorm" shape:"D"`
	PostAttentionNorm   norm          `hf:"post_attention_layernorm" shape:"D"`
	PreFeedforwardNorm  norm          `hf:"pre_feedforward_layernorm" shape:"D"`
	PostFeedforwardNorm norm          `hf:"post_feedforward_layernorm" shape:"D"`
	AltUp               altUp         `hf:"altup"`
	Laurel              laurel        `hf:"laurel"`
	PerLayerInput       perLayerInput `hf:""`

	index     int       // l
	layerType LayerType // layer_types[l]
	sparsity  float64   // activation_sparsity_pattern[l]
}

// forward runs the layer on the AltUp streams [B, T, n, D] with its
// per-layer input pli [B, T, P] and returns the new streams (spec §3.5).
func (d *decoderLayer) forward(f *forward, streams, pli *Node, masks map[LayerType]*Node, ropes map[LayerType]ropeTable, kvs map[int]keyValues) *Node {
	pred := d.AltUp.predict(f, streams)
	active := f.selectStream(pred, 0)
	activeNormed := d.InputNorm.forward(f, active)

	laurel := d.Laurel.forward(f, activeNormed)

	att := d.Attention.forward(f, d, activeNormed, masks[d.layerType], ropes[d.layerType], kvs)
	att = d.PostAttentionNorm.forward(f, att)
	h1 := DivScalar(Add(Add(active, att), laurel), math.Sqrt2)

	ffw := d.MLP.forward(f, d.PreFeedforwardNorm.forward(f, h1), d.sparsity)
	h2 := Add(h1, d.PostFeedforwardNorm.forward(f, ffw))

	corrected := d.AltUp.correct(f, pred, h2)

	// Per-layer input injection into streams 1..n−1 (stream 0 untouched).
	g := d.AltUp.scaleOutput(f, f.selectStream(corrected, 0))
	g = d.PerLayerInput.forward(f, g, pli)
	return Add(corrected, Mul(ExpandAxes(g, 2), f.streamMask()))
}

// streamMask is the constant (0, 1, …, 1) [1, 1, n, 1] that adds the
// per-layer term to every stream but the active one.
func (f *forward) streamMask() *Node {
	n := f.cfg.AltUpNumInputs
	v := make([]float64, n)
	for i := 1; i < n; i++ {
		v[i] = 1
	}
	return Reshape(ConvertDType(Const(f.g, v), f.dtype), 1, 1, n, 1)
}

// perLayerInput injects the layer's slice of the per-layer inputs into the
// AltUp streams (spec §3.5, last step).
type perLayerInput struct {
	Gate       linear `hf:"per_layer_input_gate" shape:"P,D"`
	Projection linear `hf:"per_layer_projection" shape:"D,P"`
	PostNorm   norm   `hf:"post_per_layer_input_norm" shape:"D"`
}

// forward is RMS_{post_per_layer_input_norm}(Lin(gelu_t(Lin(g; gate)) ⊙ pli;
// per_layer_projection)) for the scaled active stream g [B, T, D] and the
// layer's per-layer input pli [B, T, P]; it returns [B, T, D].
func (p *perLayerInput) forward(f *forward, g, pli *Node) *Node {
	g = geluTanh(p.Gate.forward(f, g))
	g = Mul(g, pli)
	return p.PostNorm.forward(f, p.Projection.forward(f, g))
}

// laurel is the low-rank augmented residual (LAuReL) of a layer.
type laurel struct {
	Left     linear `hf:"linear_left" shape:"R,D"`
	Right    linear `hf:"linear_right" shape:"D,R"`
	PostNorm norm   `hf:"post_laurel_norm" shape:"D"`
}

// forward is x + RMS_{post_laurel_norm}(Lin(Lin(x; linear_left); linear_right)).
func (l *laurel) forward(f *forward, x *Node) *Node {
	y := l.Right.forward(f, l.Left.forward(f, x))
	return Add(x, l.PostNorm.forward(f, y))
}
