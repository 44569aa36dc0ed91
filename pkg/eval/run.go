package eval

import (
	stdcontext "context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/compute"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/metrics"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safety"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

// Report is what Run returns: the contents of metrics.json and of
// examples.jsonl, and the directory they were written to ("" when
// Options.Out was empty).
type Report struct {
	Metrics  Metrics
	Examples []ExampleResult
	Dir      string
}

// Metrics is metrics.json: how the run was made and its aggregates, per
// source and overall.
type Metrics struct {
	Name      string `json:"name"`
	Model     string `json:"model"`
	Adapter   string `json:"adapter,omitempty"`
	DType     string `json:"dtype"`
	Backend   string `json:"backend"`
	Tokenizer string `json:"tokenizer"`
	Data      string `json:"data"` // "shipped corpora", a JSONL file, or "conversations"
	Split     string `json:"split"`
	Debug     bool   `json:"debug"`
	Limit     int    `json:"limit"`

	Examples int `json:"examples"`
	// ExamplesDigest identifies the examples (sources and ids, in order):
	// runs with equal digests were scored on the same prompts.
	ExamplesDigest string    `json:"examples_digest"`
	Skipped        []Skipped `json:"skipped"`

	Generation     GenerationSettings     `json:"generation"`
	BERTScore      *BERTScoreSettings     `json:"bertscore"` // null when skipped
	MIClassifier   string                 `json:"mi_classifier"`
	QualityWeights metrics.QualityWeights `json:"quality_weights"`

	Overall  Aggregate            `json:"overall"`
	BySource map[string]Aggregate `json:"by_source"`
	Timing   Timing               `json:"timing"`
	// Safety counts what the safety gate did with the prompts (no text).
	Safety safety.Counts `json:"safety"`
}

// Skipped is an example left out, with the reason.
type Skipped struct {
	Source string `json:"source"`
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// GenerationSettings record how replies were generated.
type GenerationSettings struct {
	MaxNewTokens      int     `json:"max_new_tokens"`
	MaxPromptTokens   int     `json:"max_prompt_tokens"`
	BatchSize         int     `json:"batch_size"`
	Bucket            int     `json:"bucket"`
	Greedy            bool    `json:"greedy"`
	Temperature       float64 `json:"temperature"`
	TopK              int     `json:"top_k"`
	TopP              float64 `json:"top_p"`
	RepetitionPenalty float64 `json:"repetition_penalty"`
	Seed              uint64  `json:"seed"`
	StopIDs           []int   `json:"stop_ids"`
}

// BERTScoreSettings name the encoder behind the BERTScore numbers.
type BERTScoreSettings struct {
	Encoder   string `json:"encoder"`
	Layer     int    `json:"layer"` // HF hidden_states index; -1 when the encoder does not say
	IDF       bool   `json:"idf"`
	Rescaled  bool   `json:"rescaled"`
	MaxTokens int    `json:"max_tokens,omitempty"`
	Note      string `json:"note"`
}

// bertScoreNote is written next to every BERTScore.
const bertScoreNote = "BERTScore depends on its encoder: compare it only between runs with the same encoder (same base model and layer); " +
	"the default encoder is the base model without adapter, so a base model and its fine-tunes share it."

// Timing records where the time went.
type Timing struct {
	LoadSeconds      float64 `json:"load_s"`
	GenerateSeconds  float64 `json:"generate_s"`
	NewTokens        int     `json:"new_tokens"`
	TokensPerSecond  float64 `json:"new_tokens_per_s"`
	ScoreSeconds     float64 `json:"score_s"`
	BERTScoreSeconds float64 `json:"bertscore_s"`
	TotalSeconds     float64 `json:"total_s"`
}

// miClassifierName describes the default classifier in metrics.json.
const miClassifierName = "metrics.DefaultMIClassifier (n-gram logistic regression trained on AnnoMI's expert labels, previous client turn as context)"

// Run evaluates a model (with an optional adapter) on held-out examples:
// it generates a reply to each prompt, scores it against the reference with
// every measure of package metrics and, when Options.Out is set, writes
// metrics.json and examples.jsonl there atomically. ctx cancels the run
// between generation steps.
func Run(ctx stdcontext.Context, opts Options) (*Report, error) {
	start := time.Now()
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	cfg, err := stage.ResolveConfig(opts.ConfigOptions)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	for _, note := range cfg.Notes() {
		log.Warn("eval: configuration: " + note)
	}
	s, err := resolveSettings(&opts, cfg)
	if err != nil {
		return nil, err
	}
	convs, dataName, err := heldOut(&opts, cfg, s.split)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	examples, err := SelectExamples(convs, s.limit)
	if err != nil {
		return nil, fmt.Errorf("eval: %s: %w", dataName, err)
	}
	if len(examples) == 0 {
		return nil, fmt.Errorf("eval: no examples in split %q of %s", s.split, dataName)
	}

	ld, err := loadEvaluated(ctx, &opts, cfg)
	if err != nil {
		return nil, err
	}
	clf := opts.Classifier
	if clf == nil {
		if clf, err = metrics.DefaultMIClassifier(); err != nil {
			return nil, fmt.Errorf("eval: %w", err)
		}
	}
	weights := metrics.DefaultQualityWeights()
	if opts.QualityWeights != nil {
		weights = *opts.QualityWeights
	}
	maxPos := ld.model.Config.MaxPositionEmbeddings
	if s.maxNew >= maxPos {
		return nil, fmt.Errorf("eval: max new tokens %d leave no room for a prompt in the model's %d positions", s.maxNew, maxPos)
	}
	s.maxPrompt = min(s.maxPrompt, maxPos-s.maxNew)
	m := Metrics{
		Name: s.name, Model: ld.name, Adapter: opts.Adapter, DType: strings.ToLower(ld.model.DType.String()),
		Backend: ld.backend.Name(), Tokenizer: ld.tok.Name(), Data: dataName, Split: s.split,
		Debug: opts.Debug, Limit: s.limit,
		Generation: GenerationSettings{
			MaxNewTokens: s.maxNew, MaxPromptTokens: s.maxPrompt, BatchSize: s.batch, Bucket: s.bucket,
			Greedy: opts.Sampling.Temperature == 0, Temperature: opts.Sampling.Temperature,
			TopK: opts.Sampling.TopK, TopP: opts.Sampling.TopP, RepetitionPenalty: opts.Sampling.RepetitionPenalty,
			Seed: opts.Seed, StopIDs: StopIDs(ld.model.Config, ld.tok),
		},
		MIClassifier: miClassifierName, QualityWeights: weights, Skipped: []Skipped{},
	}
	if opts.Classifier != nil {
		m.MIClassifier = "custom"
	}
	m.Timing.LoadSeconds = time.Since(start).Seconds()

	results, skipped := preparePrompts(examples, ld, s.maxPrompt)
	m.Skipped = append(m.Skipped, skipped...)
	if len(results) == 0 {
		return nil, fmt.Errorf("eval: every example was skipped (first: %s %s: %s)", skipped[0].Source, skipped[0].ID, skipped[0].Reason)
	}
	log.Info("eval", "model", ld.name, "adapter", opts.Adapter, "split", s.split, "examples", len(results),
		"skipped", len(skipped), "max_new_tokens", s.maxNew, "batch", s.batch)

	gen := &generation{
		model: ld.model, backend: ld.backend, tok: ld.tok, opts: &opts,
		genOpts: gemma3n.GenerateOptions{
			MaxNewTokens: s.maxNew, StopIDs: m.Generation.StopIDs,
			SamplingOptions: opts.Sampling, Seed: opts.Seed, Bucket: s.bucket,
		},
		batch: s.batch,
	}
	gate, err := safety.NewGate(cfg.Safety, opts.NoSafetyGate)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	toModel, decisions := gateResults(gate, results)
	t0 := time.Now()
	if err := gen.run(ctx, toModel); err != nil {
		return nil, err
	}
	finishGated(results, toModel, decisions)
	m.Safety = gate.Counts()
	m.Timing.GenerateSeconds = time.Since(t0).Seconds()
	for i := range results {
		m.Timing.NewTokens += results[i].NewTokens
	}
	if m.Timing.GenerateSeconds > 0 {
		m.Timing.TokensPerSecond = float64(m.Timing.NewTokens) / m.Timing.GenerateSeconds
	}

	t0 = time.Now()
	for i := range results {
		scoreExample(&results[i], clf, weights)
	}
	m.Timing.ScoreSeconds = time.Since(t0).Seconds()

	if !opts.NoBERTScore {
		t0 = time.Now()
		enc := opts.Encoder
		maxTokens := 0
		if enc == nil {
			he, err := NewHiddenEncoder(ld.backend, ld.model, ld.tok, ld.name, s.bertLayer)
			if err != nil {
				return nil, err
			}
			he.BatchSize = s.batch
			enc, maxTokens = he, he.MaxTokens
		}
		info, err := addBERTScore(ctx, results, enc, opts.BERTScoreIDF, &opts)
		if err != nil {
			return nil, err
		}
		info.MaxTokens = maxTokens
		m.BERTScore = info
		m.Timing.BERTScoreSeconds = time.Since(t0).Seconds()
	}

	if m.Overall, err = Summarize(results); err != nil {
		return nil, err
	}
	m.BySource = map[string]Aggregate{}
	for _, src := range sourcesOf(results) {
		agg, err := Summarize(ofSource(results, src))
		if err != nil {
			return nil, err
		}
		m.BySource[src] = agg
	}
	m.Examples = len(results)
	m.ExamplesDigest = examplesDigest(results)
	m.Timing.TotalSeconds = time.Since(start).Seconds()

	rep := &Report{Metrics: m, Examples: results}
	if opts.Out != "" {
		if err := rep.write(opts.Out); err != nil {
			return nil, err
		}
		rep.Dir = opts.Out
	}
	log.Info("eval done", "examples", m.Examples, "bleu", m.Overall.Text.BLEU, "chrf", m.Overall.Text.CHRF,
		"rougeL", m.Overall.Text.ROUGEL, "wall_s", m.Timing.TotalSeconds)
	return rep, nil
}

// settings are the resolved knobs of a run.
type settings struct {
	split                    string
	limit, maxNew, maxPrompt int
	batch, bucket, bertLayer int // bertLayer -1: the default
	name                     string
}

func resolveSettings(opts *Options, cfg *config.All) (settings, error) {
	s := settings{
		split: opts.Split, limit: opts.Limit, maxNew: opts.MaxNewTokens, maxPrompt: opts.MaxPromptTokens,
		batch: opts.BatchSize, bucket: opts.Bucket, bertLayer: -1, name: opts.Name,
	}
	if s.split == "" {
		s.split = string(data.SplitTest)
	}
	if _, err := data.ParseSplit(s.split); err != nil {
		return s, fmt.Errorf("eval: %w", err)
	}
	if s.limit < 0 || s.maxNew < 0 || s.maxPrompt < 0 || s.batch < 0 || s.bucket < 0 || opts.BERTScoreLayer < 0 {
		return s, errors.New("eval: limit, max new tokens, max prompt tokens, batch size, bucket and BERTScore layer must not be negative")
	}
	if opts.BERTScoreLayer > 0 {
		s.bertLayer = opts.BERTScoreLayer
	}
	if opts.Debug && s.limit == 0 {
		s.limit = DebugLimit
	}
	if s.maxNew == 0 {
		s.maxNew = DefaultMaxNewTokens
		if opts.Debug {
			s.maxNew = DebugMaxNewTokens
		}
	}
	if s.maxPrompt == 0 {
		s.maxPrompt = cfg.Model.MaxSeqLength
	}
	if s.batch == 0 {
		s.batch = DefaultBatchSize
	}
	if s.bucket == 0 {
		s.bucket = DefaultBucket
	}
	if s.name == "" && opts.Out != "" {
		s.name = filepath.Base(filepath.Clean(opts.Out))
	}
	for _, src := range opts.Sources {
		if src != data.SourceCounselChat && src != data.SourceAnnoMI {
			return s, fmt.Errorf("eval: unknown source %q (want counselchat or annomi)", src)
		}
	}
	return s, nil
}

// heldOut returns the conversations to evaluate and names where they came
// from.
func heldOut(opts *Options, cfg *config.All, split string) ([]data.Conversation, string, error) {
	if opts.Conversations != nil {
		return opts.Conversations, "conversations", nil
	}
	if opts.Data != "" {
		convs, err := data.LoadConversations(opts.Data)
		if err != nil {
			return nil, "", err
		}
		labelled := slices.ContainsFunc(convs, func(c data.Conversation) bool { return c.Split != "" })
		if labelled {
			convs = slices.DeleteFunc(convs, func(c data.Conversation) bool { return c.Split != split })
		}
		return convs, opts.Data, nil
	}
	d := cfg.Data
	prepared, err := stage.PrepareShipped(cfg, opts.Debug)
	if err != nil {
		return nil, "", err
	}
	set := prepared.Sets[data.Split(split)]
	var convs []data.Conversation
	if len(opts.Sources) == 0 || slices.Contains(opts.Sources, data.SourceCounselChat) {
		convs = append(convs, set.CounselChat...)
	}
	if len(opts.Sources) == 0 || slices.Contains(opts.Sources, data.SourceAnnoMI) {
		convs = append(convs, set.AnnoMI...)
	}
	return convs, "shipped corpora (" + filepath.Base(cfg.Path(d.CounselChat.Path)) + ", " + filepath.Base(cfg.Path(d.AnnoMI.Path)) + ")", nil
}

// loaded is the model under evaluation.
type loaded struct {
	model   *gemma3n.Model
	tok     *tokenizer.Tokenizer
	backend compute.Backend
	name    string
}

// loadEvaluated loads (or takes) the model, applies the adapter and creates
// the backend.
func loadEvaluated(ctx stdcontext.Context, opts *Options, cfg *config.All) (*loaded, error) {
	ld := &loaded{model: opts.ModelInstance, tok: opts.Tokenizer, name: cfg.Model.NameOrPath}
	var err error
	if ld.model == nil {
		dtype, err := stage.ParseDType(cfg.Model.DType)
		if err != nil {
			return nil, fmt.Errorf("eval: model %s: model %w", cfg.Model.NameOrPath, err)
		}
		lm, err := stage.LoadModel(ctx, cfg.Model.NameOrPath, dtype, opts.Hub, gemma3n.WeightOptions{})
		if err != nil {
			return nil, fmt.Errorf("eval: model %s: %w", cfg.Model.NameOrPath, err)
		}
		ld.model = lm.Model
		if ld.tok == nil {
			ld.tok = lm.Tokenizer
		}
	} else {
		if opts.Model == "" {
			ld.name = "in-memory model"
		}
		if ld.tok == nil {
			if ld.tok, err = tokenizer.ForModel("", ld.model.Config.VocabSize); err != nil {
				return nil, fmt.Errorf("eval: %w", err)
			}
		}
	}
	if opts.Adapter != "" {
		a, err := lora.Load(ld.model, opts.Adapter)
		if err != nil {
			return nil, fmt.Errorf("eval: adapter: %w", err)
		}
		for _, w := range a.Warnings() {
			slogOf(opts).Warn("adapter", "warning", w)
		}
	}
	if ld.backend = opts.BackendInstance; ld.backend == nil {
		if ld.backend, err = stage.NewBackend(cfg.Model.Backend); err != nil {
			return nil, fmt.Errorf("eval: backend: %w", err)
		}
	}
	return ld, nil
}

func slogOf(opts *Options) *slog.Logger {
	if opts.Logger != nil {
		return opts.Logger
	}
	return slog.Default()
}

// StopIDs are the ids that end a reply: the model's EOS ids, <end_of_turn>
// and <eos>, within the vocabulary.
func StopIDs(cfg *gemma3n.Config, tok *tokenizer.Tokenizer) []int {
	ids := slices.Clone(cfg.EOSTokenIDs)
	for _, id := range []int32{tok.EndOfTurn(), tok.EOS()} {
		if id >= 0 && int(id) < cfg.VocabSize && !slices.Contains(ids, int(id)) {
			ids = append(ids, int(id))
		}
	}
	slices.Sort(ids)
	return ids
}

// preparePrompts fits each example's prompt; examples whose prompt cannot
// be fitted or tokenizes outside the model's vocabulary are skipped.
func preparePrompts(examples []Example, ld *loaded, maxPrompt int) ([]ExampleResult, []Skipped) {
	var out []ExampleResult
	var skipped []Skipped
	vocab := ld.model.Config.VocabSize
	for _, ex := range examples {
		p, err := FitPrompt(ld.tok, ex.Prompt, maxPrompt)
		if err == nil {
			if i := slices.IndexFunc(p.IDs, func(id int32) bool { return int(id) >= vocab }); i >= 0 {
				err = fmt.Errorf("prompt token %d: id %d outside the model's vocabulary [0, %d)", i, p.IDs[i], vocab)
			}
		}
		if err != nil {
			skipped = append(skipped, Skipped{Source: ex.Source, ID: ex.ID, Reason: err.Error()})
			continue
		}
		r := ExampleResult{Example: ex, Context: ex.Context(), PromptTokens: len(p.IDs),
			DroppedTurns: p.DroppedTurns, PromptTruncated: p.Truncated}
		r.Prompt = p.Messages
		r.promptIDs = p.IDs
		out = append(out, r)
	}
	return out, skipped
}

func sourcesOf(results []ExampleResult) []string {
	var seen []string
	for i := range results {
		if !slices.Contains(seen, results[i].Source) {
			seen = append(seen, results[i].Source)
		}
	}
	return seen
}

func ofSource(results []ExampleResult, src string) []ExampleResult {
	var out []ExampleResult
	for i := range results {
		if results[i].Source == src {
			out = append(out, results[i])
		}
	}
	return out
}

// write saves metrics.json and examples.jsonl in dir, each atomically.
func (r *Report) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if err := data.WriteJSONL(filepath.Join(dir, ExamplesFileName), r.Examples); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if err := writeJSONAtomic(filepath.Join(dir, MetricsFileName), r.Metrics); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	return nil
}
