package gemma3n

import (
	"math"

	"github.com/gomlx/compute/dtypes"
	"strconv"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
)

// layerPrefix is the HF name prefix of layer l's tensors: "layers.{l}.".
func layerPrefix(l int) string { return "layers." + strconv.Itoa(l) + "." }

// decoderLayer runs layer l on the AltUp streams [B, T, n, D] with its
// per-layer input pli [B, T, P] and returns the new streams (spec §3.5).
//
//	layers.{l}.input_layernorm.weight            [D]
//	layers.{l}.laurel.linear_left.weight         [R, D]
//	layers.{l}.laurel.linear_right.weight        [D, R]
//	layers.{l}.laurel.post_laurel_norm.weight    [D]
//	layers.{l}.post_attention_layernorm.weight   [D]
//	layers.{l}.pre_feedforward_layernorm.weight  [D]
//	layers.{l}.post_feedforward_layernorm.weight [D]
//	layers.{l}.altup.correct_output_scale        [D]
//	layers.{l}.per_layer_input_gate.weight       [P, D]
//	layers.{l}.per_layer_projection.weight       [D, P]
//	layers.{l}.post_per_layer_input_norm.weight  [D]
//
// plus the attention (see attention), MLP (see mlp) and AltUp (see
// altUpPredict, altUpCorrect) weights.
func (f *forward) decoderLayer(l int, streams, pli *Node, masks map[LayerType]*Node, ropes map[LayerType]ropeTable, kvs map[int]keyValues) *Node {
	cfg := f.cfg
	prefix := layerPrefix(l)
	lt := cfg.LayerTypes[l]

	pred := f.altUpPredict(prefix+"altup.", streams)
	active := f.selectStream(pred, 0)
	activeNormed := f.norm(prefix+"input_layernorm", active)

	laurel := f.laurel(prefix+"laurel.", activeNormed)

	att := f.attention(l, activeNormed, masks[lt], ropes[lt], kvs)
	att = f.norm(prefix+"post_attention_layernorm", att)
	h1 := DivScalar(Add(Add(active, att), laurel), math.Sqrt2)

	ffw := f.mlp(l, f.norm(prefix+"pre_feedforward_layernorm", h1))
	h2 := Add(h1, f.norm(prefix+"post_feedforward_layernorm", ffw))

	corrected := f.altUpCorrect(prefix+"altup.", pred, h2)

	// Per-layer input injection into streams 1..n−1 (stream 0 untouched).
	g := f.selectStream(corrected, 0)
	if cfg.AltUpCorrectScale {
		// In float32 so that the scale's gradient sums over tokens in float32.
		scale := ExpandLeftToRank(ConvertDType(f.weight(prefix+"altup.correct_output_scale"), dtypes.Float32), g.Rank())
		g = ConvertDType(Mul(ConvertDType(g, dtypes.Float32), scale), g.DType())
	}
	g = geluTanh(f.linear(prefix+"per_layer_input_gate", g))
	g = Mul(g, pli)
	g = f.norm(prefix+"post_per_layer_input_norm", f.linear(prefix+"per_layer_projection", g))
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

// laurel is the low-rank augmented residual (LAuReL):
// x + RMS_{post_laurel_norm}(Lin(Lin(x; linear_left); linear_right)).
func (f *forward) laurel(prefix string, x *Node) *Node {
	y := f.linear(prefix+"linear_right", f.linear(prefix+"linear_left", x))
	return Add(x, f.norm(prefix+"post_laurel_norm", y))
}
