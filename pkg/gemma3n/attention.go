package gemma3n

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
)

// keyValues are the normed (and, for keys, rotated) K and V of one layer,
// each [B, S, Hkv, d]. KV-shared layers reuse their source layer's nodes, so
// gradients of every consumer flow back into the source's projections.
type keyValues struct{ k, v *Node }

// ropeTable holds cos and sin [B, T, 1, d] for one layer type.
type ropeTable struct{ cos, sin *Node }

// ropeTables computes the RoPE cos/sin per layer type (spec §3.4) in
// float32, cast to the model dtype. positions nil means 0..T−1.
func (f *forward) ropeTables(positions *Node) map[LayerType]ropeTable {
	var pos *Node
	if positions == nil {
		pos = Iota(f.g, shapeInt32(f.batch, f.seq), 1)
	} else {
		pos = positions
	}
	posF := ConvertDType(pos, dtypes.Float32)
	d := f.cfg.HeadDim
	tables := map[LayerType]ropeTable{}
	for _, lt := range []LayerType{SlidingAttention, FullAttention} {
		theta := f.cfg.RopeTheta(lt)
		invFreq := make([]float32, d) // duplicated halves: concat(freqs, freqs)
		for j := range d / 2 {
			v := float32(1 / math.Pow(theta, float64(2*j)/float64(d)))
			invFreq[j], invFreq[j+d/2] = v, v
		}
		angles := Mul(ExpandAxes(posF, -1), Reshape(Const(f.g, invFreq), 1, 1, d)) // [B,T,d]
		angles = ExpandAxes(angles, 2)                                             // [B,T,1,d]
		tables[lt] = ropeTable{
			cos: ConvertDType(Cos(angles), f.dtype),
			sin: ConvertDType(Sin(angles), f.dtype),
		}
	}
	return tables
}

// applyRope rotates x [B, T, H, d]: x·cos + rotate_half(x)·sin, where
// rotate_half([x1, x2]) = [−x2, x1].
func (f *forward) applyRope(x *Node, rope ropeTable) *Node {
	halves := Split(x, -1, 2)
	rotated := Concatenate([]*Node{Neg(halves[1]), halves[0]}, -1)
	return Add(Mul(x, rope.cos), Mul(rotated, rope.sin))
}

// attentionMasks returns (spec §5), per layer type, the boolean visibility of
// key j from query i, [B, 1, 1, T, T]: causal (j ≤ i), within the sliding
// window for sliding layers (i − j < window), and only real keys of the query's
// own segment (Inputs.Mask), except that every query sees itself so that padded
// rows stay finite. A padded query sees every real key before it, as without
// segments.
func (f *forward) attentionMasks() map[LayerType]*Node {
	t := f.seq
	qi := Iota(f.g, shapeInt32(t, t), 0)
	kj := Iota(f.g, shapeInt32(t, t), 1)
	causal := GreaterOrEqual(qi, kj) // [T,T]
	window := LessThan(Sub(qi, kj), Scalar(f.g, dtypes.Int32, f.cfg.SlidingWindow))
	diagonal := Equal(qi, kj)

	keyOK := func(m *Node) *Node { // [B,T,T]
		m = Reshape(m, 1, t, t)
		if f.mask == nil {
			return m
		}
		return LogicalAnd(m, LogicalOr(sameSegment(f.mask), Reshape(diagonal, 1, t, t)))
	}
	expand := func(m *Node) *Node { return ExpandAxes(m, 1, 2) } // [B|1,1,1,T,T]
	masks := map[LayerType]*Node{FullAttention: expand(keyOK(causal))}
	if !f.blockedWindow() { // else slidingAttention builds its own block masks
		masks[SlidingAttention] = expand(keyOK(LogicalAnd(causal, window)))
	}
	return masks
}

// segmentIDs returns a mask [B, T] (bool or numeric) as int32 segment ids,
// 0 on padding.
func segmentIDs(mask *Node) *Node { return ConvertDType(mask, dtypes.Int32) }

// sameSegment is [B, T, T]: key j is real and, unless query i is padding,
// in the same segment as i.
func sameSegment(mask *Node) *Node {
	seg := segmentIDs(mask)
	return segmentVisibility(seg, seg)
}

