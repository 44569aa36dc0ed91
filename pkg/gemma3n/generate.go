package gemma3n

import (
	"errors"
	"fmt"
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// GenerateOptions control Generate. The zero value (with MaxNewTokens set)
// is greedy decoding that stops on the config's EOS ids.
type GenerateOptions struct {
	// MaxNewTokens bounds the tokens generated per prompt (required, > 0).
	MaxNewTokens int
	// MinNewTokens suppresses the stop ids for the first MinNewTokens steps
	// (as HF's min_new_tokens).
	MinNewTokens int
	// StopIDs end a row when generated (the stop token is kept in the
	// output). nil means Config.EOSTokenIDs.
	StopIDs []int
	SamplingOptions
	// Seed makes sampling reproducible.
	Seed uint64
	// Bucket rounds the padded prompt length and the KV-cache length up to
	// a multiple of Bucket, bounding the number of compiled graph shapes
	// (default 32).
	Bucket int
	// NoCache recomputes the whole sequence at every step instead of using
	// the KV cache (slower; a reference for the cached path).
	NoCache bool
	// OnToken, if set, is called after each step with the row and its new
	// token (not for rows that already stopped). Returning false stops
	// generation for all rows.
	OnToken func(row int, token int32) bool
}

// DefaultBucket is the default sequence-length granularity of Generate.
const DefaultBucket = 32

// Generator decodes (spec §7) with one model on one backend, keeping the
// compiled graphs between calls. By default it prefills the (left-padded,
// bucketed) prompts once and then decodes one token per step against a KV cache
// of fixed length, so that a whole generation compiles two graphs;
// GenerateOptions.NoCache recomputes the full sequence at every step.
type Generator struct {
	model   *Model
	backend compute.Backend
	exec    *model.Exec // no-cache: full sequence → last logits
	prefill *model.Exec // prompt → last logits and K/V buffers
	decode  *model.Exec // one token + K/V buffers → logits and buffers
	owners  []int       // KV-owner layers, in buffer order
}

// NewGenerator prepares decoding of m on backend b. Changing m.Linear
// afterwards requires a new Generator (graphs are compiled once).
func (m *Model) NewGenerator(b compute.Backend) (*Generator, error) {
	exec, err := model.NewExec(b, m.Store, func(scope *model.Scope, ids, positions, mask, at *Node) *Node {
		out := m.Forward(scope, Inputs{IDs: ids, Positions: positions, Mask: mask, LogitsAt: at})
		return ConvertDType(out.Logits, dtypes.Float32)
	})
	if err != nil {
		return nil, fmt.Errorf("gemma3n: %w", err)
	}
	g := &Generator{model: m, backend: b, exec: exec}
	for l := range m.Config.FirstKVSharedLayer() {
		g.owners = append(g.owners, l)
	}
	// Prefill inputs: ids, positions, mask [B,Tp], the logits index [B] and
	// the slot validity [B,S] (whose shape fixes the buffer length S).
	g.prefill, err = model.NewExec(b, m.Store, func(scope *model.Scope, in []*Node) []*Node {
		cache := &kvCache{length: in[4].Shape().Dimensions[1], out: map[int]keyValues{}}
		out := m.Forward(scope, Inputs{IDs: in[0], Positions: in[1], Mask: in[2], LogitsAt: in[3], cache: cache})
		return append([]*Node{ConvertDType(out.Logits, dtypes.Float32)}, g.buffers(cache)...)
	})
	if err != nil {
		return nil, fmt.Errorf("gemma3n: %w", err)
	}
	// Decode inputs: ids and positions [B,1], the slot (int32 scalar), the
	// slot validity [B,S], then K and V of every owner layer.
	g.decode, err = model.NewExec(b, m.Store, func(scope *model.Scope, in []*Node) []*Node {
		cache := &kvCache{length: in[3].Shape().Dimensions[1], slot: in[2], valid: in[3],
			in: map[int]keyValues{}, out: map[int]keyValues{}}
		for i, l := range g.owners {
			cache.in[l] = keyValues{k: in[4+2*i], v: in[5+2*i]}
		}
		at := Zeros(in[0].Graph(), shapeInt32(in[0].Shape().Dimensions[0])) // the one token of each row
		out := m.Forward(scope, Inputs{IDs: in[0], Positions: in[1], LogitsAt: at, cache: cache})
		return append([]*Node{ConvertDType(out.Logits, dtypes.Float32)}, g.buffers(cache)...)
	})
	if err != nil {
		return nil, fmt.Errorf("gemma3n: %w", err)
	}
	return g, nil
}

// buffers lists the cache's output K/V in owner order.
func (g *Generator) buffers(c *kvCache) []*Node {
	out := make([]*Node, 0, 2*len(g.owners))
	for _, l := range g.owners {
		out = append(out, c.out[l].k, c.out[l].v)
	}
	return out
}

// Generate is a convenience for m.NewGenerator(b) followed by Generate.
func (m *Model) Generate(b compute.Backend, prompts [][]int32, opts GenerateOptions) ([][]int32, error) {
	g, err := m.NewGenerator(b)
	if err != nil {
		return nil, err
	}
	return g.Generate(prompts, opts)
}

// Generate continues each prompt (token ids, without padding; rows may
// differ in length) and returns the new tokens of each row, the stop token
// included when a row stopped on one. Rows are decoded together as one
// left-padded batch.
func (g *Generator) Generate(prompts [][]int32, opts GenerateOptions) ([][]int32, error) {
	cfg := g.model.Config
	if err := checkGenerate(cfg, prompts, opts); err != nil {
		return nil, err
	}
	bucket := opts.Bucket
	if bucket <= 0 {
		bucket = DefaultBucket
	}
	stop := opts.StopIDs
	if stop == nil {
		stop = cfg.EOSTokenIDs
	}
	smp := newSampler(opts.SamplingOptions, opts.Seed)
	seqs := make([][]int32, len(prompts))
	for i, p := range prompts {
		seqs[i] = slices.Clone(p)
	}
	out := make([][]int32, len(prompts))
	done := make([]bool, len(prompts))
	var next func(step int) ([][]float32, error)
	if opts.NoCache {
		next = func(int) ([][]float32, error) { return g.lastLogits(seqs, bucket) }
	} else {
		next = g.cachedSteps(prompts, seqs, bucket, opts.MaxNewTokens)
	}
	for step := range opts.MaxNewTokens {
		logits, err := next(step)
		if err != nil {
			return nil, err
		}
		var banned []int
		if step < opts.MinNewTokens {
			banned = stop
		}
		keepGoing := true
		for row := range seqs {
			if done[row] {
				continue
			}
			if i := firstNonFinite32(logits[row]); i >= 0 {
				// A sampler would pick an arbitrary token (argmax of NaN is
				// token 0, forever): stop with an error instead.
				return nil, &NonFiniteLogitsError{Row: row, Step: step, Index: i, Value: logits[row][i]}
			}
			tok := int32(smp.next(logits[row], seqs[row], banned))
			seqs[row] = append(seqs[row], tok)
			out[row] = append(out[row], tok)
			if slices.Contains(stop, int(tok)) {
				done[row] = true
			}
			if opts.OnToken != nil && !opts.OnToken(row, tok) {
				keepGoing = false
			}
		}
		if !keepGoing || !slices.Contains(done, false) {
			break
		}
	}
	return out, nil
}

func checkGenerate(cfg *Config, prompts [][]int32, opts GenerateOptions) error {
	if len(prompts) == 0 {
		return errors.New("gemma3n: generate: no prompts")
	}
	if opts.MaxNewTokens <= 0 {
		return fmt.Errorf("gemma3n: generate: MaxNewTokens must be positive, got %d", opts.MaxNewTokens)
	}
	if opts.Temperature < 0 || opts.TopK < 0 || opts.TopP < 0 || opts.TopP > 1 || opts.RepetitionPenalty < 0 {
		return fmt.Errorf("gemma3n: generate: invalid sampling options %+v", opts.SamplingOptions)
	}
	for i, p := range prompts {
		if len(p) == 0 {
			return fmt.Errorf("gemma3n: generate: prompt %d is empty", i)
		}
		if n := len(p) + opts.MaxNewTokens; n > cfg.MaxPositionEmbeddings {
			return fmt.Errorf("gemma3n: generate: prompt %d: %d tokens + %d new exceed max_position_embeddings %d",
				i, len(p), opts.MaxNewTokens, cfg.MaxPositionEmbeddings)
		}
		for j, id := range p {
			if id < 0 || int(id) >= cfg.VocabSize {
				return fmt.Errorf("gemma3n: generate: prompt %d, token %d: id %d outside the vocabulary [0, %d)", i, j, id, cfg.VocabSize)
			}
		}
	}
	return nil
}

// cachedSteps returns the logits source of a cached generation: step 0
// prefills the prompts, step i > 0 decodes the token each row chose at
// step i−1 (seqs' last element).
func (g *Generator) cachedSteps(prompts, seqs [][]int32, bucket, maxNew int) func(step int) ([][]float32, error) {
	batch := PadLeft(prompts, bucket, int32(g.model.Config.PadTokenID))
	tp := batch.Length
	length := (tp + maxNew + bucket - 1) / bucket * bucket
	valid := make([][]bool, len(prompts))
	for i := range valid {
		valid[i] = make([]bool, length)
		copy(valid[i], batch.Mask[i])
	}
	var buffers []any
	return func(step int) ([][]float32, error) {
		var res []*tensors.Tensor
		var err error
		if step == 0 {
			at := make([]int32, len(prompts))
			for i := range at {
				at[i] = int32(tp - 1)
			}
			res, err = g.prefill.Exec(batch.IDs, batch.Positions, batch.Mask, at, valid)
		} else {
			slot := tp + step - 1
			ids := make([][]int32, len(prompts))
			pos := make([][]int32, len(prompts))
			for i := range prompts {
				ids[i] = []int32{seqs[i][len(seqs[i])-1]}
				pos[i] = []int32{int32(len(prompts[i]) + step - 1)}
				valid[i][slot] = true
			}
			args := []any{ids, pos, int32(slot), valid}
			for i, buf := range buffers {
				// Donated K/V buffers let XLA update the cache in place
				// instead of holding two copies per step; buffers shared
				// with the host (SimpleGo) cannot be donated.
				if t := buf.(*tensors.Tensor); !t.IsShared() {
					d, err := DonateTensorBuffer(t, g.backend, 0)
					if err != nil {
						return nil, fmt.Errorf("gemma3n: generate: donating the KV cache: %w", err)
					}
					args = append(args, d)
					buffers[i] = nil // finalized by the donation
					continue
				}
				args = append(args, buf)
			}
			res, err = g.decode.Exec(args...)
		}
		if err != nil {
			return nil, fmt.Errorf("gemma3n: generate: %w", err)
		}
		for _, old := range buffers {
			if old != nil {
				old.(*tensors.Tensor).MustFinalizeAll()
			}
		}
		buffers = buffers[:0]
		for _, t := range res[1:] {
			buffers = append(buffers, t)
		}
		return res[0].Value().([][]float32), nil
	}
}

// lastLogits runs the model on the left-padded batch of seqs and returns
// the float32 logits of each row's last token.
func (g *Generator) lastLogits(seqs [][]int32, bucket int) ([][]float32, error) {
	batch := PadLeft(seqs, bucket, int32(g.model.Config.PadTokenID))
	at := make([]int32, len(seqs))
	for i := range at {
		at[i] = int32(batch.Length - 1)
	}
	res, err := g.exec.Exec(batch.IDs, batch.Positions, batch.Mask, at)
	if err != nil {
		return nil, fmt.Errorf("gemma3n: generate: %w", err)
	}
	return res[0].Value().([][]float32), nil
}

// PaddedBatch is a left-padded batch of token rows.
type PaddedBatch struct {
	IDs       [][]int32 // [B][Length], padding first
	Positions [][]int32 // 0.. from each row's first real token; 0 on padding
	Mask      [][]bool  // true on real tokens
	Length    int
}

// PadLeft left-pads rows to a common length rounded up to a multiple of
// bucket (≥ 1), so that the last real token of every row is at Length−1.
func PadLeft(rows [][]int32, bucket int, pad int32) PaddedBatch {
	longest := 0
	for _, r := range rows {
		longest = max(longest, len(r))
	}
	bucket = max(bucket, 1)
	length := (longest + bucket - 1) / bucket * bucket
	b := PaddedBatch{Length: length}
	for _, r := range rows {
		ids := make([]int32, length)
		pos := make([]int32, length)
		mask := make([]bool, length)
		off := length - len(r)
		for j := range off {
			ids[j] = pad
		}
		for j, id := range r {
			ids[off+j] = id
			pos[off+j] = int32(j)
			mask[off+j] = true
		}
		b.IDs = append(b.IDs, ids)
		b.Positions = append(b.Positions, pos)
		b.Mask = append(b.Mask, mask)
	}
	return b
}

// NonFiniteLogitsError reports logits with a NaN or an Inf during
// generation: the weights or the activations of the model are broken, and
// no token can be chosen.
type NonFiniteLogitsError struct {
	Row   int     // the prompt (0-based)
	Step  int     // the generation step (0: the logits after the prompt)
	Index int     // the vocabulary id whose logit is not finite
	Value float32 // NaN, +Inf or -Inf
}

func (e *NonFiniteLogitsError) Error() string {
	return fmt.Sprintf("gemma3n: generate: the logits of prompt %d at new token %d are not finite (token id %d: %v)", e.Row+1, e.Step+1, e.Index, e.Value)
}

// firstNonFinite32 returns the index of the first NaN or ±Inf of x, or -1.
func firstNonFinite32(x []float32) int {
	for i, v := range x {
		if v-v != 0 { // NaN - NaN and Inf - Inf are NaN; finite - itself is 0
			return i
		}
	}
	return -1
}
