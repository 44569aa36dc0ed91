package sft

import (
	stdcontext "context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/backend"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/floats"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/runcheck"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// SummaryFileName is Summary as JSON, in the run directory beside the
// files every stage writes (stage.ConfigFileName, stage.AdapterDirName, ...).
const SummaryFileName = "summary.json"

// Result is what Run returns: the summary written to summary.json, the
// data summary, the trainer's result, and the trained model (base weights
// plus the installed adapter, final values) for further use in a notebook,
// e.g. generation.
type Result struct {
	Summary   Summary
	Data      DataSummary
	Train     *train.Result
	Config    *config.All
	Model     *gemma3n.Model
	Adapter   *lora.Adapter
	Tokenizer *tokenizer.Tokenizer
}

// Summary is summary.json. Losses that do not exist (no applied step, no
// evaluation) are null.
type Summary struct {
	RunDir       string `json:"run_dir"`
	Model        string `json:"model"`
	ModelDir     string `json:"model_dir,omitempty"` // the directory it was loaded from (none for a preset)
	DType        string `json:"dtype"`
	Data         string `json:"data"`
	Debug        bool   `json:"debug"`
	InitAdapter  string `json:"init_adapter,omitempty"`
	ResumedFrom  string `json:"resumed_from,omitempty"`
	Adapter      string `json:"adapter"`
	BestAdapter  string `json:"best_adapter,omitempty"`
	Trainable    int64  `json:"trainable_params"`
	AdapterLines string `json:"trainable_summary"`

	// Full runs (Options.Full) train every weight: they write whole model
	// directories (SavedModel, BestSavedModel) in SaveDType and no adapter.
	Full           bool   `json:"full,omitempty"`
	FromScratch    bool   `json:"from_scratch,omitempty"`
	LossOn         string `json:"loss_on"`
	SavedModel     string `json:"saved_model,omitempty"`
	BestSavedModel string `json:"best_saved_model,omitempty"`
	SaveDType      string `json:"save_dtype,omitempty"`

	// InitOptimizer is the checkpoint whose AdamW state started the run
	// (Options.InitOptimizer); empty for fresh moments.
	InitOptimizer string `json:"init_optimizer,omitempty"`

	Steps        int   `json:"steps"`
	TotalSteps   int   `json:"total_steps"`
	Updates      int   `json:"updates"`
	SkippedSteps int   `json:"skipped_steps"`
	StoppedEarly bool  `json:"stopped_early"`
	Examples     int64 `json:"examples"` // trained, counting repeats over epochs
	Tokens       int64 `json:"tokens"`   // input tokens trained, padding excluded

	FinalTrainLoss *float64           `json:"final_train_loss"`
	FinalEvalLoss  map[string]float64 `json:"final_eval_loss"` // by eval set
	BestStep       *int               `json:"best_step"`
	BestEvalLoss   *float64           `json:"best_eval_loss"`
	BestEvalSet    string             `json:"best_eval_set,omitempty"`

	// WallSeconds is the time of this Run call, loading included;
	// TrainSeconds the trainer's time over all invocations of the run
	// (steps, evaluations, checkpoints, graph compilation).
	WallSeconds  float64 `json:"wall_s"`
	TrainSeconds float64 `json:"train_s"`
	// TokensPerSec is Tokens / TrainSeconds; StepTokensPerSec the median
	// over the logged steps of this invocation (optimizer steps only).
	TokensPerSec     float64 `json:"tokens_per_sec"`
	StepTokensPerSec float64 `json:"step_tokens_per_sec"`
	// Compilations counts the graphs the trainer built in this invocation:
	// one per training batch shape, one optimizer step, one per eval shape.
	Compilations int `json:"compilations"`
}

// Run trains a LoRA adapter with supervised fine-tuning and writes the run
// directory (see the package documentation). runCtx cancels the run between
// steps; a cancelled run can be continued with Options.Resume from its last
// checkpoint. On an error after training started, the returned Result holds
// what is known so far.
func Run(runCtx stdcontext.Context, opts Options) (*Result, error) {
	start := time.Now()
	if err := opts.check(); err != nil {
		return nil, fmt.Errorf("sft: %w", err)
	}
	if abs, err := filepath.Abs(opts.Out); err == nil {
		opts.Out = abs // summary.json and the printed run directory hold absolute paths
	}
	logger := opts.Log()
	cfg, err := ResolveConfig(opts)
	if err != nil {
		return nil, fmt.Errorf("sft: configuration: %w", err)
	}
	for _, note := range cfg.Notes() {
		logger.Warn("sft: configuration: " + note)
	}
	// A resume must continue the run of Out: checked before anything is
	// loaded or written (what it trains from, once the model and the data
	// are loaded).
	resumption, err := runcheck.Prepare(opts.Out, opts.Resume, cfg)
	if err != nil {
		return nil, fmt.Errorf("sft: %w", err)
	}

	if opts.InitAdapter != "" {
		// Fail before the (slow) model load when the adapter is not there.
		if _, err := os.Stat(filepath.Join(opts.InitAdapter, lora.ConfigFileName)); err != nil {
			return nil, fmt.Errorf("sft: initial adapter: %w", err)
		}
	}
	if opts.InitOptimizer != "" && resumption == nil {
		// Fail before the model load when it is not a checkpoint.
		if _, err := os.Stat(filepath.Join(opts.InitOptimizer, train.StateFileName)); err != nil {
			return nil, fmt.Errorf("sft: initial optimizer state: %w", err)
		}
	}
	convs, err := loadConversations(&opts, cfg)
	if err != nil {
		return nil, fmt.Errorf("sft: data: %w", err)
	}
	b := opts.BackendInstance
	if b == nil {
		if b, err = stage.NewBackend(cfg.Model.Backend); err != nil {
			return nil, fmt.Errorf("sft: %w", err)
		}
	}
	dtype := stage.ModelDType(cfg)
	wopts := gemma3n.WeightOptions{Backend: b, Progress: gemma3n.LogProgress(logger, "sft: loading the model")}
	var lm *stage.Model
	switch {
	case opts.FromScratch:
		lm, err = stage.LoadScratch(runCtx, cfg.Model.NameOrPath, uint64(cfg.Training.Seed), opts.Hub, wopts)
	case opts.Full:
		lm, err = loadModel(runCtx, cfg.Model.NameOrPath, fullDType, opts.Hub, wopts)
	default:
		lm, err = loadModel(runCtx, cfg.Model.NameOrPath, dtype, opts.Hub, wopts)
	}
	if err != nil {
		return nil, fmt.Errorf("sft: model: %w", err)
	}
	architecture, err := runcheck.HashJSON(lm.Model.Config) // before the configuration's model options
	if err != nil {
		return nil, fmt.Errorf("sft: %w", err)
	}
	stage.ConfigureModel(lm.Model, cfg)
	if b.HasSharedBuffers() {
		backend.BoundHeapGrowth(lm.Model.Config.NumParameters() * int64(lm.Model.DType.Size()))
	}

	res := &Result{Config: cfg, Model: lm.Model, Tokenizer: lm.Tokenizer}
	trainSrc, evalSets, err := prepareData(&opts, cfg, lm, convs, &res.Data)
	if err != nil {
		return nil, fmt.Errorf("sft: data: %w", err)
	}
	logDataSummary(logger, &res.Data)
	if _, _, err := cfg.Training.Schedule(trainSrc.Stats().Examples); err != nil {
		return nil, fmt.Errorf("sft: %w", err)
	}
	id, err := identity(&opts, architecture, &res.Data)
	if err != nil {
		return nil, fmt.Errorf("sft: %w", err)
	}
	if resumption != nil {
		// The run's config.yaml and data_summary.json stay as written.
		if err := resumption.CheckIdentity(id); err != nil {
			return nil, fmt.Errorf("sft: %w", err)
		}
	} else if err := startRun(opts.Out, cfg, &res.Data, id); err != nil {
		return nil, fmt.Errorf("sft: %w", err)
	}

	var adapter *lora.Adapter
	var trainable int64
	var trainableLines string
	if opts.Full {
		numTensors, numParams, err := makeAllTrainable(lm.Model)
		if err != nil {
			return nil, fmt.Errorf("sft: %w", err)
		}
		trainable, trainableLines = numParams, fullSummary(numTensors, numParams)
		logFull(logger, &opts, cfg, numTensors, numParams)
	} else {
		if adapter, err = installAdapter(lm.Model, cfg, opts.InitAdapter, logger); err != nil {
			return nil, fmt.Errorf("sft: %w", err)
		}
		res.Adapter = adapter
		trainable, trainableLines = adapter.NumTrainable(), adapter.Summary()
	}

	var stepRates []float64
	tcfg := trainConfig(&opts, cfg, evalSets)
	if resumption != nil {
		tcfg.OnResume = resumption.Record
	}
	if opts.Full {
		tcfg.NoDecay = MatricesOnlyDecay(lm.Model.Store)
	}
	tcfg.OnStep = func(m train.StepMetrics) {
		if !m.Skipped && m.TokensPerSec > 0 {
			stepRates = append(stepRates, m.TokensPerSec)
		}
		if opts.OnStep != nil {
			opts.OnStep(m)
		}
	}
	trainer, err := train.New(b, lm.Model.Store, train.CausalLM(logitsFn(lm.Model, cfg.Training.Packing)), trainSrc, tcfg)
	if err != nil {
		return nil, fmt.Errorf("sft: %w", err)
	}
	defer trainer.Close()
	tres, err := trainer.Run(runCtx)
	res.Train = tres
	if err != nil {
		return res, fmt.Errorf("sft: %w", err)
	}

	s := &res.Summary
	*s = newSummary(&opts, cfg, lm, trainable, trainableLines, trainer, tres, res.Data.Data)
	s.StepTokensPerSec = median(stepRates)
	if tres.HasBest && tres.BestCheckpoint != "" {
		s.BestEvalSet = tcfg.BestOn
	}
	if opts.Full {
		if err := saveFullModels(lm, &opts, tres, s); err != nil {
			return res, fmt.Errorf("sft: %w", err)
		}
	} else {
		s.Adapter = filepath.Join(opts.Out, stage.AdapterDirName)
		if err := stage.SaveAdapter(adapter, s.Adapter); err != nil {
			return res, fmt.Errorf("sft: %w", err)
		}
		if tres.HasBest && tres.BestCheckpoint != "" {
			s.BestAdapter = filepath.Join(opts.Out, stage.BestAdapterDirName)
			if err := stage.SaveCheckpointAdapter(adapter, tres.BestCheckpoint, s.BestAdapter); err != nil {
				return res, fmt.Errorf("sft: best adapter: %w", err)
			}
		}
	}
	s.WallSeconds = time.Since(start).Seconds()
	if err := atomicfile.WriteJSON(filepath.Join(opts.Out, SummaryFileName), s); err != nil {
		return res, fmt.Errorf("sft: %w", err)
	}
	return res, nil
}

// identity is what the run trains from besides its configuration, compared
// when it is resumed: the model's architecture (its name is in the
// configuration), full or adapter training and from what, and the data
// summary.
func identity(opts *Options, architecture string, data *DataSummary) (runcheck.Identity, error) {
	id := runcheck.Identity{"model_architecture_sha256": architecture, "full": opts.Full, "from_scratch": opts.FromScratch, "data": data}
	if opts.InitAdapter != "" {
		sum, err := runcheck.HashFiles(opts.InitAdapter)
		if err != nil {
			return nil, fmt.Errorf("initial adapter: %w", err)
		}
		id["init_adapter_sha256"] = sum
	}
	return id, nil
}

// startRun writes the record of a new run: the data summary, then run.json
// and config.yaml (runcheck.Start).
func startRun(dir string, cfg *config.All, data *DataSummary, id runcheck.Identity) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteJSON(filepath.Join(dir, stage.DataSummaryFileName), data); err != nil {
		return err
	}
	return runcheck.Start(dir, cfg, id)
}