// segmentVisibility is [..., Q, K] for the segment ids of queries [..., Q]
// and keys [..., K]: the key is real and, unless the query is padding, in
// the query's segment.
func segmentVisibility(segQ, segK *Node) *Node {
	zero := ScalarZero(segQ.Graph(), dtypes.Int32)
	query, key := ExpandAxes(segQ, -1), ExpandAxes(segK, -2) // [..., Q, 1], [..., 1, K]
	return LogicalAnd(NotEqual(key, zero), LogicalOr(Equal(query, key), Equal(query, zero)))
}

// segmentPositions numbers the tokens of every segment of mask [B, T] from 0
// (spec §5): position i is the count of earlier tokens with i's segment id.
// With a plain 0/1 mask and right padding these are 0..n−1; with left padding
// they count from the first real token; in a packed row every example starts
// again at 0, as it would alone.
func segmentPositions(mask *Node) *Node {
	g := mask.Graph()
	t := mask.Shape().Dimensions[1]
	seg := segmentIDs(mask)
	earlier := Reshape(GreaterThan(Iota(g, shapeInt32(t, t), 0), Iota(g, shapeInt32(t, t), 1)), 1, t, t)
	same := Equal(ExpandAxes(seg, 2), ExpandAxes(seg, 1))
	return ReduceSum(ConvertDType(LogicalAnd(same, earlier), dtypes.Int32), -1) // [B,T]
}

// selfAttention is the self-attention block of a layer (spec §3.6).
type selfAttention struct {
	QProj linear               `hf:"q_proj" shape:"Hq*d,D"`
	QNorm norm                 `hf:"q_norm" shape:"d"`
	KV    *keyValueProjections `hf:""` // nil on KV-shared layers
	OProj linear               `hf:"o_proj" shape:"D,Hq*d"`
}

// keyValueProjections are the key and value projections of a layer that
// computes its own K/V (a KV owner). KV-shared layers have none: they
// attend to the K/V of their source layer (Config.KVSource).
type keyValueProjections struct {
	KProj linear `hf:"k_proj" shape:"Hkv*d,D"`
	VProj linear `hf:"v_proj" shape:"Hkv*d,D"`
	KNorm norm   `hf:"k_norm" shape:"d"`
}

// forward is the self-attention of layer d on the normed active stream x
// [B, T, D] (spec §3.6): q/k/v projections, per-head q/k/v RMSNorms, RoPE on
// q and k, scaled-by-1 dot products with GQA, the layer type's mask, a
// float32 softmax and the output projection. Owner layers store their K/V in
// kvs (through the KV cache when decoding); KV-shared layers read their
// source layer's K/V from it.
func (a *selfAttention) forward(f *forward, d *decoderLayer, x *Node, mask *Node, rope ropeTable, kvs map[int]keyValues) *Node {
	cfg := f.cfg
	l := d.index
	b, t := f.batch, f.seq
	hq, hkv, hd := cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim
	group := hq / hkv

	q := Reshape(a.QProj.forward(f, x), b, t, hq, hd)
	q = f.applyRope(a.QNorm.forward(f, q), rope)

	kv, ok := kvs[cfg.KVSource(l)]
	if a.KV == nil && !ok {
		panic(fmt.Sprintf("gemma3n: layer %d shares the K/V of layer %d, which has not run", l, cfg.KVSource(l)))
	}
	if a.KV != nil {
		k := Reshape(a.KV.KProj.forward(f, x), b, t, hkv, hd)
		k = f.applyRope(a.KV.KNorm.forward(f, k), rope)
		v := f.rmsNorm(Reshape(a.KV.VProj.forward(f, x), b, t, hkv, hd), nil)
		kv = keyValues{k: k, v: v}
		if f.cache != nil {
			kv = f.cache.update(l, kv)
		}
		kvs[l] = kv
	}

	if f.fusedAttention(d.layerType) {
		o := f.fusedAttentionOutput(q, kv.k, kv.v) // [B,T,Hq,d]
		return a.OProj.forward(f, Reshape(o, b, t, hq*hd))
	}

	// Query head h uses KV head h / group: split h into (kv head, group).
	q = Reshape(q, b, t, hkv, group, hd)
	var o *Node
	if d.layerType == SlidingAttention && f.blockedWindow() {
		o = f.slidingAttention(q, kv)
	} else {
		scores := einsum("btkgd,bskd->bkgts", q, kv.k) // [B,Hkv,G,T,S], scaling 1
		scores = ConvertDType(scores, dtypes.Float32)
		mask = BroadcastToDims(mask, scores.Shape().Dimensions...)
		scores = Where(mask, scores, Scalar(f.g, dtypes.Float32, -1e30))
		probs := ConvertDType(Softmax(scores, -1), f.dtype)
		o = einsum("bkgts,bskd->btkgd", probs, kv.v) // [B,T,Hkv,G,d]
	}
	o = Reshape(o, b, t, hq*hd)
	return a.OProj.forward(f, o)
}

