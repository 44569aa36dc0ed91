package train

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
)

func TestBuckets(t *testing.T) {
	for _, tc := range []struct {
		got, want []int
	}{
		{PowerOfTwoBuckets(64, 1000), []int{64, 128, 256, 512, 1000}},
		{PowerOfTwoBuckets(16, 64), []int{16, 32, 64}},
		{PowerOfTwoBuckets(16, 8), []int{8}},
		{MultipleBuckets(64, 200), []int{64, 128, 192, 200}},
		{MultipleBuckets(64, 128), []int{64, 128}},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("got %v, want %v", tc.got, tc.want)
		}
	}
	buckets := []int{8, 16, 32}
	for n, want := range map[int]int{1: 8, 8: 8, 9: 16, 32: 32, 33: -1} {
		if got := BucketFor(buckets, n); got != want {
			t.Errorf("BucketFor(%d) = %d, want %d", n, got, want)
		}
	}
}

// flat returns the values of a batch input as a flat slice.
func flat[T int32 | float32](t *testing.T, x *tensors.Tensor) []T {
	t.Helper()
	var out []T
	tensors.MustConstFlatData(x, func(f []T) { out = slices.Clone(f) })
	return out
}

func TestLMSourcePadsShiftsAndMasks(t *testing.T) {
	examples := []Example{
		{IDs: []int32{5, 6, 7, 8}, LossMask: []bool{false, false, true, true}},
		{IDs: []int32{9, 10, 11, 12, 13, 14, 15, 3, 4, 5}, LossMask: []bool{false, true, true, true, true, true, true, true, true, false}},
		{IDs: []int32{1, 2, 3}, LossMask: []bool{true, true, false}},
	}
	src := mustLMSource(t, examples, LMSourceConfig{BatchSize: 2, MaxLen: 16, Buckets: []int{4, 8, 16}})
	if src.NumBatches() != 2 {
		t.Fatalf("%d batches", src.NumBatches())
	}
	b, err := src.Batch(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if dims := b.Inputs[InputIDs].Shape().Dimensions; !slices.Equal(dims, []int{2, 16}) {
		t.Fatalf("shape %v, want [2 16] (the 10-token example needs bucket 16)", dims)
	}
	if b.Examples != 2 || b.Tokens != 14 {
		t.Errorf("examples %d tokens %d", b.Examples, b.Tokens)
	}
	ids, labels := flat[int32](t, b.Inputs[InputIDs]), flat[int32](t, b.Inputs[Labels])
	weights, attention := flat[float32](t, b.Inputs[LossWeights]), flat[float32](t, b.Inputs[AttentionMask])
	row0 := func(x []int32) []int32 { return x[:16] }
	if !slices.Equal(row0(ids), []int32{5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("ids row 0 %v", row0(ids))
	}
	if !slices.Equal(row0(labels), []int32{6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("labels row 0 %v", row0(labels))
	}
	// Label t is token t+1; it is trained when token t+1 is a target: tokens 2 and 3.
	if !slices.Equal(weights[:5], []float32{0, 1, 1, 0, 0}) {
		t.Errorf("weights row 0 %v", weights[:16])
	}
	if !slices.Equal(attention[:5], []float32{1, 1, 1, 1, 0}) || attention[16+9] != 1 || attention[16+10] != 0 {
		t.Errorf("attention %v", attention)
	}
	var sum float32
	for _, w := range weights {
		sum += w
	}
	if sum != 2+8 {
		t.Errorf("total weight %v, want 10 target tokens", sum)
	}
	// The short last batch is padded to full rows of zeros.
	last, _ := src.Batch(0, 1)
	if dims := last.Inputs[InputIDs].Shape().Dimensions; !slices.Equal(dims, []int{2, 4}) || last.Examples != 1 {
		t.Errorf("last batch %v with %d examples", dims, last.Examples)
	}
	if w := flat[float32](t, last.Inputs[LossWeights]); !slices.Equal(w, []float32{1, 0, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("last batch weights %v", w)
	}
}

func TestLMSourceTruncatesDropsAndRejects(t *testing.T) {
	examples := []Example{
		{IDs: []int32{1, 2, 3, 4, 5, 6}, LossMask: []bool{false, false, false, false, true, true}}, // targets cut off
		{IDs: []int32{1, 2, 3, 4, 5, 6}, LossMask: []bool{false, true, true, true, true, true}},
		{IDs: []int32{7}, LossMask: []bool{true}}, // a lone token is never a target
	}
	src := mustLMSource(t, examples, LMSourceConfig{BatchSize: 1, MaxLen: 4, Buckets: []int{4}})
	st := src.Stats()
	if st.Examples != 1 || st.Dropped != 2 || st.Truncated != 2 || st.Targets != 3 || st.Tokens != 4 {
		t.Errorf("stats %+v", st)
	}
	for _, tc := range []struct {
		examples []Example
		cfg      LMSourceConfig
		want     string
	}{
		{[]Example{{IDs: []int32{1, 2}, LossMask: []bool{true}}}, LMSourceConfig{BatchSize: 1, MaxLen: 8}, "example 0 has 2 ids but 1 loss-mask"},
		{examples, LMSourceConfig{BatchSize: 0, MaxLen: 8}, "batch size"},
		{examples, LMSourceConfig{BatchSize: 1, MaxLen: 8, Buckets: []int{4}}, "largest bucket 4"},
		{examples, LMSourceConfig{BatchSize: 1, MaxLen: 8, Buckets: []int{8, 4}}, "ascending"},
		{examples[2:], LMSourceConfig{BatchSize: 1, MaxLen: 8}, "none of the 1 examples"},
	} {
		if _, err := NewLMSource(tc.examples, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
	if _, err := src.Batch(0, 5); err == nil {
		t.Error("out-of-range batch accepted")
	}
}

// firstIDs lists each batch's rows by their first token, which identifies
// the toy examples built below.
func firstIDs(t *testing.T, src *LMSource, epoch int) [][]int32 {
	var out [][]int32
	for i := range src.NumBatches() {
		b, err := src.Batch(epoch, i)
		if err != nil {
			t.Fatal(err)
		}
		ids := flat[int32](t, b.Inputs[InputIDs])
		length := b.Inputs[InputIDs].Shape().Dim(1)
		var rows []int32
		for r := range b.Examples {
			rows = append(rows, ids[r*length])
		}
		out = append(out, rows)
	}
	return out
}

func TestLMSourceShufflingIsDeterministicAndComplete(t *testing.T) {
	var examples []Example
	for i := range 50 {
		n := 2 + (i*7)%30
		ids := make([]int32, n)
		mask := make([]bool, n)
		for j := range ids {
			ids[j], mask[j] = int32(i+1), true
		}
		examples = append(examples, Example{IDs: ids, LossMask: mask})
	}
	for _, group := range []bool{false, true} {
		cfg := LMSourceConfig{BatchSize: 4, MaxLen: 32, Buckets: []int{8, 16, 32}, Shuffle: true, Seed: 5, GroupByLength: group}
		a, b := mustLMSource(t, examples, cfg), mustLMSource(t, examples, cfg)
		e0, e1 := firstIDs(t, a, 0), firstIDs(t, a, 1)
		if !slices.EqualFunc(e0, firstIDs(t, b, 0), slices.Equal) {
			t.Errorf("group %v: same seed, different order", group)
		}
		if slices.EqualFunc(e0, e1, slices.Equal) {
			t.Errorf("group %v: epochs 0 and 1 have the same order", group)
		}
		// Going back to epoch 0 after epoch 1 gives epoch 0's batches again (resume).
		if !slices.EqualFunc(e0, firstIDs(t, a, 0), slices.Equal) {
			t.Errorf("group %v: epoch 0 not reproducible", group)
		}
		seen := map[int32]int{}
		for _, batch := range e1 {
			for _, id := range batch {
				seen[id]++
			}
		}
		if len(seen) != 50 {
			t.Errorf("group %v: epoch covers %d of 50 examples", group, len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("group %v: example %d seen %d times", group, id, n)
			}
		}
		cfg.Seed = 6
		if slices.EqualFunc(e0, firstIDs(t, mustLMSource(t, examples, cfg), 0), slices.Equal) {
			t.Errorf("group %v: a different seed gives the same order", group)
		}
	}
	// Grouping by length cuts padding.
	padding := func(group bool) int {
		src := mustLMSource(t, examples, LMSourceConfig{BatchSize: 4, MaxLen: 32, Buckets: MultipleBuckets(4, 32), Shuffle: true, Seed: 5, GroupByLength: group})
		total := 0
		for i := range src.NumBatches() {
			b, _ := src.Batch(0, i)
			total += b.Inputs[0].Shape().Size() - b.Tokens
		}
		return total
	}
	if grouped, plain := padding(true), padding(false); grouped >= plain {
		t.Errorf("padding grouped %d ≥ ungrouped %d", grouped, plain)
	}
}

func TestLMSourcePacksBestFitDecreasing(t *testing.T) {
	ex := func(first int32, n int) Example {
		e := Example{IDs: make([]int32, n), LossMask: make([]bool, n)}
		for i := range n {
			e.IDs[i], e.LossMask[i] = first+int32(i), i > 0
		}
		return e
	}
	// Lengths 5, 3, 4, 2 into rows of 8: 5 opens row 0, 4 opens row 1,
	// 3 fills row 0 (the fullest with room), 2 joins row 1.
	examples := []Example{ex(10, 5), ex(20, 3), ex(30, 4), ex(40, 2)}
	src := mustLMSource(t, examples, LMSourceConfig{BatchSize: 2, MaxLen: 8, Buckets: []int{8}, Pack: true})
	if st := src.Stats(); st.Rows != 2 || st.Examples != 4 || src.NumBatches() != 1 {
		t.Fatalf("rows %d examples %d batches %d, want 2, 4, 1", st.Rows, st.Examples, src.NumBatches())
	}
	b, err := src.Batch(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if b.Examples != 4 || b.Tokens != 14 {
		t.Errorf("examples %d tokens %d, want 4 and 14", b.Examples, b.Tokens)
	}
	wantIDs := []int32{10, 11, 12, 13, 14, 20, 21, 22, 30, 31, 32, 33, 40, 41, 0, 0}
	wantSeg := []float32{1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 2, 2, 0, 0}
	// Each example predicts only its own next tokens: the last token of an
	// example has no target, so nothing crosses into the next example.
	wantLabels := []int32{11, 12, 13, 14, 0, 21, 22, 0, 31, 32, 33, 0, 41, 0, 0, 0}
	wantWeights := []float32{1, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 0, 0, 0}
	if got := flat[int32](t, b.Inputs[InputIDs]); !slices.Equal(got, wantIDs) {
		t.Errorf("ids %v, want %v", got, wantIDs)
	}
	if got := flat[float32](t, b.Inputs[AttentionMask]); !slices.Equal(got, wantSeg) {
		t.Errorf("segments %v, want %v", got, wantSeg)
	}
	if got := flat[int32](t, b.Inputs[Labels]); !slices.Equal(got, wantLabels) {
		t.Errorf("labels %v, want %v", got, wantLabels)
	}
	if got := flat[float32](t, b.Inputs[LossWeights]); !slices.Equal(got, wantWeights) {
		t.Errorf("weights %v, want %v", got, wantWeights)
	}
}

func TestLMSourcePackingKeepsEveryExampleOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var examples []Example
	for i := range 300 {
		n := 2 + rng.IntN(60)
		e := Example{IDs: make([]int32, n), LossMask: make([]bool, n)}
		for j := range n {
			e.IDs[j], e.LossMask[j] = int32(1000*i+j+1), true
		}
		examples = append(examples, e)
	}
	cfg := LMSourceConfig{BatchSize: 3, MaxLen: 64, Buckets: []int{32, 64}, Pack: true, Shuffle: true, Seed: 1}
	src := mustLMSource(t, examples, cfg)
	tokens := 0
	for _, e := range examples {
		tokens += len(e.IDs)
	}
	if rows := src.Stats().Rows; rows*64 < tokens || float64(tokens)/float64(rows*64) < 0.9 {
		t.Errorf("%d rows of 64 for %d tokens: packing fills under 90%%", rows, tokens)
	}
	var orders [2][]int32
	for epoch := range 2 {
		seen := map[int32]int{}
		for i := range src.NumBatches() {
			b, err := src.Batch(epoch, i)
			if err != nil {
				t.Fatal(err)
			}
			ids := flat[int32](t, b.Inputs[InputIDs])
			for _, id := range ids {
				if id != 0 && id%1000 == 1 { // an example's first token
					seen[id/1000]++
					orders[epoch] = append(orders[epoch], id)
				}
			}
		}
		if len(seen) != len(examples) {
			t.Fatalf("epoch %d: %d distinct examples, want %d", epoch, len(seen), len(examples))
		}
		for i, n := range seen {
			if n != 1 {
				t.Errorf("epoch %d: example %d seen %d times", epoch, i, n)
			}
		}
	}
	if slices.Equal(orders[0], orders[1]) {
		t.Error("Shuffle did not reorder the packed rows between epochs")
	}
}
