package gemma3n

import (
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/ml/layers/attention"
)

// AttentionKernel selects how the attention layers are computed.
type AttentionKernel string

const (
	// AttentionFused uses the backend's fused scaled-dot-product attention
	// where it applies — cuDNN flash attention on xla:cuda, whose forward
	// and backward never hold the [T, T] scores — and the explicit path
	// everywhere else. The default.
	AttentionFused AttentionKernel = "fused"
	// AttentionEager always uses the explicit path: scores in float32, a
	// float32 softmax, the reference numerics.
	AttentionEager AttentionKernel = "eager"
)

// fusedAttentionCase is what decides whether one layer's attention can run
// fused.
type fusedAttentionCase struct {
	kernel AttentionKernel
	// capable: the backend has the fused op and its gradient.
	capable bool
	// layerType of the layer; dtype of the activations; headDim of q/k/v.
	layerType LayerType
	dtype     dtypes.DType
	headDim   int
	// cached: a generation step with a KV cache (the fused kernels have no
	// cache slots).
	cached bool
	// mask: the forward pass's Inputs.Mask kind.
	mask maskKind
}

// maskKind says what Inputs.Mask holds.
type maskKind int

const (
	noMask      maskKind = iota // every token real
	rightPadded                 // 1s then 0s per row (Inputs.RightPadded)
	generalMask                 // anything else: left padding, packed segments
)

// fusedAttentionApplies is the selection rule (spec §8): the fused kernels
// (cuDNN flash attention) take half-precision q/k/v with a head size that is a
// multiple of 8, causal masking and per-row lengths of right padding — not a
// sliding window, packed segments, left padding or a KV cache. Those layers,
// and every layer on backends without the fused op (the pure-Go one), take the
// explicit path.
func fusedAttentionApplies(c fusedAttentionCase) bool {
	return c.kernel != AttentionEager && c.capable &&
		c.layerType == FullAttention && !c.cached &&
		c.dtype.IsHalfPrecision() && c.headDim%8 == 0 &&
		c.mask != generalMask
}

// fusedAttention reports whether the attention of a layer of type lt runs
// fused in this forward pass (see fusedAttentionApplies).
func (f *forward) fusedAttention(lt LayerType) bool {
	if f.m.routes.forceFused {
		return lt == FullAttention && f.cache == nil && (f.mask == nil || f.in.RightPadded)
	}
	caps := f.g.Backend().Capabilities().Operations
	mask := noMask
	switch {
	case f.mask != nil && f.in.RightPadded:
		mask = rightPadded
	case f.mask != nil:
		mask = generalMask
	}
	return fusedAttentionApplies(fusedAttentionCase{
		kernel:    f.m.Attention,
		capable:   caps[compute.OpTypeFusedScaledDotProductAttention] && caps[compute.OpTypeFusedScaledDotProductAttentionVJP],
		layerType: lt,
		dtype:     f.dtype,
		headDim:   f.cfg.HeadDim,
		cached:    f.cache != nil,
		mask:      mask,
	})
}

// fusedAttentionOutput is causal attention of q [B, T, Hq, d] over k, v
// [B, T, Hkv, d] with scaling 1 and, with a right-padded mask, the rows'
// lengths, through GoMLX's attention.Core: the fused kernel where the
// backend has one, its decomposed equivalent otherwise. It returns
// [B, T, Hq, d].
func (f *forward) fusedAttentionOutput(q, k, v *Node) *Node {
	opts := attention.CoreOptions{Scale: 1, UseCausalMask: true}
	if f.mask != nil {
		lengths := ReduceSum(ConvertDType(NotEqual(f.mask, ZerosLike(f.mask)), dtypes.Int32), -1) // [B]
		opts.QuerySeqLen, opts.KVSeqLen = lengths, lengths
	}
	out, _ := attention.Core(q, k, v, attention.LayoutBSHD, opts)
	return out
}
