package train

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/gomlx/gomlx/core/tensors"
)

// Example is one causal-LM training example: token ids and, per token, whether
// that token is a training target (its prediction from the tokens before it
// contributes to the loss). pkg/chat produces exactly this pair.
type Example struct {
	IDs      []int32
	LossMask []bool
}

// Batch is one micro-batch of host tensors, fed to the Objective in order.
// Its shapes must come from a small, bounded set: every distinct shape
// compiles a new graph.
type Batch struct {
	Inputs   []*tensors.Tensor
	Examples int // real examples (several per row when packed)
	Tokens   int // real (non-padding) input tokens, for throughput
}

// Source gives deterministic random access to micro-batches: the same
// (epoch, index) always yields the same batch, so a resumed run continues
// with exactly the batch an uninterrupted run would have seen.
type Source interface {
	// NumBatches is the number of micro-batches in one epoch.
	NumBatches() int
	// Batch returns micro-batch index (0 ≤ index < NumBatches) of the given epoch.
	Batch(epoch, index int) (Batch, error)
}

// Position is a place in the training data stream: the next micro-batch to
// read is Batch(Epoch, Index).
type Position struct {
	Epoch int `json:"epoch"`
	Index int `json:"index"`
}

// advance returns the position after one micro-batch of a source with n batches per epoch.
func (p Position) advance(n int) Position {
	p.Index++
	if p.Index >= n {
		p.Epoch++
		p.Index = 0
	}
	return p
}

// The inputs of a causal-LM batch (LMSource), in the order the Objective receives them.
const (
	InputIDs      = iota // [B,L] int32: the tokens fed to the model; padding is PadID
	Labels               // [B,L] int32: Labels[b,t] = InputIDs[b,t+1] (the next token); PadID past the end
	LossWeights          // [B,L] float32: 1 where Labels[b,t] is a training target, else 0
	AttentionMask        // [B,L] float32: 0 on padding, else the example's number in its row (1, 2, … when packed; see gemma3n.Inputs.Mask)
	numLMInputs
)

// LMSourceConfig configures the batching of causal-LM examples.
type LMSourceConfig struct {
	// BatchSize is the number of rows of every micro-batch. A short last batch
	// is filled with padding rows (all weights 0) so that it compiles no new graph.
	BatchSize int
	// MaxLen is the longest sequence fed to the model; longer examples are
	// truncated to their first MaxLen tokens.
	MaxLen int
	// Buckets are the allowed padded lengths, ascending; the last must be ≥ MaxLen.
	// Default: PowerOfTwoBuckets(16, MaxLen).
	Buckets []int
	// Shuffle reorders the examples every epoch with a permutation derived from (Seed, epoch).
	Shuffle bool
	Seed    uint64
	// GroupByLength puts examples of similar length in the same batch (within
	// windows of 64 batches, then shuffles the batches), which cuts padding.
	GroupByLength bool
	// PadID is the token used for padding (default 0).
	PadID int32
	// Pack puts several examples into one row of at most MaxLen tokens
	// (best-fit decreasing, once, so every epoch has the same rows; Shuffle
	// then reorders the rows). The attention mask numbers the examples of
	// a row so that the model keeps them apart, and no example predicts
	// the next one's first token. GroupByLength has no effect with Pack.
	Pack bool
}

// LMSourceStats describes what LMSource did to the examples it was given.
type LMSourceStats struct {
	Examples     int         // examples kept
	Dropped      int         // examples with no target token (after truncation)
	Truncated    int         // examples cut to MaxLen
	Tokens       int         // input tokens of the kept examples
	Targets      int         // target (trained) tokens of the kept examples
	BucketCounts map[int]int // examples per padded length (when batched alone)
	Rows         int         // rows per epoch: Examples, or fewer with Pack
}

// LMSource batches causal-LM examples with length-bucketed padding.
type LMSource struct {
	cfg      LMSourceConfig
	examples []Example // validated, truncated, non-empty
	rows     [][]int   // the examples of each row, in row order (one each unless packed)
	stats    LMSourceStats

	mu         sync.Mutex
	orderEpoch int
	order      [][]int // example indices of each batch of orderEpoch
}

// PowerOfTwoBuckets returns minLen, 2·minLen, 4·minLen, … capped by maxLen,
// with maxLen itself as the last bucket.
func PowerOfTwoBuckets(minLen, maxLen int) []int {
	if minLen < 1 {
		minLen = 1
	}
	var buckets []int
	for n := minLen; n < maxLen; n *= 2 {
		buckets = append(buckets, n)
	}
	return append(buckets, maxLen)
}

// MultipleBuckets returns step, 2·step, … up to maxLen, with maxLen as the last bucket.
func MultipleBuckets(step, maxLen int) []int {
	if step < 1 {
		step = 1
	}
	var buckets []int
	for n := step; n < maxLen; n += step {
		buckets = append(buckets, n)
	}
	return append(buckets, maxLen)
}