// prepareData tokenizes the conversations and batches them: the training
// source and one eval set per source of the validation split. sum receives
// the counts.
func prepareData(opts *Options, cfg *config.All, lm *stage.Model, convs splits, sum *DataSummary) (*train.LMSource, []train.EvalSet, error) {
	*sum = DataSummary{
		Data: dataLabel(opts), Debug: opts.Debug, LossOn: lossOnLabel(opts.LossOn), Tokenizer: lm.Tokenizer.Name(),
		MaxSeqLength: cfg.Model.MaxSeqLength, Buckets: Buckets(cfg.Model.MaxSeqLength), Eval: map[string]BatchSummary{},
	}
	var err error
	if convs.train, err = chunkSessions(lm.Tokenizer, convs.train, cfg.Model.MaxSeqLength); err != nil {
		return nil, nil, err
	}
	ex, err := buildExamples(lm.Tokenizer, lm.Model.Config.VocabSize, convs, cfg.Model.MaxSeqLength, sum)
	if err != nil {
		return nil, nil, err
	}
	if opts.LossOn == LossOnAll {
		lossOnAll(ex.train)
	}
	return newSources(ex, opts.MaxEvalExamples, cfg, lm.Tokenizer, sum)
}

// newSummary fills the summary of a finished training loop (adapter paths
// and throughput are added by the caller).
func newSummary(opts *Options, cfg *config.All, lm *stage.Model, trainable int64, trainableLines string, trainer *train.Trainer, tres *train.Result, dataLabel string) Summary {
	s := Summary{
		RunDir: opts.Out, Model: cfg.Model.NameOrPath, ModelDir: lm.Dir, DType: stage.ModelDType(cfg), Data: dataLabel, Debug: opts.Debug,
		InitAdapter: opts.InitAdapter, InitOptimizer: tres.InitOptimizerFrom, ResumedFrom: tres.ResumedFrom,
		Trainable: trainable, AdapterLines: trainableLines,
		Full: opts.Full, FromScratch: opts.FromScratch, LossOn: lossOnLabel(opts.LossOn),
		Steps: tres.Steps, TotalSteps: trainer.TotalSteps(), Updates: tres.Updates, SkippedSteps: tres.SkippedSteps,
		StoppedEarly: tres.StoppedEarly, Examples: tres.Examples, Tokens: tres.Tokens,
		FinalTrainLoss: floats.FiniteOrNil(tres.FinalLoss), FinalEvalLoss: map[string]float64{},
		TrainSeconds: tres.Elapsed.Seconds(), Compilations: tres.Compilations,
	}
	if opts.Full {
		s.DType = fullDType
	}
	for name, em := range tres.Evals {
		if floats.FiniteOrNil(em.Loss) != nil {
			s.FinalEvalLoss[name] = em.Loss
		}
	}
	if tres.HasBest {
		s.BestStep, s.BestEvalLoss = &tres.BestStep, floats.FiniteOrNil(tres.BestEvalLoss)
	}
	if s.TrainSeconds > 0 {
		s.TokensPerSec = float64(tres.Tokens) / s.TrainSeconds
	}
	return s
}

