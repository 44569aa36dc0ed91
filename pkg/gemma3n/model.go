package gemma3n

import (
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // the GoMLX idiom for graph code
	"github.com/gomlx/gomlx/ml/model"
)

// LinearFn computes one linear layer of the decoder, y = x·Wᵀ, where weight
// is the HF weight [out, in] (already a graph node, in the model dtype) and
// x is [..., in]. module is the HF module path without prefix, e.g.
// "layers.3.self_attn.q_proj"; scope is the model store's scope of that
// module (/layers/3/self_attn/q_proj), so an adapter can keep its own
// variables next to the base weight.
//
// Model.Linear holds the function used for every linear layer of the text
// decoder (attention, MLP, LAuReL, AltUp router and coefficients, per-layer
// input gates and projections, AltUp stream projections). Only the tied LM
// head, which reuses the embedding table, does not go through it.
type LinearFn func(scope *model.Scope, module string, x, weight *Node) *Node

// DefaultLinear is the plain linear layer y = x·Wᵀ.
func DefaultLinear(_ *model.Scope, _ string, x, weight *Node) *Node {
	return Linear(x, weight)
}

// Model is a Gemma 3n text decoder: its configuration and the GoMLX store
// holding its weights.
type Model struct {
	Config *Config
	// Store holds the weights, one frozen variable per HF tensor at a path
	// that mirrors the HF name (see VariablePath). The graph functions take
	// a scope of the store to use as an argument (the one model.Exec passes,
	// or any scope of a store that shares these variables); weights are
	// read by absolute path, so the scope's position does not matter.
	Store *model.Store
	// DType of the weights and of the activations (Float32 or BFloat16).
	// Norms, softmax, the AltUp router tanh and the loss run in float32.
	DType dtypes.DType
	// Linear computes every linear layer of the decoder; see LinearFn.
	// Defaults to DefaultLinear.
	Linear LinearFn
	// Attention selects how attention is computed (see AttentionKernel);
	// the zero value is AttentionFused.
	Attention AttentionKernel
	// GradientCheckpointing makes every decoder layer a checkpoint: its
	// activations are not kept for the backward pass but recomputed from
	// the layer's input, trading about a third more compute for activation
	// memory that no longer grows with depth (HF's gradient_checkpointing).
	// Gradients are unchanged.
	GradientCheckpointing bool

	// routes overrides how attention is computed, for tests that compare
	// the routes; the zero value lets the forward pass choose.
	routes attentionRoutes
}

// attentionRoutes override the forward pass's choice of attention
// computation. Every route gives the same result up to rounding; tests
// compare them.
type attentionRoutes struct {
	// forceFused sends every full-attention layer through the fused route
	// whatever the backend (on the CPU attention.Core computes its
	// decomposed equivalent).
	forceFused bool
	// denseSliding computes sliding layers with a dense [T, T] mask
	// instead of block by block (see blockedWindow).
	denseSliding bool
}

// Inputs of one forward pass. Every field but IDs is optional.
type Inputs struct {
	// IDs [B, T] are the token ids (any integer dtype).
	IDs *Node
	// Positions [B, T] are the absolute positions used by RoPE (integer).
	// nil means 0..T−1 for every row without a Mask, and with a Mask the
	// position of each token within its segment (see Mask), which is also
	// what left padding needs.
	Positions *Node
	// Mask [B, T] marks real tokens (bool, or a number where non-zero means
	// real); nil means no padding. Padded keys are hidden from every query.
	// A numeric mask may also number the examples packed into one row
	// (1, 1, 1, 2, 2, 0, …): a query then sees only keys of its own
	// segment, so packed examples cannot attend to each other.
	Mask *Node
	// RightPadded declares that Mask is 1 on each row's real tokens followed
	// by 0s (no packed segments, no left padding), which lets full-attention
	// layers use the fused kernels with the rows' lengths (see
	// AttentionKernel). False is always correct.
	RightPadded bool
	// LogitsAt [B] (integer), if set, restricts the LM head to one index per
	// row: Output.Logits is then [B, V] (used by generation, which only needs
	// the last token's distribution).
	LogitsAt *Node
	// Hidden requests the AltUp streams at every layer boundary.
	Hidden bool

	// cache, if set, makes the pass a cached prefill or decode step (see
	// kvCache; used by Generator).
	cache *kvCache
}

// Output of one forward pass.
type Output struct {
	// Logits [B, T, V] (or [B, V] with Inputs.LogitsAt), soft-capped, in the
	// model dtype.
	Logits *Node
	// Hidden, when requested, holds L+1 tensors [n, B, T, D]: the n AltUp
	// streams at the input of every layer and after the last one (before
	// the final merge and norm), as HF's output_hidden_states.
	Hidden []*Node
}