// BucketFor returns the smallest bucket ≥ n, or -1 if n is longer than every bucket.
func BucketFor(buckets []int, n int) int {
	i, _ := slices.BinarySearch(buckets, n)
	if i == len(buckets) {
		return -1
	}
	return buckets[i]
}

// Checked returns the configuration with its default buckets, or an error
// when the batch size, the maximum length or the buckets are unusable.
// Sources built on LMSourceConfig (LMSource, dpo.PairSource) call it.
func (c LMSourceConfig) Checked() (LMSourceConfig, error) {
	if c.BatchSize < 1 {
		return c, fmt.Errorf("batch size %d must be ≥ 1", c.BatchSize)
	}
	if c.MaxLen < 2 {
		return c, fmt.Errorf("max length %d must be ≥ 2", c.MaxLen)
	}
	if len(c.Buckets) == 0 {
		c.Buckets = PowerOfTwoBuckets(16, c.MaxLen)
	}
	c.Buckets = slices.Clone(c.Buckets)
	for i, b := range c.Buckets {
		if b < 1 || (i > 0 && b <= c.Buckets[i-1]) {
			return c, fmt.Errorf("buckets %v must be positive and strictly ascending", c.Buckets)
		}
	}
	if last := c.Buckets[len(c.Buckets)-1]; last < c.MaxLen {
		return c, fmt.Errorf("largest bucket %d is below max length %d", last, c.MaxLen)
	}
	return c, nil
}

// NewLMSource validates and prepares examples for batching. An example whose
// mask length differs from its ids is an error naming the example; examples
// without any target token are dropped and counted in Stats.
func NewLMSource(examples []Example, cfg LMSourceConfig) (*LMSource, error) {
	cfg, err := cfg.Checked()
	if err != nil {
		return nil, fmt.Errorf("train: LMSource %w", err)
	}
	s := &LMSource{cfg: cfg, orderEpoch: -1, stats: LMSourceStats{BucketCounts: map[int]int{}}}
	for i, ex := range examples {
		if len(ex.IDs) != len(ex.LossMask) {
			return nil, fmt.Errorf("train: example %d has %d ids but %d loss-mask entries", i, len(ex.IDs), len(ex.LossMask))
		}
		if len(ex.IDs) > cfg.MaxLen {
			ex = Example{IDs: ex.IDs[:cfg.MaxLen], LossMask: ex.LossMask[:cfg.MaxLen]}
			s.stats.Truncated++
		}
		// Token 0 has no predecessor, so it can never be a target.
		targets := 0
		for _, m := range ex.LossMask[min(1, len(ex.LossMask)):] {
			if m {
				targets++
			}
		}
		if targets == 0 {
			s.stats.Dropped++
			continue
		}
		s.examples = append(s.examples, ex)
		s.stats.Examples++
		s.stats.Tokens += len(ex.IDs)
		s.stats.Targets += targets
		s.stats.BucketCounts[BucketFor(cfg.Buckets, len(ex.IDs))]++
	}
	if len(s.examples) == 0 {
		return nil, fmt.Errorf("train: none of the %d examples has a target token", len(examples))
	}
	if cfg.Pack {
		s.rows = packRows(s.examples, cfg.MaxLen)
	} else {
		s.rows = make([][]int, len(s.examples))
		for i := range s.rows {
			s.rows[i] = []int{i}
		}
	}
	s.stats.Rows = len(s.rows)
	return s, nil
}

// packRows assigns examples (each at most maxLen long) to rows of at most
// maxLen tokens by best-fit decreasing: longest first, each into the
// fullest row that still has room, else a new row. Deterministic: ties
// keep the examples' order.
func packRows(examples []Example, maxLen int) [][]int {
	order := make([]int, len(examples))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(len(examples[b].IDs), len(examples[a].IDs)) })
	var rows [][]int
	var free []int // room left in each row
	for _, e := range order {
		n, best := len(examples[e].IDs), -1
		for r, room := range free {
			if room >= n && (best < 0 || room < free[best]) {
				best = r
			}
		}
		if best < 0 {
			rows, free = append(rows, nil), append(free, maxLen)
			best = len(rows) - 1
		}
		rows[best] = append(rows[best], e)
		free[best] -= n
	}
	return rows
}

// rowLen is the number of tokens of row r.
func (s *LMSource) rowLen(r int) int {
	n := 0
	for _, e := range s.rows[r] {
		n += len(s.examples[e].IDs)
	}
	return n
}

// Stats reports how the examples were prepared.
func (s *LMSource) Stats() LMSourceStats { return s.stats }

// Config returns the configuration with defaults filled in.
func (s *LMSource) Config() LMSourceConfig { return s.cfg }

// NumBatches implements Source.
func (s *LMSource) NumBatches() int { return (len(s.rows) + s.cfg.BatchSize - 1) / s.cfg.BatchSize }

