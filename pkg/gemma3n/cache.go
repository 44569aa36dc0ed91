package gemma3n

import (
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
)

// kvCache (spec §7) holds the keys and values of the KV-owner layers (0..s−1)
// in fixed-length buffers [B, S, Hkv, d], so that decoding runs one token per
// step through a graph of constant shape (no recompilation per token).
// KV-shared layers need no buffer: they read their source layer's updated
// buffer, after the source wrote the current token, exactly as without a cache.
//
// Slots are padded-sequence indices: a left-padded prompt of length Tp
// fills slots 0..Tp−1 (its padding marked invalid), and decode step i
// writes slot Tp+i for every row. Positions (for RoPE) are per row.
//
// A prefill pass (in == nil) runs the prompt as usual and returns its K/V
// zero-padded to S; a decode pass writes the new token's K/V into slot
// `slot` of the incoming buffers and attends over the valid slots.
type kvCache struct {
	length int // S, the buffer length
	// Decode inputs: the buffers of the owner layers, the slot being
	// written (int32 scalar) and the valid slots [B, S] (bool, the written
	// slot included).
	in    map[int]keyValues
	slot  *Node
	valid *Node
	// out collects the updated (or, for a prefill, the padded) buffers.
	out map[int]keyValues
}

func (c *kvCache) decoding() bool { return c.in != nil }

// update stores the K/V [B, T, Hkv, d] that owner layer l just computed and
// returns the K/V the layer attends to.
func (c *kvCache) update(l int, kv keyValues) keyValues {
	if !c.decoding() {
		c.out[l] = keyValues{k: padSlots(kv.k, c.length), v: padSlots(kv.v, c.length)}
		return kv
	}
	old := c.in[l]
	full := keyValues{k: writeSlot(old.k, kv.k, c.slot), v: writeSlot(old.v, kv.v, c.slot)}
	c.out[l] = full
	return full
}

// padSlots zero-pads x [B, T, H, d] along the slot axis to length.
func padSlots(x *Node, length int) *Node {
	shape := x.Shape().Clone()
	if shape.Dimensions[1] == length {
		return x
	}
	shape.Dimensions[1] = length - shape.Dimensions[1]
	return Concatenate([]*Node{x, Zeros(x.Graph(), shape)}, 1)
}

// writeSlot returns buf [B, S, H, d] with slot `slot` replaced by x [B, 1, H, d].
func writeSlot(buf, x, slot *Node) *Node {
	dims := buf.Shape().Dimensions
	slots := Iota(buf.Graph(), shapeInt32(1, dims[1], 1, 1), 1)
	sel := BroadcastToDims(Equal(slots, slot), dims...)
	return Where(sel, BroadcastToDims(x, dims...), buf)
}

// masks returns the decode-step visibility per layer type, [B, 1, 1, 1, S]:
// valid slots, and for sliding layers only the last `window` slots up to
// the one being written.
func (c *kvCache) masks(f *forward) map[LayerType]*Node {
	s := c.length
	j := Iota(f.g, shapeInt32(1, s), 1)
	valid := c.valid
	if valid.DType() != dtypes.Bool {
		valid = NotEqual(valid, ScalarZero(f.g, valid.DType()))
	}
	full := LogicalAnd(valid, LessOrEqual(j, c.slot)) // [B,S]
	window := LessThan(Sub(c.slot, j), Scalar(f.g, dtypes.Int32, f.cfg.SlidingWindow))
	sliding := LogicalAnd(full, window)
	expand := func(m *Node) *Node { return Reshape(m, f.batch, 1, 1, 1, s) }
	return map[LayerType]*Node{FullAttention: expand(full), SlidingAttention: expand(sliding)}
}