// Logits runs the decoder and returns the soft-capped logits [B, T, V] in
// the model dtype. positions and mask may be nil (see Inputs).
func (m *Model) Logits(scope *model.Scope, ids, positions, mask *Node) *Node {
	return m.Forward(scope, Inputs{IDs: ids, Positions: positions, Mask: mask}).Logits
}

// HiddenStates runs the decoder and returns the logits and the AltUp
// streams at every layer boundary (see Output.Hidden).
func (m *Model) HiddenStates(scope *model.Scope, ids, positions, mask *Node) (logits *Node, hidden []*Node) {
	out := m.Forward(scope, Inputs{IDs: ids, Positions: positions, Mask: mask, Hidden: true})
	return out.Logits, out.Hidden
}

// Forward builds the decoder graph for in (spec §3).
func (m *Model) Forward(scope *model.Scope, in Inputs) *Output {
	f := m.newForward(scope, in)
	return f.t.forward(f)
}

// textModel is the text decoder, block by block (see tensors.go for the
// tags): the model-level tensors (spec §2.2) and the layers.
type textModel struct {
	Embed    embedding         `hf:"embed_tokens" shape:"V,D"` // also the tied LM head
	PerLayer perLayerEmbedding `hf:""`
	Streams  altUpStreams      `hf:""`
	Norm     norm              `hf:"norm" shape:"D"` // the final norm
	Layers   []decoderLayer    `hf:"layers,layer"`
}

// newTextModel returns the blocks of a model with configuration c, every
// weight named and shaped, and the list of those weights in field order.
func newTextModel(c *Config) (*textModel, []WeightSpec) {
	t := &textModel{
		Streams: altUpStreams{
			Projections: make([]linear, c.AltUpNumInputs-1),
			Unembed:     make([]linear, c.AltUpNumInputs-1),
		},
		Layers: make([]decoderLayer, c.NumHiddenLayers),
	}
	for l := range t.Layers {
		layer := &t.Layers[l]
		layer.index, layer.layerType, layer.sparsity = l, c.LayerTypes[l], c.ActivationSparsity[l]
		if !c.IsKVShared(l) {
			layer.Attention.KV = &keyValueProjections{}
		}
	}
	return t, fillWeights(t, "", c, configDimensions(c))
}

// forward runs the whole decoder (spec §3; with a KV cache, spec §7).
func (t *textModel) forward(f *forward) *Output {
	in := f.in
	cfg := f.cfg

	e := t.embed(f, in.IDs)                 // [B,T,D]
	pli := t.PerLayer.forward(f, in.IDs, e) // [B,T,L,P]
	streams := t.Streams.init(f, e)         // [B,T,n,D]
	var masks map[LayerType]*Node           // per layer type, [B,1,1,T,S]
	if f.cache != nil && f.cache.decoding() {
		masks = f.cache.masks(f)
	} else {
		masks = f.attentionMasks()
	}
	positions := in.Positions
	if positions == nil && in.Mask != nil && f.cache == nil {
		positions = segmentPositions(in.Mask)
	}
	ropes := f.ropeTables(positions)                    // per layer type, cos/sin [B,T,1,d]
	kvs := make(map[int]keyValues, cfg.NumHiddenLayers) // K/V of owner layers

	out := &Output{}
	remat := f.m.GradientCheckpointing && f.cache == nil
	for l := range t.Layers {
		if in.Hidden {
			out.Hidden = append(out.Hidden, streamsToHF(streams))
		}
		if remat {
			// The layer's input is kept; everything the layer computes from it
			// is recomputed when the backward pass needs it.
			streams = streams.Checkpoint()
		}
		streams = t.Layers[l].forward(f, streams, f.selectLayer(pli, l), masks, ropes, kvs)
	}
	if remat {
		streams = streams.StopCheckpoint()
	}
	if in.Hidden {
		out.Hidden = append(out.Hidden, streamsToHF(streams))
	}
	h := t.Norm.forward(f, t.Streams.merge(f, streams)) // [B,T,D]
	if in.LogitsAt != nil {
		h = takeRows(h, in.LogitsAt) // [B,D]
	}
	out.Logits = t.lmHead(f, h)
	return out
}

// forward carries what every block of one forward graph needs.
type forward struct {
	m     *Model
	scope *model.Scope
	g     *Graph
	cfg   *Config
	dtype dtypes.DType
	batch int
	seq   int
	mask  *Node    // Inputs.Mask (nil: no padding)
	cache *kvCache // nil without a KV cache
	in    Inputs
	t     *textModel // the blocks, named and shaped for cfg
}

