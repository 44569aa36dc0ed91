package sft

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gomlx/compute"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/hub"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// Options describe one SFT run. Out and one of Data or Conversations are
// required; everything else has a default. The named fields (Model, DType,
// Backend, MaxSteps) are shorthands for overrides of the YAML configuration,
// as are the entries of Overrides; all of them win over the files.
type Options struct {
	// ConfigPath is a configs directory, one section file or a resolved
	// config.yaml (config.LoadPath). Empty means the configs directory of
	// the repository found from the working directory (the one whose
	// datasets directory data.FindDataDir finds), else the built-in defaults.
	ConfigPath string
	// Overrides are "key=value" assignments (config.All.Apply), e.g.
	// "training.learning_rate=1e-4". They are applied after the named
	// fields below and after Debug, so they win over both.
	Overrides []string

	// Model overrides model.model_name_or_path: a preset name ("mini": the
	// embedded pretrained default; "tiny": a random-init Gemma 3n, seed 0),
	// a model directory or a Hugging Face repo id (downloaded through
	// package hub).
	Model string
	// DType overrides model.dtype ("float32" or "bfloat16") and sets
	// training.bf16 to match.
	DType string
	// Backend overrides model.backend (see package backend).
	Backend string
	// MaxSteps overrides training.max_steps when > 0.
	MaxSteps int

	// Data is "counselchat", "annomi", "both", "corpus" (DataCorpus: the
	// training splits of both for language-model pretraining) or a JSONL
	// file of conversations (data.LoadConversations). Conversations of a
	// file are split by their "split" field, or, when none has one, by
	// group with the splits and seed of data.yaml.
	Data string
	// Conversations, when not nil, are trained instead of Data (with the
	// rules of a JSONL file). The curriculum passes its mixes this way.
	Conversations []data.Conversation
	// MaxEvalExamples keeps only the first N examples of each eval set
	// (0 keeps them all): evaluation of a tiny model on a CPU is dominated
	// by its 262k-token LM head.
	MaxEvalExamples int
	// Debug shrinks the run to data.yaml's debug sizes (config.All.ApplyDebug
	// and the debug subsets of each source).
	Debug bool

	// Out is the run directory.
	Out string
	// InitAdapter is a PEFT adapter directory to continue training from
	// (its own r, alpha, dropout and targets apply); empty creates a new
	// adapter from lora_config.yaml.
	InitAdapter string
	// InitOptimizer is a checkpoint directory of another run (e.g.
	// RUN/checkpoints/step-00000042 of the previous curriculum phase) whose
	// AdamW moments and update count start this run's optimizer
	// (train.Config.InitOptimizerFrom); the learning-rate schedule starts
	// afresh all the same. Empty starts from zero moments. A run resumed
	// from a checkpoint of Out keeps its own optimizer state.
	InitOptimizer string
	// Resume continues the newest checkpoint of Out exactly (same next
	// batch, optimizer state and random state), with the run's
	// configuration, model and data (see "Resuming" in the package
	// documentation); an Out without a checkpoint is an error. Without it,
	// an Out that already has checkpoints is an error.
	Resume bool
	// ResumeFrom continues from this checkpoint of Out instead of the newest
	// (train.Config.ResumeFrom), e.g. the intact one before a corrupt newest
	// checkpoint; it needs Resume.
	ResumeFrom string
	// SaveOnCancel writes a checkpoint when ctx is cancelled (Ctrl-C), so
	// that Resume loses no finished step.
	SaveOnCancel bool
	// Phase names the run in metrics and the progress bar (optional).
	Phase string

	// Full trains every weight of the model instead of a LoRA adapter
	// (see full.go): float32 master weights, weight decay on matrices
	// only, and the run ends with model/ and best_model/, whole model
	// directories in Hugging Face layout, instead of adapter directories.
	Full bool
	// FromScratch (with Full) starts from random weights (gemma3n.NewRandom
	// with training.seed) of the architecture Model names — a preset, or a
	// directory of which only config.json is read — instead of its weights.
	FromScratch bool
	// LossOn is where the training loss goes: LossOnAssistant (default:
	// the assistant turns) or LossOnAll (every token after <bos>: language-
	// model pretraining). Evaluation always measures the assistant turns.
	LossOn string
	// SaveDType is the dtype of the weights a full run writes to model/ and
	// best_model/: "float32" (default: the master weights as they are) or
	// "bfloat16".
	SaveDType string

	// BackendInstance, when set, is used instead of creating a backend from
	// the configuration (notebooks and tests share one).
	BackendInstance compute.Backend
	// Hub configures the download of repo ids (zero: the environment).
	Hub hub.Options

	// Progress receives the progress bar (nil: stderr when it is a
	// terminal); NoProgress disables it.
	Progress   io.Writer
	NoProgress bool
	// Logger receives what the run reports: adapter size, skipped data,
	// checkpoints, evaluations (nil: slog.Default()).
	Logger *slog.Logger
	// OnStep and OnEval are called after each logged step (every
	// training.logging_steps) and each evaluation, e.g. to redraw live charts.
	OnStep func(train.StepMetrics)
	OnEval func(train.EvalMetrics)
}

