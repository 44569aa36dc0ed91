package dpo

import (
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

func ex(ids []int32, answerFrom int) train.Example {
	mask := make([]bool, len(ids))
	for i := answerFrom; i < len(ids); i++ {
		mask[i] = true
	}
	return train.Example{IDs: ids, LossMask: mask}
}

func flat[T int32 | float32](t *testing.T, x *tensors.Tensor) []T {
	t.Helper()
	v, err := tensors.CopyFlatData[T](x)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A batch stacks the chosen rows over the rejected rows, pads to a bucket
// and to BatchSize pairs, puts the weights on the positions that predict
// answer tokens, and carries reference log-probabilities once they are set.
func TestPairSourceLayout(t *testing.T) {
	pairs := []Pair{
		{Chosen: ex([]int32{2, 10, 11, 12}, 2), Rejected: ex([]int32{2, 10, 11, 13, 14}, 2)},
		{Chosen: ex([]int32{2, 20, 21}, 2), Rejected: ex([]int32{2, 20, 22}, 2)},
		{Chosen: ex([]int32{2, 30, 31, 32, 33, 34, 35, 36, 37}, 3), Rejected: ex([]int32{2, 30, 31, 38}, 3)},
	}
	src := mustPairSource(t, pairs, train.LMSourceConfig{BatchSize: 2, MaxLen: 16, Buckets: []int{4, 8, 16}, PadID: 1})
	if src.NumBatches() != 2 || src.NumPairs() != 3 {
		t.Fatalf("%d batches of %d pairs", src.NumBatches(), src.NumPairs())
	}
	b, err := src.Batch(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Inputs) != numInputs-1 || b.Examples != 2 || b.Tokens != 4+5+3+3 {
		t.Fatalf("inputs %d, examples %d, tokens %d", len(b.Inputs), b.Examples, b.Tokens)
	}
	if dims := b.Inputs[InputIDs].Shape().Dimensions; !slices.Equal(dims, []int{4, 8}) {
		t.Fatalf("ids shape %v, want [4 8] (2 pairs × 2 sides, bucket 8)", dims)
	}
	ids := flat[int32](t, b.Inputs[InputIDs])
	labels := flat[int32](t, b.Inputs[Labels])
	weights := flat[float32](t, b.Inputs[LossWeights])
	attention := flat[float32](t, b.Inputs[AttentionMask])
	wantIDs := []int32{
		2, 10, 11, 12, 1, 1, 1, 1, // pair 0 chosen
		2, 20, 21, 1, 1, 1, 1, 1, // pair 1 chosen
		2, 10, 11, 13, 14, 1, 1, 1, // pair 0 rejected
		2, 20, 22, 1, 1, 1, 1, 1, // pair 1 rejected
	}
	wantLabels := []int32{
		10, 11, 12, 1, 1, 1, 1, 1,
		20, 21, 1, 1, 1, 1, 1, 1,
		10, 11, 13, 14, 1, 1, 1, 1,
		20, 22, 1, 1, 1, 1, 1, 1,
	}
	wantWeights := []float32{
		0, 1, 1, 0, 0, 0, 0, 0, // predicts 11 and 12
		0, 1, 0, 0, 0, 0, 0, 0,
		0, 1, 1, 1, 0, 0, 0, 0,
		0, 1, 0, 0, 0, 0, 0, 0,
	}
	if !slices.Equal(ids, wantIDs) || !slices.Equal(labels, wantLabels) || !slices.Equal(weights, wantWeights) {
		t.Errorf("ids %v\nlabels %v\nweights %v", ids, labels, weights)
	}
	for i, a := range attention {
		if (a == 1) != (ids[i] != 1) {
			t.Fatalf("attention %v does not mark the real tokens", attention)
		}
	}
	if mask := flat[float32](t, b.Inputs[PairMask]); !slices.Equal(mask, []float32{1, 1}) {
		t.Errorf("pair mask %v", mask)
	}

	// The last batch: one real pair and a padding pair, bucket 16.
	last, _ := src.Batch(0, 1)
	if dims := last.Inputs[InputIDs].Shape().Dimensions; !slices.Equal(dims, []int{4, 16}) || last.Examples != 1 {
		t.Errorf("last batch shape %v with %d pairs, want [4 16] and 1", dims, last.Examples)
	}
	if mask := flat[float32](t, last.Inputs[PairMask]); !slices.Equal(mask, []float32{1, 0}) {
		t.Errorf("last pair mask %v", mask)
	}
	w := flat[float32](t, last.Inputs[LossWeights])
	if s := sum(w[16:32]) + sum(w[48:64]); s != 0 {
		t.Errorf("padding pair has weight %v", s)
	}

	// Reference log-probabilities travel with their pairs: [chosen…, rejected…].
	if err := src.SetReference([]float32{-1, -2, -3}, []float32{-4, -5, -6}); err != nil {
		t.Fatal(err)
	}
	b, _ = src.Batch(0, 0)
	if len(b.Inputs) != numInputs || !slices.Equal(flat[float32](t, b.Inputs[RefLogProbs]), []float32{-1, -2, -4, -5}) {
		t.Errorf("reference input of batch 0: %d inputs", len(b.Inputs))
	}
	last, _ = src.Batch(0, 1)
	if got := flat[float32](t, last.Inputs[RefLogProbs]); !slices.Equal(got, []float32{-3, 0, -6, 0}) {
		t.Errorf("reference input of the last batch %v", got)
	}
	chosen, rejected := src.Reference()
	if !slices.Equal(chosen, []float32{-1, -2, -3}) || !slices.Equal(rejected, []float32{-4, -5, -6}) {
		t.Errorf("Reference() = %v, %v", chosen, rejected)
	}
}

func sum(xs []float32) float32 {
	s := float32(0)
	for _, x := range xs {
		s += x
	}
	return s
}

// Truncation to MaxLen is counted; a pair whose answer is cut away on
// either side is dropped.
func TestPairSourceTruncation(t *testing.T) {
	pairs := []Pair{
		{Chosen: ex([]int32{2, 3, 4, 5, 6, 7}, 2), Rejected: ex([]int32{2, 3, 9}, 2)},    // chosen cut to 4
		{Chosen: ex([]int32{2, 3, 4, 5, 6}, 4), Rejected: ex([]int32{2, 3, 4, 5, 8}, 4)}, // both answers cut away
		{Chosen: ex([]int32{2, 3, 4}, 1), Rejected: ex([]int32{2, 3, 5}, 1)},
	}
	src := mustPairSource(t, pairs, train.LMSourceConfig{BatchSize: 1, MaxLen: 4})
	st := src.Stats()
	want := PairSourceStats{Pairs: 2, Dropped: 1, Truncated: 3, Tokens: 4 + 3 + 3 + 3, Targets: 2 + 1 + 2 + 2}
	if st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	if got := src.Pairs()[0].Chosen.IDs; !slices.Equal(got, []int32{2, 3, 4, 5}) {
		t.Errorf("truncated chosen %v", got)
	}
	if src.Config().Buckets[len(src.Config().Buckets)-1] != 4 {
		t.Errorf("default buckets %v", src.Config().Buckets)
	}
}

func TestPairSourceErrors(t *testing.T) {
	good := []Pair{{Chosen: ex([]int32{2, 3}, 1), Rejected: ex([]int32{2, 4}, 1)}}
	for _, tc := range []struct {
		name  string
		pairs []Pair
		cfg   train.LMSourceConfig
		want  string
	}{
		{"batch size", good, train.LMSourceConfig{MaxLen: 8}, "batch size 0"},
		{"max length", good, train.LMSourceConfig{BatchSize: 1, MaxLen: 1}, "max length 1"},
		{"buckets order", good, train.LMSourceConfig{BatchSize: 1, MaxLen: 8, Buckets: []int{8, 4}}, "strictly ascending"},
		{"buckets short", good, train.LMSourceConfig{BatchSize: 1, MaxLen: 8, Buckets: []int{4}}, "below max length"},
		{"mask length", []Pair{{Chosen: good[0].Chosen, Rejected: train.Example{IDs: []int32{1, 2}, LossMask: []bool{true}}}},
			train.LMSourceConfig{BatchSize: 1, MaxLen: 8}, "pair 0, rejected: 2 ids but 1 loss-mask entries"},
		{"no answers", []Pair{{Chosen: ex([]int32{2, 3}, 2), Rejected: ex([]int32{2, 3}, 1)}}, train.LMSourceConfig{BatchSize: 1, MaxLen: 8}, "none of the 1 pairs"},
	} {
		if _, err := NewPairSource(tc.pairs, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	src := mustPairSource(t, good, train.LMSourceConfig{BatchSize: 1, MaxLen: 8})
	if _, err := src.Batch(0, 1); err == nil {
		t.Error("batch out of range: want an error")
	}
	if err := src.SetReference([]float32{1}, nil); err == nil {
		t.Error("reference of the wrong length: want an error")
	}
	nan := float32(0)
	nan /= nan
	if err := src.SetReference([]float32{nan}, []float32{0}); err == nil {
		t.Error("non-finite reference: want an error")
	}
}

// Shuffled, length-grouped batch orders are deterministic per (seed, epoch),
// cover every pair once per epoch, and differ between epochs.
func TestPairSourceOrder(t *testing.T) {
	pairs := toyPairs(23, 3, 12)
	cfg := train.LMSourceConfig{BatchSize: 4, MaxLen: 16, Buckets: []int{8, 16}, Shuffle: true, GroupByLength: true, Seed: 9}
	a, b := mustPairSource(t, pairs, cfg), mustPairSource(t, pairs, cfg)
	orders := map[int][]int{}
	for epoch := range 2 {
		var seen []int
		for index := range a.NumBatches() {
			a.mu.Lock()
			if a.orderEpoch != epoch {
				a.order, a.orderEpoch = a.batchOrder(epoch), epoch
			}
			seen = append(seen, a.order[index]...)
			a.mu.Unlock()
			x, _ := a.Batch(epoch, index)
			y, _ := b.Batch(epoch, index)
			if !slices.Equal(flat[int32](t, x.Inputs[InputIDs]), flat[int32](t, y.Inputs[InputIDs])) {
				t.Fatalf("epoch %d batch %d differs between two sources", epoch, index)
			}
		}
		sorted := slices.Sorted(slices.Values(seen))
		for i, v := range sorted {
			if v != i {
				t.Fatalf("epoch %d covers %v", epoch, sorted)
			}
		}
		orders[epoch] = seen
	}
	if slices.Equal(orders[0], orders[1]) {
		t.Error("epochs 0 and 1 have the same order")
	}
}
