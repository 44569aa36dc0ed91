package dpo

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// Pair is one tokenized preference pair: the whole sequence (prompt and
// answer) of each side, with the loss mask on the answer tokens.
type Pair struct {
	Chosen, Rejected train.Example
}

// The inputs of a pair batch, in the order the Objective receives them. A
// batch of B pairs has 2B rows: row b is the chosen sequence of pair b and
// row B+b its rejected sequence. The first four are laid out as those of
// train.LMSource.
const (
	InputIDs      = train.InputIDs      // [2B,L] int32
	Labels        = train.Labels        // [2B,L] int32: the next token
	LossWeights   = train.LossWeights   // [2B,L] float32: 1 where the label is an answer token
	AttentionMask = train.AttentionMask // [2B,L] float32: 1 on real tokens
	PairMask      = iota                // [B] float32: 1 for real pairs, 0 for padding pairs
	RefLogProbs                         // [2B] float32: reference log-probabilities, summed over the answer (precomputed only)
	numInputs                           // with RefLogProbs
)

// PairSourceStats describes what PairSource did to the pairs it was given.
type PairSourceStats struct {
	Pairs     int // pairs kept
	Dropped   int // pairs with no answer token on a side (after truncation)
	Truncated int // sequences cut to MaxLen
	Tokens    int // tokens of both sides of the kept pairs
	Targets   int // answer (trained) tokens of both sides
}

// PairSource batches preference pairs with length-bucketed padding: a batch
// of BatchSize pairs is padded to the smallest bucket that holds the longest
// of its 2·BatchSize sequences (a bounded set of shapes, so of compiled
// graphs). It implements train.Source.
type PairSource struct {
	cfg   train.LMSourceConfig
	pairs []Pair
	stats PairSourceStats

	ref []refLogProbs // per pair, once set (SetReference)

	mu         sync.Mutex
	orderEpoch int
	order      [][]int
}

// refLogProbs are a pair's reference log-probabilities (sums over the answer).
type refLogProbs struct{ chosen, rejected float32 }

// NewPairSource validates and prepares pairs for batching. cfg is read as
// for train.LMSource, except that BatchSize counts pairs (a batch has
// 2·BatchSize rows). Sequences longer than MaxLen are cut to their first
// MaxLen tokens; a pair left without an answer token on either side is
// dropped and counted in Stats.
func NewPairSource(pairs []Pair, cfg train.LMSourceConfig) (*PairSource, error) {
	cfg, err := cfg.Checked()
	if err != nil {
		return nil, fmt.Errorf("dpo: pair source: %w", err)
	}
	s := &PairSource{cfg: cfg, orderEpoch: -1}
	for i, p := range pairs {
		chosen, cutChosen, err := s.prepare(p.Chosen)
		if err != nil {
			return nil, fmt.Errorf("dpo: pair %d, chosen: %w", i, err)
		}
		rejected, cutRejected, err := s.prepare(p.Rejected)
		if err != nil {
			return nil, fmt.Errorf("dpo: pair %d, rejected: %w", i, err)
		}
		s.stats.Truncated += cutChosen + cutRejected
		nc, nr := targets(chosen), targets(rejected)
		if nc == 0 || nr == 0 {
			s.stats.Dropped++
			continue
		}
		s.pairs = append(s.pairs, Pair{Chosen: chosen, Rejected: rejected})
		s.stats.Pairs++
		s.stats.Tokens += len(chosen.IDs) + len(rejected.IDs)
		s.stats.Targets += nc + nr
	}
	if len(s.pairs) == 0 {
		return nil, fmt.Errorf("dpo: none of the %d pairs has answer tokens on both sides", len(pairs))
	}
	return s, nil
}

// prepare checks an example and cuts it to MaxLen; cut is 1 if it was cut.
func (s *PairSource) prepare(ex train.Example) (out train.Example, cut int, err error) {
	if len(ex.IDs) != len(ex.LossMask) {
		return ex, 0, fmt.Errorf("%d ids but %d loss-mask entries", len(ex.IDs), len(ex.LossMask))
	}
	if len(ex.IDs) > s.cfg.MaxLen {
		return train.Example{IDs: ex.IDs[:s.cfg.MaxLen], LossMask: ex.LossMask[:s.cfg.MaxLen]}, 1, nil
	}
	return ex, 0, nil
}

// targets counts the trained tokens of ex (token 0 has no predecessor, so
// it is never one).
func targets(ex train.Example) int {
	n := 0
	for t := 1; t < len(ex.LossMask); t++ {
		if ex.LossMask[t] {
			n++
		}
	}
	return n
}

// Stats reports how the pairs were prepared.
func (s *PairSource) Stats() PairSourceStats { return s.stats }

// Config returns the configuration with defaults filled in.
func (s *PairSource) Config() train.LMSourceConfig { return s.cfg }

// Pairs returns the kept pairs (after truncation), in input order.
func (s *PairSource) Pairs() []Pair { return s.pairs }