// blockedWindow reports whether sliding layers attend block by block: for
// full sequences (no KV cache) at least two windows long that split into
// whole windows, unless the model's routes ask for dense masks.
func (f *forward) blockedWindow() bool {
	w := f.cfg.SlidingWindow
	return !f.m.routes.denseSliding && f.cache == nil && w > 0 && f.seq >= 2*w && f.seq%w == 0
}

// slidingAttention (spec §6) is the attention of a sliding layer computed in
// blocks of W = window queries: a query sees at most the W−1 keys before it,
// all in its own block or the previous one, so each block scores a window of 2W
// keys and the scores take [.., T, 2W] instead of [.., T, T] — the same result
// in O(T·W) memory and time, which is what makes long sequences fit. q is [B,
// T, Hkv, G, d], K/V [B, T, Hkv, d]; it returns [B, T, Hkv, G, d].
func (f *forward) slidingAttention(q *Node, kv keyValues) *Node {
	cfg := f.cfg
	b, t, w := f.batch, f.seq, cfg.SlidingWindow
	hkv, group, d := cfg.NumKeyValueHeads, cfg.NumAttentionHeads/cfg.NumKeyValueHeads, cfg.HeadDim
	nb := t / w
	qb := Reshape(q, b, nb, w, hkv, group, d)
	k := keyWindows(Reshape(kv.k, b, nb, w, hkv, d)) // [B,NB,2W,Hkv,d]
	v := keyWindows(Reshape(kv.v, b, nb, w, hkv, d))

	// Query a of block i is at iW + a, window key c at (i−1)W + c: visible
	// when 0 ≤ W + a − c < W, i.e. a < c ≤ W + a, and never in the
	// (empty) window before block 0.
	a := Iota(f.g, shapeInt32(w, 2*w), 0)
	c := Iota(f.g, shapeInt32(w, 2*w), 1)
	see := LogicalAnd(GreaterThan(c, a), LessOrEqual(c, AddScalar(a, w))) // [W,2W]
	firstBlock := Reshape(Equal(Iota(f.g, shapeInt32(nb), 0), ScalarZero(f.g, dtypes.Int32)), 1, nb, 1, 1)
	beforeStart := LogicalAnd(firstBlock, Reshape(LessThan(c, Scalar(f.g, dtypes.Int32, w)), 1, 1, w, 2*w))
	see = LogicalAnd(Reshape(see, 1, 1, w, 2*w), LogicalNot(beforeStart)) // [1,NB,W,2W]
	if f.mask != nil {
		seg := Reshape(segmentIDs(f.mask), b, nb, w)
		self := Reshape(Equal(c, AddScalar(a, w)), 1, 1, w, 2*w) // padded rows see themselves
		see = LogicalAnd(see, LogicalOr(segmentVisibility(seg, keyWindows(seg)), self))
	}
	scores := ConvertDType(einsum("bnwkgd,bnckd->bnkgwc", qb, k), dtypes.Float32) // [B,NB,Hkv,G,W,2W]
	see = BroadcastToDims(ExpandAxes(see, 2, 3), scores.Shape().Dimensions...)
	scores = Where(see, scores, Scalar(f.g, dtypes.Float32, -1e30))
	probs := ConvertDType(Softmax(scores, -1), f.dtype)
	o := einsum("bnkgwc,bnckd->bnwkgd", probs, v)
	return Reshape(o, b, t, hkv, group, d)
}

// keyWindows turns blocks x [B, NB, W, ...] into windows [B, NB, 2W, ...]:
// block i−1 (zeros for block 0) followed by block i.
func keyWindows(x *Node) *Node {
	first := ZerosLike(SliceAxis(x, 1, AxisElem(0)))
	prev := Concatenate([]*Node{first, SliceAxis(x, 1, AxisRangeFromStart(-1))}, 1)
	return Concatenate([]*Node{prev, x}, 2)
}
