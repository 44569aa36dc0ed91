package bench

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
)

// GenerateOptions configure Generate.
type GenerateOptions struct {
	Size      ModelSize
	DType     dtypes.DType
	PromptLen int // tokens of the (random) prompt
	NewTokens int // tokens generated per run; generation never stops early
	// Runs are timed decodes after one untimed run that compiles the graphs.
	Runs int
	Seed uint64
	// Progress, if set, logs each phase (see TrainOptions.Progress).
	Progress *slog.Logger `json:"-"`
}

// DefaultGenerateOptions is the benchmark: E2B in bfloat16, greedy,
// batch 1, a 256-token prompt, 64 new tokens.
func DefaultGenerateOptions() GenerateOptions {
	return GenerateOptions{
		Size: ModelSize{Preset: DefaultPreset}, DType: dtypes.BFloat16,
		PromptLen: 256, NewTokens: 64, Runs: 1, Seed: 42,
	}
}

// GenerateReport is the result of Generate.
type GenerateReport struct {
	Kind      string       `json:"kind"` // "generate"
	Backend   string       `json:"backend"`
	Device    string       `json:"device"`
	DType     string       `json:"dtype"`
	Model     ModelSummary `json:"model"`
	Batch     int          `json:"batch"` // always 1
	PromptLen int          `json:"prompt_len"`
	NewTokens int          `json:"new_tokens"`
	Runs      int          `json:"runs"`
	// KVCache reports whether decoding reused cached keys and values
	// (gemma3n.Generator does, unless told otherwise).
	KVCache bool `json:"kv_cache"`
	// Bucket is the sequence-length granularity of the compiled graphs.
	Bucket      int     `json:"bucket"`
	InitSeconds float64 `json:"init_s"`
	// FirstRunSeconds is the untimed first run: compiling the prefill and
	// decode graphs plus one generation.
	FirstRunSeconds float64 `json:"first_run_s"`
	// PrefillSeconds is the median time to the first new token (the
	// prompt's forward pass) over the timed runs.
	PrefillSeconds float64 `json:"prefill_s"`
	// DecodeTokensPerSecond counts the tokens after the first per second
	// of their generation: the steady-state decoding speed.
	DecodeTokensPerSecond float64 `json:"decode_tokens_per_s"`
	// TokensPerSecond is NewTokens / the median run time (prefill included).
	TokensPerSecond float64 `json:"tokens_per_s"`
	Run             Timing  `json:"run"`
	Memory          Memory  `json:"memory"`
}

// generatorKVCache records whether the benchmark decodes with
// gemma3n.Generator's KV cache (prefill once, then one token per step).
const generatorKVCache = true

// Generate builds the model of opts.Size with random weights on b and
// times greedy decoding of opts.NewTokens tokens after a random prompt of
// opts.PromptLen tokens, at batch 1, with gemma3n's Generator.
func Generate(b compute.Backend, backendName string, opts GenerateOptions) (*GenerateReport, error) {
	if opts.DType != dtypes.Float32 && opts.DType != dtypes.BFloat16 {
		return nil, fmt.Errorf("bench: dtype %s: want float32 or bfloat16", opts.DType)
	}
	if opts.PromptLen < 1 || opts.NewTokens < 2 || opts.Runs < 1 {
		return nil, fmt.Errorf("bench: prompt length %d, new tokens %d and runs %d must be ≥ 1, ≥ 2 and ≥ 1", opts.PromptLen, opts.NewTokens, opts.Runs)
	}
	cfg, err := opts.Size.Config()
	if err != nil {
		return nil, err
	}
	log := orDiscard(opts.Progress)
	start := time.Now()
	m, err := randomModel(b, cfg, opts.DType, opts.Seed, opts.Progress)
	if err != nil {
		return nil, err
	}
	defer m.Store.Finalize()
	r := &GenerateReport{
		Kind: "generate", Backend: backendName, Device: b.Description(), DType: stage.DTypeName(opts.DType),
		Model: summarizeModel(opts.Size.Preset, cfg), Batch: 1, PromptLen: opts.PromptLen,
		NewTokens: opts.NewTokens, Runs: opts.Runs, KVCache: generatorKVCache, Bucket: gemma3n.DefaultBucket,
		InitSeconds: time.Since(start).Seconds(),
	}
	gen, err := m.NewGenerator(b)
	if err != nil {
		return nil, err
	}
	prompt := randomPrompt(opts.PromptLen, cfg.VocabSize, opts.Seed)
	log.Info("bench: first run: compiling the prefill and decode graphs, then one generation",
		"weights_s", roundSeconds(time.Since(start)), "prompt", opts.PromptLen, "new_tokens", opts.NewTokens)
	first, err := timeDecode(gen, prompt, opts.NewTokens, gemma3n.DefaultBucket)
	if err != nil {
		return nil, err
	}
	r.FirstRunSeconds = first.total
	log.Info("bench: first run done", "s", first.total, "prefill_s", first.prefill)
	var totals, prefills, decodes []float64
	for range opts.Runs {
		d, err := timeDecode(gen, prompt, opts.NewTokens, gemma3n.DefaultBucket)
		if err != nil {
			return nil, err
		}
		log.Info("bench: run", "run", fmt.Sprintf("%d/%d", len(totals)+1, opts.Runs), "s", d.total, "prefill_s", d.prefill)
		totals = append(totals, d.total)
		prefills = append(prefills, d.prefill)
		decodes = append(decodes, d.total-d.prefill)
	}
	r.Run = Summarize(totals)
	r.PrefillSeconds = Summarize(prefills).Median
	if s := Summarize(decodes).Median; s > 0 {
		r.DecodeTokensPerSecond = float64(opts.NewTokens-1) / s
	}
	if r.Run.Median > 0 {
		r.TokensPerSecond = float64(opts.NewTokens) / r.Run.Median
	}
	r.Memory = ReadMemory(b)
	return r, nil
}

// decodeTiming is one timed generation.
type decodeTiming struct {
	prefill float64 // seconds to the first new token
	total   float64 // seconds to the last
}

// timeDecode generates exactly n tokens greedily (stop ids are suppressed)
// and times the first and the last.
func timeDecode(gen *gemma3n.Generator, prompt []int32, n, bucket int) (decodeTiming, error) {
	var firstAt time.Duration
	count := 0
	start := time.Now()
	out, err := gen.Generate([][]int32{prompt}, gemma3n.GenerateOptions{
		MaxNewTokens: n,
		MinNewTokens: n, // no early stop: every run decodes n tokens
		Bucket:       bucket,
		OnToken: func(_ int, _ int32) bool {
			if count == 0 {
				firstAt = time.Since(start)
			}
			count++
			return true
		},
	})
	total := time.Since(start)
	if err != nil {
		return decodeTiming{}, fmt.Errorf("bench: generate: %w", err)
	}
	if len(out) != 1 || len(out[0]) != n {
		return decodeTiming{}, fmt.Errorf("bench: generate returned %d tokens, want %d", len(out[0]), n)
	}
	return decodeTiming{prefill: firstAt.Seconds(), total: total.Seconds()}, nil
}

// randomPrompt returns n random token ids in [3, vocab), above the pad,
// EOS and BOS ids of the presets.
func randomPrompt(n, vocab int, seed uint64) []int32 {
	rng := rand.New(rand.NewPCG(seed, 0x9e0))
	ids := make([]int32, n)
	lo := min(3, vocab-1)
	for i := range ids {
		ids[i] = int32(lo + rng.IntN(vocab-lo))
	}
	return ids
}