// NumPairs is the number of kept pairs.
func (s *PairSource) NumPairs() int { return len(s.pairs) }

// NumBatches implements train.Source.
func (s *PairSource) NumBatches() int { return (len(s.pairs) + s.cfg.BatchSize - 1) / s.cfg.BatchSize }

// HasReference reports whether batches carry precomputed reference
// log-probabilities (SetReference).
func (s *PairSource) HasReference() bool { return s.ref != nil }

// SetReference gives the source the reference log-probabilities of every
// kept pair (summed over the answer tokens), in the order of Pairs; from then
// on its batches carry them as the RefLogProbs input. See ComputeReference.
func (s *PairSource) SetReference(chosen, rejected []float32) error {
	if len(chosen) != len(s.pairs) || len(rejected) != len(s.pairs) {
		return fmt.Errorf("dpo: %d chosen and %d rejected reference log-probabilities for %d pairs", len(chosen), len(rejected), len(s.pairs))
	}
	ref := make([]refLogProbs, len(s.pairs))
	for i := range ref {
		if !isFinite32(chosen[i]) || !isFinite32(rejected[i]) {
			return fmt.Errorf("dpo: pair %d: reference log-probabilities (%v, %v) are not finite", i, chosen[i], rejected[i])
		}
		ref[i] = refLogProbs{chosen[i], rejected[i]}
	}
	s.mu.Lock()
	s.ref = ref
	s.mu.Unlock()
	return nil
}

// Reference returns the reference log-probabilities set with SetReference
// (nil, nil if none).
func (s *PairSource) Reference() (chosen, rejected []float32) {
	if s.ref == nil {
		return nil, nil
	}
	chosen, rejected = make([]float32, len(s.ref)), make([]float32, len(s.ref))
	for i, r := range s.ref {
		chosen[i], rejected[i] = r.chosen, r.rejected
	}
	return chosen, rejected
}

func isFinite32(x float32) bool { return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) }

// Batch implements train.Source.
func (s *PairSource) Batch(epoch, index int) (train.Batch, error) {
	if epoch < 0 || index < 0 || index >= s.NumBatches() {
		return train.Batch{}, fmt.Errorf("dpo: batch (epoch %d, index %d) out of range: %d batches per epoch", epoch, index, s.NumBatches())
	}
	s.mu.Lock()
	if s.orderEpoch != epoch {
		s.order = s.batchOrder(epoch)
		s.orderEpoch = epoch
	}
	rows := s.order[index]
	withRef := s.ref != nil
	s.mu.Unlock()
	return s.pad(rows, withRef), nil
}

// longest is the length of a pair's longer sequence.
func (s *PairSource) longest(i int) int {
	return max(len(s.pairs[i].Chosen.IDs), len(s.pairs[i].Rejected.IDs))
}

// batchOrder lists the pair indices of every batch of an epoch, as
// train.LMSource orders its examples: an optional shuffle seeded by (Seed,
// epoch), optionally grouped by length within windows of 64 batches.
func (s *PairSource) batchOrder(epoch int) [][]int {
	return train.BatchOrder(len(s.pairs), s.cfg, epoch, s.longest)
}

// pad builds the batch tensors of the given pairs: 2·BatchSize rows padded
// to the smallest bucket that holds the longest sequence; missing pairs are
// padding (all weights 0, PairMask 0).
func (s *PairSource) pad(rows []int, withRef bool) train.Batch {
	longest := 0
	for _, r := range rows {
		longest = max(longest, s.longest(r))
	}
	bs, length := s.cfg.BatchSize, train.BucketFor(s.cfg.Buckets, longest)
	buf := train.NewLMRows(2*bs, length, s.cfg.PadID)
	pairMask := make([]float32, bs)
	ref := make([]float32, 2*bs)
	batch := train.Batch{Examples: len(rows)}
	for b, r := range rows {
		p := s.pairs[r]
		buf.Put(b, 0, 1, p.Chosen)
		buf.Put(bs+b, 0, 1, p.Rejected)
		batch.Tokens += len(p.Chosen.IDs) + len(p.Rejected.IDs)
		pairMask[b] = 1
		if withRef {
			ref[b], ref[bs+b] = s.ref[r].chosen, s.ref[r].rejected
		}
	}
	batch.Inputs = append(buf.Tensors(), tensors.FromFlatDataAndDimensions(pairMask, bs))
	if withRef {
		batch.Inputs = append(batch.Inputs, tensors.FromFlatDataAndDimensions(ref, 2*bs))
	}
	return batch
}

// lengthOrder returns the pair indices sorted by decreasing length, cut into
// batches: the order that pads least, for one pass over the data.
func (s *PairSource) lengthOrder() [][]int {
	idx := make([]int, len(s.pairs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(s.longest(b), s.longest(a)) })
	var batches [][]int
	for start := 0; start < len(idx); start += s.cfg.BatchSize {
		batches = append(batches, idx[start:min(start+s.cfg.BatchSize, len(idx))])
	}
	return batches
}