// logDataSummary reports what the run trains and evaluates on.
func logDataSummary(logger *slog.Logger, sum *DataSummary) {
	for _, s := range sum.Sources {
		logger.Info("sft: data", "source", s.Source, "split", s.Split, "conversations", s.Conversations, "examples", s.Examples,
			"tokens", s.Tokens, "trainable_tokens", s.TrainableTokens, "with_dropped_turns", s.WithDroppedTurns, "truncated", s.Truncated,
			"skipped_too_long", s.SkippedTooLong, "skipped_invalid", s.SkippedInvalid, "skipped_vocab", s.SkippedVocab)
	}
	logger.Info("sft: batches", "train_batches", sum.Train.Batches, "batch_size", sum.Train.BatchSize, "rows", sum.Train.Rows, "buckets", sum.Buckets)
}

// logitsFn is the causal LM the trainer optimizes: the model (with its
// adapter installed as its linear function) on right-padded batches, whose
// mask keeps packed examples apart.
// logitsFn is the model as pkg/train calls it. Without packing every row of
// an LMSource batch is one example followed by padding, which lets the
// full-attention layers use fused kernels (gemma3n.Inputs.RightPadded).
func logitsFn(m *gemma3n.Model, packed bool) train.LogitsFn {
	return func(scope *model.Scope, ids, mask *Node) *Node {
		return m.Forward(scope, gemma3n.Inputs{IDs: ids, Mask: mask, RightPadded: !packed}).Logits
	}
}