func (m *Model) newForward(scope *model.Scope, in Inputs) *forward {
	if in.IDs == nil || in.IDs.Rank() != 2 || !in.IDs.DType().IsInt() {
		panic(fmt.Sprintf("gemma3n: Inputs.IDs must be an integer tensor [batch, seq], got %v", shapeOf(in.IDs)))
	}
	b, t := in.IDs.Shape().Dimensions[0], in.IDs.Shape().Dimensions[1]
	for _, opt := range []struct {
		name string
		node *Node
	}{{"Positions", in.Positions}, {"Mask", in.Mask}} {
		if opt.node != nil && (opt.node.Rank() != 2 || opt.node.Shape().Dimensions[0] != b || opt.node.Shape().Dimensions[1] != t) {
			panic(fmt.Sprintf("gemma3n: Inputs.%s must be [%d, %d] like IDs, got %v", opt.name, b, t, opt.node.Shape()))
		}
	}
	if in.LogitsAt != nil && (in.LogitsAt.Rank() != 1 || in.LogitsAt.Shape().Dimensions[0] != b) {
		panic(fmt.Sprintf("gemma3n: Inputs.LogitsAt must be [%d], got %v", b, in.LogitsAt.Shape()))
	}
	blocks, _ := newTextModel(m.Config)
	return &forward{m: m, scope: scope, g: in.IDs.Graph(), cfg: m.Config, dtype: m.DType, batch: b, seq: t, mask: in.Mask, cache: in.cache, in: in, t: blocks}
}

func shapeOf(n *Node) any {
	if n == nil {
		return "nil"
	}
	return n.Shape()
}

// VariablePath is the store path of an HF tensor name (without prefix) or
// module path: "layers.3.self_attn.q_proj.weight" →
// "/layers/3/self_attn/q_proj/weight".
func VariablePath(name string) string {
	return "/" + strings.ReplaceAll(name, ".", "/")
}

// moduleScope returns the scope of an HF module path in scope's store:
// "layers.3.self_attn.q_proj" → /layers/3/self_attn/q_proj.
func moduleScope(scope *model.Scope, module string) *model.Scope {
	return scope.Store().Scope(VariablePath(module))
}

// rmsNorm is Gemma 3n's RMSNorm (spec §4) over the last axis, computed in
// float32 and cast back to x's dtype. weight may be nil (the scale-free
// v_norm). The weight multiplies as-is (w, not 1+w).
func (f *forward) rmsNorm(x, weight *Node) *Node {
	dtype := x.DType()
	x32 := ConvertDType(x, dtypes.Float32)
	meanSq := ReduceAndKeep(Square(x32), ReduceMean, -1)
	// Divide by Sqrt rather than multiplying by Rsqrt: Rsqrt has no gradient.
	y := Div(x32, Sqrt(AddScalar(meanSq, f.cfg.RMSNormEps)))
	if weight != nil {
		y = Mul(y, ExpandLeftToRank(ConvertDType(weight, dtypes.Float32), y.Rank()))
	}
	return ConvertDType(y, dtype)
}

// geluTanh is gelu_pytorch_tanh: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
func geluTanh(x *Node) *Node {
	cube := Mul(Mul(x, x), x)
	inner := MulScalar(Add(x, MulScalar(cube, 0.044715)), math.Sqrt(2/math.Pi))
	return Mul(MulScalar(x, 0.5), OnePlus(Tanh(inner)))
}

// rms is sqrt(mean(x²)) over the last axis, kept as a size-1 axis, in
// float32 (see matchMagnitude).
func rms(x *Node) *Node {
	x32 := ConvertDType(x, dtypes.Float32)
	return Sqrt(ReduceAndKeep(Square(x32), ReduceMean, -1))
}

// takeRows picks x[b, at[b], :] for x [B, T, D] and at [B] (no gradient
// through at; used for generation).
func takeRows(x, at *Node) *Node {
	g := x.Graph()
	b := x.Shape().Dimensions[0]
	rows := Iota(g, shapeInt32(b, 1), 0)
	idx := Concatenate([]*Node{rows, Reshape(ConvertDType(at, rows.DType()), b, 1)}, 1) // [B,2]
	return Gather(x, idx)
}

// lmHead applies the tied LM head (h·embed_tokensᵀ) and the final logit soft
// cap (spec §3.8), in the model dtype (as HF does; the loss upcasts to
// float32).
func (t *textModel) lmHead(f *forward, h *Node) *Node {
	table := t.Embed.node(f)
	logits := Linear(h, table)
	if c := f.cfg.FinalLogitSoftcapping; c > 0 {
		logits = MulScalar(Tanh(DivScalar(logits, c)), c)
	}
	return logits
}
