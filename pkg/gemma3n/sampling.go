package gemma3n

import (
	"math"
	"math/rand/v2"
	"slices"
)

// SamplingOptions choose the next token from a row of logits. The zero
// value is greedy decoding.
type SamplingOptions struct {
	// Temperature divides the logits before sampling; 0 means greedy
	// (argmax, ties to the lowest id, as torch.argmax).
	Temperature float64
	// TopK keeps only the K most likely tokens (0: all).
	TopK int
	// TopP keeps the smallest set of most likely tokens whose probability
	// reaches TopP (nucleus sampling; 0 or 1: all).
	TopP float64
	// RepetitionPenalty (HF's CTRL-style penalty, > 1 discourages repeats)
	// divides positive and multiplies negative logits of every token already
	// in the sequence, prompt included. 0 or 1 disables it.
	RepetitionPenalty float64
}

// sampler picks tokens on the host. It owns the random stream, so that a
// seed reproduces a whole generation.
type sampler struct {
	opts SamplingOptions
	rng  *rand.Rand
	// scratch buffers reused across calls
	order []int
	probs []float64
}

func newSampler(opts SamplingOptions, seed uint64) *sampler {
	return &sampler{opts: opts, rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))}
}

// next returns the next token given the logits of one row (modified in
// place), the sequence so far (for the repetition penalty) and the ids
// that must not be chosen (e.g. EOS before the minimum length).
func (s *sampler) next(logits []float32, seq []int32, banned []int) int {
	if p := s.opts.RepetitionPenalty; p > 0 && p != 1 {
		applyRepetitionPenalty(logits, seq, float32(p))
	}
	negInf := float32(math.Inf(-1))
	for _, id := range banned {
		if id >= 0 && id < len(logits) {
			logits[id] = negInf
		}
	}
	if s.opts.Temperature <= 0 {
		return argmax(logits)
	}
	return s.sample(logits)
}

// applyRepetitionPenalty is HF's RepetitionPenaltyLogitsProcessor: each
// distinct token of seq has its logit divided by p if positive, else
// multiplied by p.
func applyRepetitionPenalty(logits []float32, seq []int32, p float32) {
	seen := make(map[int32]bool, len(seq))
	for _, id := range seq {
		if seen[id] || id < 0 || int(id) >= len(logits) {
			continue
		}
		seen[id] = true
		if logits[id] > 0 {
			logits[id] /= p
		} else {
			logits[id] *= p
		}
	}
}

// argmax returns the index of the largest value, the first one on ties.
func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// sample draws from softmax(logits / T) restricted by top-k, then top-p.
func (s *sampler) sample(logits []float32) int {
	invT := 1 / s.opts.Temperature
	maxLogit := float64(logits[argmax(logits)])
	if math.IsInf(maxLogit, -1) {
		return argmax(logits) // everything banned: nothing sensible to sample
	}
	// Candidates sorted by decreasing logit (ties by id, for determinism).
	order := s.order[:0]
	for i, v := range logits {
		if !math.IsInf(float64(v), -1) {
			order = append(order, i)
		}
	}
	slices.SortFunc(order, func(a, b int) int {
		switch {
		case logits[a] > logits[b]:
			return -1
		case logits[a] < logits[b]:
			return 1
		}
		return a - b
	})
	if k := s.opts.TopK; k > 0 && k < len(order) {
		order = order[:k]
	}
	probs := s.probs[:0]
	total := 0.0
	for _, id := range order {
		p := math.Exp((float64(logits[id]) - maxLogit) * invT)
		probs = append(probs, p)
		total += p
	}
	if p := s.opts.TopP; p > 0 && p < 1 {
		cum := 0.0
		for i, q := range probs {
			cum += q / total
			if cum >= p {
				order, probs = order[:i+1], probs[:i+1]
				break
			}
		}
		total = 0
		for _, q := range probs {
			total += q
		}
	}
	s.order, s.probs = order, probs
	u := s.rng.Float64() * total
	for i, q := range probs {
		u -= q
		if u < 0 {
			return order[i]
		}
	}
	return order[len(order)-1]
}
