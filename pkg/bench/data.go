package bench

import (
	"fmt"
	"math/rand/v2"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// Kinds of synthetic training data.
const (
	// DataRandom draws every token uniformly from the vocabulary: the
	// throughput benchmark's data (the model cannot learn it, and the speed
	// does not depend on it).
	DataRandom = "random"
	// DataRepeat repeats a random motif of 8 to 64 tokens to the end of the
	// sequence: data the adapters can learn (by copying through attention),
	// so that the loss moves enough for a numerics comparison to mean something.
	DataRepeat = "repeat"
)

// SyntheticExamples returns n examples of seq tokens in [0, vocab), every
// token a training target, deterministic in seed.
func SyntheticExamples(kind string, n, seq, vocab int, seed uint64) ([]train.Example, error) {
	if n < 1 || seq < 2 || vocab < 2 {
		return nil, fmt.Errorf("bench: synthetic data needs ≥ 1 example, ≥ 2 tokens and a vocabulary of ≥ 2 ids (got %d, %d, %d)", n, seq, vocab)
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	examples := make([]train.Example, n)
	for i := range examples {
		ids := make([]int32, seq)
		switch kind {
		case DataRandom:
			for t := range ids {
				ids[t] = int32(rng.IntN(vocab))
			}
		case DataRepeat:
			motif := make([]int32, 8+rng.IntN(57))
			for t := range motif {
				motif[t] = int32(rng.IntN(vocab))
			}
			for t := range ids {
				ids[t] = motif[t%len(motif)]
			}
		default:
			return nil, fmt.Errorf("bench: unknown data kind %q (want %q or %q)", kind, DataRandom, DataRepeat)
		}
		mask := make([]bool, seq)
		for t := range mask {
			mask[t] = true
		}
		examples[i] = train.Example{IDs: ids, LossMask: mask}
	}
	return examples, nil
}