// Batch implements Source.
func (s *LMSource) Batch(epoch, index int) (Batch, error) {
	if epoch < 0 || index < 0 || index >= s.NumBatches() {
		return Batch{}, fmt.Errorf("train: batch (epoch %d, index %d) out of range: %d batches per epoch", epoch, index, s.NumBatches())
	}
	s.mu.Lock()
	if s.orderEpoch != epoch {
		s.order = s.batchOrder(epoch)
		s.orderEpoch = epoch
	}
	rows := s.order[index]
	s.mu.Unlock()
	return s.pad(rows), nil
}

// batchOrder lists the rows of every batch of an epoch.
func (s *LMSource) batchOrder(epoch int) [][]int {
	cfg := s.cfg
	cfg.GroupByLength = cfg.GroupByLength && !cfg.Pack // packed rows are all about MaxLen long
	return BatchOrder(len(s.rows), cfg, epoch, s.rowLen)
}

// BatchOrder splits items 0..n−1 into the batches of one epoch as cfg
// says: in order, shuffled with a permutation derived from (Seed, epoch),
// and with GroupByLength sorted by length (longest first) within windows
// of 64 batches, the batches then shuffled. length gives an item's length.
func BatchOrder(n int, cfg LMSourceConfig, epoch int, length func(item int) int) [][]int {
	bs := cfg.BatchSize
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	var rng *rand.Rand
	if cfg.Shuffle || cfg.GroupByLength {
		rng = rand.New(rand.NewPCG(cfg.Seed, uint64(epoch)))
	}
	if cfg.Shuffle {
		rng.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
	}
	if cfg.GroupByLength {
		window := 64 * bs
		for start := 0; start < n; start += window {
			w := perm[start:min(start+window, n)]
			slices.SortStableFunc(w, func(a, b int) int { return cmp.Compare(length(b), length(a)) })
		}
	}
	var batches [][]int
	for start := 0; start < n; start += bs {
		batches = append(batches, perm[start:min(start+bs, n)])
	}
	if cfg.GroupByLength && cfg.Shuffle {
		rng.Shuffle(len(batches), func(i, j int) { batches[i], batches[j] = batches[j], batches[i] })
	}
	return batches
}

// pad builds the four LM tensors for the given rows, padded to the
// smallest bucket that holds the longest of them and to BatchSize rows.
func (s *LMSource) pad(rows []int) Batch {
	longest := 0
	for _, r := range rows {
		longest = max(longest, s.rowLen(r))
	}
	buf := NewLMRows(s.cfg.BatchSize, BucketFor(s.cfg.Buckets, longest), s.cfg.PadID)
	var batch Batch
	for b, r := range rows {
		off := 0
		for k, e := range s.rows[r] {
			ex := s.examples[e]
			buf.Put(b, off, k+1, ex)
			off += len(ex.IDs)
			batch.Examples++
			batch.Tokens += len(ex.IDs)
		}
	}
	batch.Inputs = buf.Tensors()
	return batch
}

// LMRows holds the four causal-LM inputs (InputIDs, Labels, LossWeights,
// AttentionMask) of a batch being filled, on the host.
type LMRows struct {
	rows, length      int
	ids, labels       []int32
	weights, segments []float32
}

// NewLMRows returns rows × length inputs, all padding (pad ids, weight 0).
func NewLMRows(rows, length int, pad int32) *LMRows {
	n := rows * length
	r := &LMRows{rows: rows, length: length, ids: make([]int32, n), labels: make([]int32, n),
		weights: make([]float32, n), segments: make([]float32, n)}
	if pad != 0 {
		for i := range r.ids {
			r.ids[i], r.labels[i] = pad, pad
		}
	}
	return r
}

// Put writes ex into row at token offset as segment number segment (≥ 1):
// its ids, its next-token labels and weights (1 where the next token is a
// target; none past its last token, so nothing predicts what follows it in
// the row).
func (r *LMRows) Put(row, offset, segment int, ex Example) {
	off := row*r.length + offset
	for t, id := range ex.IDs {
		r.ids[off+t] = id
		r.segments[off+t] = float32(segment)
		if t+1 < len(ex.IDs) {
			r.labels[off+t] = ex.IDs[t+1]
			if ex.LossMask[t+1] {
				r.weights[off+t] = 1
			}
		}
	}
}

// Tensors returns the inputs in the order of InputIDs … AttentionMask.
func (r *LMRows) Tensors() []*tensors.Tensor {
	return []*tensors.Tensor{
		tensors.FromFlatDataAndDimensions(r.ids, r.rows, r.length),
		tensors.FromFlatDataAndDimensions(r.labels, r.rows, r.length),
		tensors.FromFlatDataAndDimensions(r.weights, r.rows, r.length),
		tensors.FromFlatDataAndDimensions(r.segments, r.rows, r.length),
	}
}