// newSources batches the training examples (shuffled every epoch, grouped
// by length) and each eval set (in order, at most maxEval examples when
// maxEval > 0), with the length buckets of the run.
func newSources(ex examples, maxEval int, cfg *config.All, tok *tokenizer.Tokenizer, sum *DataSummary) (*train.LMSource, []train.EvalSet, error) {
	pad := max(tok.PAD(), 0)
	trainSrc, err := train.NewLMSource(ex.train, train.LMSourceConfig{
		BatchSize: cfg.Training.PerDeviceTrainBatchSize, MaxLen: cfg.Model.MaxSeqLength, Buckets: sum.Buckets,
		Shuffle: true, Seed: uint64(cfg.Training.Seed), GroupByLength: true, PadID: pad, Pack: cfg.Training.Packing,
	})
	if err != nil {
		return nil, nil, err
	}
	sum.Train = batchSummary(trainSrc)
	var evalSets []train.EvalSet
	for _, name := range ex.order {
		examples := ex.eval[name]
		if maxEval > 0 && len(examples) > maxEval {
			examples = examples[:maxEval]
		}
		src, err := train.NewLMSource(examples, train.LMSourceConfig{
			BatchSize: cfg.Training.PerDeviceEvalBatchSize, MaxLen: cfg.Model.MaxSeqLength, Buckets: sum.Buckets,
			GroupByLength: true, PadID: pad,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("eval set %s: %w", name, err)
		}
		sum.Eval[name] = batchSummary(src)
		evalSets = append(evalSets, train.EvalSet{Name: name, Source: src})
	}
	return trainSrc, evalSets, nil
}

// installAdapter creates the adapter of lora_config.yaml on the model, or
// loads initDir (a PEFT adapter directory) to continue training it, and
// reports its size and warnings.
func installAdapter(m *gemma3n.Model, cfg *config.All, initDir string, logger *slog.Logger) (*lora.Adapter, error) {
	var a *lora.Adapter
	var err error
	if initDir != "" {
		if a, err = lora.Load(m, initDir); err != nil {
			return nil, fmt.Errorf("initial adapter: %w", err)
		}
		ac := a.Config()
		logger.Info("sft: continuing an adapter (its own settings apply, not lora_config.yaml's)", "dir", initDir,
			"r", ac.R, "lora_alpha", ac.Alpha, "lora_dropout", ac.Dropout, "target_modules", ac.TargetModules)
	} else {
		if a, err = stage.NewAdapter(m, cfg, cfg.Model.NameOrPath); err != nil {
			return nil, err
		}
	}
	logger.Info("sft: adapter", "summary", a.Summary(), "modules", len(a.Modules()))
	for _, w := range a.Warnings() {
		logger.Warn("sft: adapter: " + w)
	}
	return a, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
