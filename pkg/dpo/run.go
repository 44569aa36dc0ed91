package dpo

import (
	stdcontext "context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/backend"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/hub"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/floats"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/runcheck"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// Files Run writes in the run directory, beside the ones every stage writes
// (stage.ConfigFileName, stage.AdapterDirName, stage.BestAdapterDirName) and
// pkg/train's metrics.jsonl and checkpoints/.
const (
	SummaryFileName  = "dpo_summary.json" // Result as JSON
	EvalSetName      = "validation"       // the eval set of the CounselChat pairs
	defaultBucketMin = 64                 // smallest padded length of a pair batch
)

// Options configure a DPO stage (see Run). Config and RunDir are required,
// and Model unless Built is given.
type Options struct {
	// Config is the whole configuration (dpo.yaml, training_config.yaml for
	// the settings dpo.yaml does not list, lora_config.yaml for a fresh
	// adapter, data.yaml for the pairs). Run does not modify it.
	Config *config.All
	// Model is a preset name, a Gemma 3n checkpoint directory or a Hugging
	// Face repo id (stage.LoadModel; Hub configures the download).
	Model string
	// Adapter is the SFT adapter (a PEFT directory) the policy starts from;
	// empty starts a fresh adapter from Config.LoRA.
	Adapter string
	// RunDir receives the metrics log, checkpoints, the resolved config,
	// run.json (what the run trains from, and its resumes), the final
	// adapter and a summary. One run per directory (see Resume).
	RunDir string
	// Debug shrinks the run to data.yaml's debug sizes (config.All.ApplyDebug
	// and the first debug.counselchat_questions questions of each split).
	Debug bool
	// Resume continues the newest checkpoint of RunDir, and only the run
	// that RunDir records: a configuration, model, SFT adapter or pairs
	// that differ from its config.yaml and run.json (beyond package
	// runcheck's Mutable settings), or a RunDir without a checkpoint, is an
	// error, returned before anything is written.
	Resume bool
	// ResumeFrom continues from this checkpoint of RunDir instead of the
	// newest (train.Config.ResumeFrom); it needs Resume.
	ResumeFrom string
	// SaveOnCancel writes a checkpoint when runCtx is cancelled (e.g. on
	// Ctrl-C), so that Resume continues from there.
	SaveOnCancel bool
	// MaxSteps stops after this many optimizer steps (0: dpo.yaml's epochs).
	MaxSteps int
	// DType of the model weights; the zero value follows training.bf16.
	DType dtypes.DType
	// Backend runs the graphs (default: backend.Shared()).
	Backend compute.Backend
	// Hub configures the download of repo ids (zero: the environment).
	Hub hub.Options
	// Tokenizer renders the pairs (default: the model directory's
	// tokenizer.json, else the embedded Gemma 3 tokenizer).
	Tokenizer *tokenizer.Tokenizer
	// TrainPairs and EvalPairs replace the CounselChat pairs of data.yaml
	// (and dpo.extra_pairs) when not nil.
	TrainPairs, EvalPairs []data.PreferencePair

	// Reporting (Progress, NoProgress, Logger, OnStep, OnEval) goes to the
	// trainer as it is; the Logger also receives the stage's own messages.
	train.Reporting
}

// Result summarises a DPO stage.
type Result struct {
	RunDir           string          `json:"run_dir"`
	Model            string          `json:"model"`
	SFTAdapter       string          `json:"sft_adapter,omitempty"`
	Adapter          string          `json:"adapter"`                // the final adapter
	BestAdapter      string          `json:"best_adapter,omitempty"` // the adapter of the best evaluation
	AdapterSummary   string          `json:"adapter_summary"`        // trainable parameters
	Reference        string          `json:"reference"`
	PrecomputedRef   bool            `json:"precomputed_reference"`
	Params           Params          `json:"params"`
	TrainEncoding    EncodeStats     `json:"train_encoding"`
	EvalEncoding     EncodeStats     `json:"eval_encoding"`
	TrainPairs       PairSourceStats `json:"train_pairs"`
	EvalPairs        PairSourceStats `json:"eval_pairs"`
	ReferenceSeconds float64         `json:"reference_seconds"`
	Train            *train.Result   `json:"-"` // in the summary file as "train" (non-finite losses as null)
	Warnings         []string        `json:"warnings,omitempty"`
	evalSource       *PairSource
	trainSource      *PairSource
}

// Run performs preference tuning as configured: it loads the model and the
// SFT adapter, renders and batches the pairs, sets up the reference
// (precomputed once, or in the training graph), trains through pkg/train
// and saves the adapter (PEFT layout) in RunDir. On an error after training
// started, the partial Result is returned with it and the checkpoints stay.
func Run(runCtx stdcontext.Context, opts Options) (*Result, error) {
	if opts.Config == nil || opts.RunDir == "" || opts.Model == "" {
		return nil, errors.New("dpo: Options.Config, Model and RunDir are required")
	}
	cfg := *opts.Config // ApplyDebug changes fields only
	if opts.Debug {
		cfg.ApplyDebug()
	}
	if err := cfg.DPO.Validate(); err != nil {
		return nil, fmt.Errorf("dpo: %w", err)
	}
	// A resume must continue the run of RunDir: checked before anything is
	// loaded or written (what it trains from, once it is loaded).
	resumption, err := runcheck.Prepare(opts.RunDir, opts.Resume, &cfg)
	if err != nil {
		return nil, fmt.Errorf("dpo: %w", err)
	}
	log := opts.Log()
	b := opts.Backend
	if b == nil {
		if b, err = backend.Shared(); err != nil {
			return nil, fmt.Errorf("dpo: %w", err)
		}
	}
	res := &Result{
		RunDir: opts.RunDir, Model: opts.Model, SFTAdapter: opts.Adapter,
		Reference: cfg.DPO.Reference, PrecomputedRef: cfg.DPO.PrecomputeRefLogProbs, Params: ParamsFromConfig(cfg.DPO),
	}

	lm, a, err := loadPolicy(runCtx, opts, &cfg)
	if err != nil {
		return nil, err
	}
	m := lm.Model
	res.AdapterSummary = a.Summary()
	res.Warnings = a.Warnings()
	for _, w := range res.Warnings {
		log.Warn("dpo: adapter", "warning", w)
	}
	tok, err := loadTokenizer(opts, lm)
	if err != nil {
		return nil, err
	}
	trainPairs, evalPairs, err := loadPairs(opts, &cfg)
	if err != nil {
		return nil, err
	}
	if res.trainSource, res.TrainEncoding, err = pairSource(tok, trainPairs, &cfg, m.Config.VocabSize, true); err != nil {
		return nil, fmt.Errorf("dpo: training pairs: %w", err)
	}
	res.TrainPairs = res.trainSource.Stats()
	if len(evalPairs) > 0 {
		if res.evalSource, res.EvalEncoding, err = pairSource(tok, evalPairs, &cfg, m.Config.VocabSize, false); err != nil {
			return nil, fmt.Errorf("dpo: evaluation pairs: %w", err)
		}
		res.EvalPairs = res.evalSource.Stats()
	}
	log.Info("dpo: pairs", "train", res.TrainPairs.Pairs, "eval", res.EvalPairs.Pairs,
		"skipped", res.TrainEncoding.Skipped+res.EvalEncoding.Skipped, "answers_truncated", res.TrainEncoding.AnswersTruncated)

	model, err := setUpReference(b, m, a, res, log)
	if err != nil {
		return nil, err
	}
	objective, err := Objective(model, res.Params)
	if err != nil {
		return nil, err
	}
	id, err := identity(opts, m, trainPairs, evalPairs, res)
	if err != nil {
		return nil, fmt.Errorf("dpo: %w", err)
	}
	if resumption != nil {
		// The run's config.yaml stays as written.
		if err := resumption.CheckIdentity(id); err != nil {
			return nil, fmt.Errorf("dpo: %w", err)
		}
	} else if err := runcheck.Start(opts.RunDir, &cfg, id); err != nil {
		return nil, fmt.Errorf("dpo: %w", err)
	}

	tc := trainConfig(cfg.DPOTraining(), opts)
	if resumption != nil {
		tc.OnResume = resumption.Record
	}
	if res.evalSource != nil {
		tc.EvalSets = []train.EvalSet{{Name: EvalSetName, Source: res.evalSource}}
	}
	trainer, err := train.New(b, m.Store, objective, res.trainSource, tc)
	if err != nil {
		return nil, fmt.Errorf("dpo: %w", err)
	}
	defer trainer.Close()
	res.Train, err = trainer.Run(runCtx)
	if err != nil {
		return res, err
	}
	if err := saveAdapters(a, res); err != nil {
		return res, err
	}
	if err := writeSummary(res); err != nil {
		return res, err
	}
	return res, nil
}

// identity is what the run trains from besides its configuration, compared
// when it is resumed: the model, its architecture and dtype, the SFT
// adapter (a hash of its files; none for a fresh adapter) and the pairs.
func identity(opts Options, m *gemma3n.Model, trainPairs, evalPairs []data.PreferencePair, res *Result) (runcheck.Identity, error) {
	architecture, err := runcheck.HashJSON(m.Config)
	if err != nil {
		return nil, err
	}
	pairs, err := runcheck.HashJSON([][]data.PreferencePair{trainPairs, evalPairs})
	if err != nil {
		return nil, err
	}
	adapter := ""
	if opts.Adapter != "" {
		if adapter, err = runcheck.HashFiles(opts.Adapter); err != nil {
			return nil, fmt.Errorf("SFT adapter: %w", err)
		}
	}
	return runcheck.Identity{
		"model": opts.Model, "model_architecture_sha256": architecture, "dtype": m.DType.String(), "adapter_sha256": adapter,
		"data": map[string]any{
			"pairs_sha256": pairs, "train_pairs": res.TrainPairs, "eval_pairs": res.EvalPairs,
			"train_encoding": res.TrainEncoding, "eval_encoding": res.EvalEncoding,
		},
	}, nil
}

// loadPolicy loads the model (a preset, a directory or a hub id) and
// installs the SFT adapter, or a fresh one.
func loadPolicy(ctx stdcontext.Context, opts Options, cfg *config.All) (*stage.Model, *lora.Adapter, error) {
	dtype := opts.DType
	if dtype == dtypes.InvalidDType {
		dtype = dtypes.Float32
		if cfg.Training.BF16 {
			dtype = dtypes.BFloat16
		}
	}
	lm, err := stage.LoadWeights(ctx, opts.Model, dtype, opts.Hub, gemma3n.WeightOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("dpo: %w", err)
	}
	m := lm.Model
	stage.ConfigureModel(m, cfg)
	var a *lora.Adapter
	if opts.Adapter != "" {
		a, err = lora.Load(m, opts.Adapter)
	} else {
		a, err = stage.NewAdapter(m, cfg, opts.Model)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("dpo: %w", err)
	}
	return lm, a, nil
}

// loadTokenizer returns Options.Tokenizer, else the model directory's
// (tokenizer.ForModel: a hub id's is in its snapshot).
func loadTokenizer(opts Options, lm *stage.Model) (*tokenizer.Tokenizer, error) {
	if opts.Tokenizer != nil {
		return opts.Tokenizer, nil
	}
	tok, err := tokenizer.ForModel(lm.Dir, lm.Model.Config.VocabSize)
	if err != nil {
		return nil, fmt.Errorf("dpo: %w", err)
	}
	return tok, nil
}

// loadPairs returns the given pairs, or the CounselChat pairs of the train
// and validation splits of data.yaml, plus dpo.extra_pairs for training.
func loadPairs(opts Options, cfg *config.All) (trainPairs, evalPairs []data.PreferencePair, err error) {
	if opts.TrainPairs != nil {
		return opts.TrainPairs, opts.EvalPairs, nil
	}
	cc, err := data.LoadCounselChat(cfg.Path(cfg.Data.CounselChat.Path))
	if err != nil {
		return nil, nil, fmt.Errorf("dpo: %w", err)
	}
	pairs, err := data.PreferencePairs(cc, data.PairOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("dpo: %w", err)
	}
	ratios := stage.SplitRatios(cfg)
	splits, err := data.CounselChatSplits(cc, ratios, uint64(cfg.Data.Seed))
	if err != nil {
		return nil, nil, fmt.Errorf("dpo: %w", err)
	}
	limit := 0
	if opts.Debug {
		limit = cfg.Data.Debug.CounselChatQuestions
	}
	trainPairs = data.FirstPairGroups(data.SelectPairSplit(pairs, splits, data.SplitTrain), limit)
	evalPairs = data.FirstPairGroups(data.SelectPairSplit(pairs, splits, data.SplitValidation), limit)
	if cfg.DPO.ExtraPairs != "" {
		extra, err := ReadTRLPairs(cfg.Path(cfg.DPO.ExtraPairs))
		if err != nil {
			return nil, nil, err
		}
		if limit > 0 && len(extra) > limit {
			extra = extra[:limit]
		}
		trainPairs = append(trainPairs, extra...)
	}
	return trainPairs, evalPairs, nil
}

// pairSource encodes pairs and batches them as dpo.yaml says.
func pairSource(tok *tokenizer.Tokenizer, pairs []data.PreferencePair, cfg *config.All, vocab int, training bool) (*PairSource, EncodeStats, error) {
	encoded, st, err := EncodePairs(tok, pairs, LengthPolicyFromConfig(cfg.DPO))
	if err != nil {
		return nil, st, err
	}
	if len(encoded) == 0 {
		return nil, st, fmt.Errorf("none of the %d pairs could be encoded: %v", len(pairs), st.Errors)
	}
	for i, p := range encoded {
		for _, ex := range []train.Example{p.Chosen, p.Rejected} {
			for _, id := range ex.IDs {
				if id < 0 || int(id) >= vocab {
					return nil, st, fmt.Errorf("pair %d: token id %d is outside the model's vocabulary of %d (tokenizer %s)", i, id, vocab, tok.Name())
				}
			}
		}
	}
	maxLen := cfg.DPO.MaxLength
	sc := train.LMSourceConfig{
		BatchSize: cfg.DPO.PerDeviceTrainBatchSize, MaxLen: maxLen,
		Buckets: train.PowerOfTwoBuckets(min(defaultBucketMin, maxLen), maxLen),
		Shuffle: training, GroupByLength: training, Seed: uint64(cfg.Training.Seed), PadID: max(tok.PAD(), 0),
	}
	if !training {
		sc.BatchSize = cfg.Training.PerDeviceEvalBatchSize
	}
	src, err := NewPairSource(encoded, sc)
	return src, st, err
}

// setUpReference returns the model to train: with precomputed reference
// log-probabilities, they are computed now (before any checkpoint is
// restored, so from the SFT adapter) and set on the sources; otherwise the
// reference is built into the training graph.
func setUpReference(b compute.Backend, m *gemma3n.Model, a *lora.Adapter, res *Result, log *slog.Logger) (Model, error) {
	if !res.PrecomputedRef {
		return NewLoRAModel(m, a, res.Reference)
	}
	ref, err := CurrentReference(m, a, res.Reference)
	if err != nil {
		return Model{}, err
	}
	start := time.Now()
	for _, src := range []*PairSource{res.trainSource, res.evalSource} {
		if src == nil {
			continue
		}
		chosen, rejected, err := ComputeReference(b, m.Store, ref, src, nil)
		if err != nil {
			return Model{}, err
		}
		if err := src.SetReference(chosen, rejected); err != nil {
			return Model{}, err
		}
	}
	res.ReferenceSeconds = time.Since(start).Seconds()
	log.Info("dpo: reference log-probabilities precomputed", "reference", res.Reference, "seconds", res.ReferenceSeconds)
	return Model{Policy: Logits(m)}, nil
}

// trainConfig maps the training settings of the DPO stage onto pkg/train.
func trainConfig(t config.Training, opts Options) train.Config {
	tc := stage.TrainConfig(opts.RunDir, t)
	tc.Phase = "dpo"
	tc.Steps = opts.MaxSteps
	tc.Resume, tc.ResumeFrom, tc.SaveOnCancel = opts.Resume, opts.ResumeFrom, opts.SaveOnCancel
	tc.Reporting = opts.Reporting
	return tc
}

// saveAdapters writes the final adapter and, when an evaluation selected a
// best step, that step's adapter (from its checkpoint), each atomically;
// the model keeps the final adapter, as in package sft.
func saveAdapters(a *lora.Adapter, res *Result) error {
	res.Adapter = filepath.Join(res.RunDir, stage.AdapterDirName)
	if err := stage.SaveAdapter(a, res.Adapter); err != nil {
		return fmt.Errorf("dpo: %w", err)
	}
	if !res.Train.HasBest || res.Train.BestCheckpoint == "" {
		return nil
	}
	res.BestAdapter = filepath.Join(res.RunDir, stage.BestAdapterDirName)
	if err := stage.SaveCheckpointAdapter(a, res.Train.BestCheckpoint, res.BestAdapter); err != nil {
		return fmt.Errorf("dpo: best adapter: %w", err)
	}
	return nil
}

// Summary is dpo_summary.json (SummaryFileName): the Result, with the
// trainer's result as TrainSummary. ReadSummary reads it back.
type Summary struct {
	Result
	Train TrainSummary `json:"train"`
}

// TrainSummary is train.Result as JSON: non-finite losses become null.
type TrainSummary struct {
	Steps          int                          `json:"steps"`
	Updates        int                          `json:"updates"`
	SkippedSteps   int                          `json:"skipped_steps"`
	Examples       int64                        `json:"pairs_seen"`
	Tokens         int64                        `json:"tokens_seen"`
	FinalLoss      *float64                     `json:"final_loss"`
	Evals          map[string]train.EvalMetrics `json:"evals,omitempty"`
	BestStep       int                          `json:"best_step,omitempty"`
	BestEvalLoss   *float64                     `json:"best_eval_loss,omitempty"`
	BestCheckpoint string                       `json:"best_checkpoint,omitempty"`
	LastCheckpoint string                       `json:"last_checkpoint,omitempty"`
	ResumedFrom    string                       `json:"resumed_from,omitempty"`
	StoppedEarly   bool                         `json:"stopped_early,omitempty"`
	Compilations   int                          `json:"compilations"`
	ElapsedSeconds float64                      `json:"elapsed_s"`
}

// ReadSummary reads the dpo_summary.json of the run directory runDir.
func ReadSummary(runDir string) (*Summary, error) {
	var s Summary
	if err := atomicfile.ReadJSON(filepath.Join(runDir, SummaryFileName), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// writeSummary saves the result as JSON, atomically.
func writeSummary(res *Result) error {
	tr := res.Train
	ts := TrainSummary{
		Steps: tr.Steps, Updates: tr.Updates, SkippedSteps: tr.SkippedSteps, Examples: tr.Examples, Tokens: tr.Tokens,
		FinalLoss: floats.FiniteOrNil(tr.FinalLoss), Evals: tr.Evals, BestCheckpoint: tr.BestCheckpoint,
		LastCheckpoint: tr.LastCheckpoint, ResumedFrom: tr.ResumedFrom, StoppedEarly: tr.StoppedEarly,
		Compilations: tr.Compilations, ElapsedSeconds: tr.Elapsed.Seconds(),
	}
	if tr.HasBest {
		ts.BestStep, ts.BestEvalLoss = tr.BestStep, floats.FiniteOrNil(tr.BestEvalLoss)
	}
	if err := atomicfile.WriteJSON(filepath.Join(res.RunDir, SummaryFileName), Summary{Result: *res, Train: ts}); err != nil {
		return fmt.Errorf("dpo: %w", err)
	}
	return nil
}