// ResolveConfig returns the configuration a run with these options uses:
// the YAML (or the defaults), then the named fields, then Debug, then
// Overrides, validated.
func ResolveConfig(opts Options) (*config.All, error) {
	cfg, err := loadConfig(opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	var named []string
	if opts.Model != "" {
		named = append(named, "model.model_name_or_path="+opts.Model)
	}
	if opts.DType != "" {
		if opts.DType != config.DTypeFloat32 && opts.DType != config.DTypeBFloat16 {
			return nil, fmt.Errorf("dtype %q: want float32 or bfloat16", opts.DType)
		}
		named = append(named, "model.dtype="+opts.DType, "training.bf16="+strconv.FormatBool(opts.DType == config.DTypeBFloat16))
	}
	if opts.Backend != "" {
		named = append(named, "model.backend="+opts.Backend)
	}
	if opts.MaxSteps < 0 {
		return nil, fmt.Errorf("max steps %d must be ≥ 0", opts.MaxSteps)
	}
	if opts.MaxSteps > 0 {
		named = append(named, "training.max_steps="+strconv.Itoa(opts.MaxSteps))
	}
	if err := cfg.Apply(named...); err != nil {
		return nil, err
	}
	if opts.Debug {
		// Overrides of the debug sizes themselves must count before the
		// debug sizes are applied, and explicit overrides must win over
		// them afterwards: set them on both sides (validating only after
		// the second, since the debug sizes may be what makes them valid).
		for _, as := range opts.Overrides {
			key, value, ok := strings.Cut(as, "=")
			if !ok {
				return nil, fmt.Errorf("override %q: want key=value, e.g. training.learning_rate=1e-4", as)
			}
			if err := cfg.Set(strings.TrimSpace(key), value); err != nil {
				return nil, err
			}
		}
		cfg.ApplyDebug()
	}
	if err := cfg.Apply(opts.Overrides...); err != nil {
		return nil, err
	}
	return cfg, nil
}

// loadConfig reads path (config.LoadPath). An empty path means the configs
// directory of the repository whose datasets directory data.FindDataDir
// finds, or, without one, the built-in defaults (equal to the shipped files)
// with data paths relative to that repository.
func loadConfig(path string) (*config.All, error) {
	if path != "" {
		return config.LoadPath(path)
	}
	datasets, err := data.FindDataDir("")
	if err != nil {
		return config.BuiltIn("no --config and no repository configs directory found from the working directory"), nil // data paths stay relative to the working directory
	}
	root := filepath.Dir(datasets)
	if info, err := os.Stat(filepath.Join(root, "configs")); err == nil && info.IsDir() {
		return config.Load(filepath.Join(root, "configs"))
	}
	cfg := config.BuiltIn("no --config, and " + root + " has no configs directory")
	cfg.BaseDir = root
	return cfg, nil
}

// ModelDType is the dtype the base weights (and activations) are loaded in:
// bfloat16 when model.dtype is bfloat16 and training.bf16 is on, else
// float32. Adapters and optimizer state are float32 either way.
func ModelDType(cfg *config.All) string {
	if cfg.Model.DType == config.DTypeBFloat16 && cfg.Training.BF16 {
		return config.DTypeBFloat16
	}
	return config.DTypeFloat32
}

// trainConfig maps training_config.yaml onto the trainer's configuration.
func trainConfig(opts *Options, cfg *config.All, evalSets []train.EvalSet, logger *slog.Logger) train.Config {
	t := cfg.Training
	bestOn := ""
	if len(evalSets) > 0 {
		bestOn = evalSets[0].Name // the first source: counselchat before annomi
	}
	return train.Config{
		RunDir:                opts.Out,
		Phase:                 opts.Phase,
		Steps:                 t.MaxSteps,
		Epochs:                t.NumTrainEpochs,
		GradAccum:             t.GradientAccumulationSteps,
		LearningRate:          t.LearningRate,
		Schedule:              t.LRSchedulerType,
		WarmupSteps:           t.WarmupSteps,
		WarmupRatio:           t.WarmupRatio,
		Beta1:                 t.AdamBeta1,
		Beta2:                 t.AdamBeta2,
		Epsilon:               t.AdamEpsilon,
		WeightDecay:           t.WeightDecay,
		MaxGradNorm:           t.MaxGradNorm,
		Seed:                  t.Seed,
		EvalSets:              evalSets,
		EvalEvery:             t.EvalSteps,
		BestOn:                bestOn,
		EarlyStoppingPatience: t.EarlyStoppingPatience,
		EarlyStoppingMinDelta: t.EarlyStoppingThreshold,
		CheckpointEvery:       t.SaveSteps,
		KeepLast:              t.SaveTotalLimit,
		Resume:                opts.Resume,
		ResumeFrom:            opts.ResumeFrom,
		SaveOnCancel:          opts.SaveOnCancel,
		InitOptimizerFrom:     opts.InitOptimizer,
		MaxBadSteps:           t.MaxConsecutiveNaNSteps,
		LogEvery:              t.LoggingSteps,
		Progress:              opts.Progress,
		NoProgress:            opts.NoProgress,
		Logger:                logger,
		OnStep:                opts.OnStep,
		OnEval:                opts.OnEval,
	}
}

func (opts *Options) check() error {
	switch {
	case opts.Out == "":
		return errors.New("no run directory (Out) given")
	case opts.Data == "" && opts.Conversations == nil:
		return errors.New("no training data: want counselchat, annomi, both, corpus or a JSONL file of conversations")
	case opts.Data != "" && opts.Conversations != nil:
		return errors.New("give either Data or Conversations, not both")
	case opts.MaxEvalExamples < 0:
		return fmt.Errorf("max eval examples %d must be ≥ 0", opts.MaxEvalExamples)
	}
	if _, err := parseSaveDType(opts.SaveDType); err != nil {
		return err
	}
	return checkFullOptions(opts)
}
