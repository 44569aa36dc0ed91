package eval

import (
	stdcontext "context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/compute"
	"github.com/schollz/progressbar/v3"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/metrics"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

// generation produces the replies of a run.
type generation struct {
	model   *gemma3n.Model
	backend compute.Backend
	tok     *tokenizer.Tokenizer
	opts    *Options
	genOpts gemma3n.GenerateOptions
	batch   int
}

// run generates a reply for every result, in batches of prompts of similar
// length (longest first, so that the largest shapes are compiled, and any
// memory shortage shows, at the start). Every batch has the same number of
// rows, the last one padded with repeats, so that the compiled graphs are
// reused.
func (g *generation) run(ctx stdcontext.Context, results []ExampleResult) error {
	gen, err := g.model.NewGenerator(g.backend)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	order := make([]int, len(results))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(results[b].promptIDs) - len(results[a].promptIDs) })
	stop := g.genOpts.StopIDs
	rep := newReporter(g.opts, StageGenerate, len(results))
	tokens := 0
	for bi, start := 0, 0; start < len(order); bi, start = bi+1, start+g.batch {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		rows := order[start:min(start+g.batch, len(order))]
		prompts := make([][]int32, 0, g.batch)
		for _, i := range rows {
			prompts = append(prompts, results[i].promptIDs)
		}
		for len(order) > g.batch && len(prompts) < g.batch {
			prompts = append(prompts, prompts[len(prompts)-1])
		}
		o := g.genOpts
		o.Seed += uint64(bi)
		real := len(rows)
		o.OnToken = func(row int, _ int32) bool {
			if row < real {
				tokens++
			}
			return ctx.Err() == nil
		}
		out, err := gen.Generate(prompts, o)
		if err != nil {
			return fmt.Errorf("eval: generate: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		for k, i := range rows {
			r := &results[i]
			ids := out[k]
			r.NewTokens = len(ids)
			if n := len(ids); n > 0 && slices.Contains(stop, int(ids[n-1])) {
				r.Stopped = true
				ids = ids[:n-1]
			}
			r.Generated = strings.TrimSpace(g.tok.Decode(ids, true))
		}
		rep.add(len(rows), tokens)
	}
	rep.finish()
	return nil
}

// addBERTScore fills in each result's BERTScore against its reference.
// Without idf weights, pairs are scored in chunks (the score of a pair does
// not depend on the others), which bounds the embeddings held at once; idf
// weights need all references, so they are scored in one call.
func addBERTScore(ctx stdcontext.Context, results []ExampleResult, enc metrics.Encoder, idf bool, opts *Options) (*BERTScoreSettings, error) {
	chunk := bertScoreChunk
	if idf {
		chunk = len(results)
	}
	rep := newReporter(opts, StageBERTScore, len(results))
	var info *BERTScoreSettings
	for start := 0; start < len(results); start += chunk {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("eval: %w", err)
		}
		part := results[start:min(start+chunk, len(results))]
		hyps := make([]string, len(part))
		refs := make([]string, len(part))
		for i := range part {
			hyps[i], refs[i] = part[i].Generated, part[i].Reference
		}
		bs, err := metrics.BERTScore(enc, hyps, refs, metrics.BERTScoreOptions{IDF: idf})
		if err != nil {
			return nil, fmt.Errorf("eval: BERTScore: %w", err)
		}
		for i := range part {
			s := bs.Scores[i]
			part[i].Metrics.BERTScore = &s
		}
		if info == nil {
			info = &BERTScoreSettings{Encoder: bs.Encoder, Layer: bs.Layer, IDF: bs.IDF, Rescaled: bs.Rescaled, Note: bertScoreNote}
		}
		rep.add(len(part), 0)
	}
	rep.finish()
	return info, nil
}

// reporter drives the progress bar and the progress callback of one stage.
type reporter struct {
	opts        *Options
	stage       string
	total, done int
	tokens      int
	start       time.Time
	bar         *progressbar.ProgressBar
}

func newReporter(opts *Options, stage string, total int) *reporter {
	r := &reporter{opts: opts, stage: stage, total: total, start: time.Now()}
	if opts.Progress != nil {
		r.bar = newBar(opts.Progress, total, stage)
	}
	return r
}

func newBar(w io.Writer, total int, stage string) *progressbar.ProgressBar {
	return progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(stage),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("examples"),
		progressbar.OptionShowIts(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
}

// add records n more examples done and the tokens generated so far.
func (r *reporter) add(n, tokens int) {
	r.done += n
	r.tokens = tokens
	if r.bar != nil {
		if r.stage == StageGenerate {
			r.bar.Describe(fmt.Sprintf("%s (%d tokens)", r.stage, tokens))
		}
		_ = r.bar.Set(r.done)
	}
	if r.opts.OnProgress != nil {
		r.opts.OnProgress(Progress{Stage: r.stage, Done: r.done, Total: r.total, NewTokens: r.tokens, Elapsed: time.Since(r.start)})
	}
}

func (r *reporter) finish() {
	if r.bar != nil {
		_ = r.bar.Finish()
	}
}
