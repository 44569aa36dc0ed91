package bench

import (
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
)

// TrainFLOPsPerToken estimates the floating-point operations one token of
// LoRA training costs the model of cfg at sequence length seq. Forward:
// two per weight of every matrix applied to the token (the tied LM head
// included; the embedding and per-layer-embedding lookups are gathers, not
// products) and four per visible key and head dimension in attention
// (scores and weighted values; causal, within the window on sliding
// layers). Backward computes activation gradients only — the frozen base
// weights get none — which costs the matrices as much again and attention
// twice as much. The adapters (under 1% of the weights) are left out, as
// are norms and element-wise work. With tokens/s this gives the model
// FLOP/s that utilisation is judged by.
func TrainFLOPsPerToken(cfg *gemma3n.Config, seq int) float64 {
	matmul := 2.0 * float64(cfg.VocabSize*cfg.HiddenSize) // LM head (tied to embed_tokens)
	for _, s := range cfg.Weights() {
		if len(s.Shape) != 2 || strings.HasPrefix(s.Name, "embed_tokens") {
			continue
		}
		matmul += 2 * float64(s.Shape[0]*s.Shape[1])
	}
	attention := 0.0
	for _, t := range cfg.LayerTypes {
		window := seq
		if t == gemma3n.SlidingAttention {
			window = min(seq, cfg.SlidingWindow)
		}
		attention += 4 * float64(cfg.NumAttentionHeads*cfg.HeadDim) * meanVisibleKeys(seq, window)
	}
	return 2*matmul + 3*attention
}

// meanVisibleKeys is the mean over the queries of a causal sequence of seq
// tokens of the keys each sees, at most window (itself included).
func meanVisibleKeys(seq, window int) float64 {
	if seq < 1 {
		return 0
	}
	total := 0
	for i := range seq {
		total += min(i+1, window)
	}
	return float64(total) / float64(seq)
}
