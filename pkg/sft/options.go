package sft

import (
	"errors"
	"fmt"

	"github.com/gomlx/compute"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/hub"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// Options describe one SFT run. Out and one of Data or Conversations are
// required; everything else has a default.
type Options struct {
	// ConfigOptions (ConfigPath, Overrides such as
	// "training.learning_rate=1e-4", Model, DType, Backend, MaxSteps, Debug)
	// resolve the configuration (ResolveConfig): the named fields are
	// shorthands for overrides of the YAML configuration, as are the entries
	// of Overrides; all of them win over the files. Model is a preset name
	// ("mini": the embedded pretrained default; "tiny": a random-init Gemma
	// 3n, seed 0), a model directory or a Hugging Face repo id (downloaded
	// through package hub, as Hub says). Debug also takes the debug subsets
	// of each source.
	stage.ConfigOptions

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

	// Reporting (Progress, NoProgress, Logger, OnStep, OnEval) goes to the
	// trainer as it is; the Logger also receives the adapter size and the
	// skipped data, and OnStep sees every training.logging_steps step.
	train.Reporting
}

// ResolveConfig returns the configuration a run with these options uses
// (stage.ResolveConfig): the YAML (or the defaults), then the named fields,
// then Debug, then Overrides, validated.
func ResolveConfig(opts Options) (*config.All, error) {
	return stage.ResolveConfig(opts.ConfigOptions)
}

// trainConfig maps training_config.yaml onto the trainer's configuration.
func trainConfig(opts *Options, cfg *config.All, evalSets []train.EvalSet) train.Config {
	bestOn := ""
	if len(evalSets) > 0 {
		bestOn = evalSets[0].Name // the first source: counselchat before annomi
	}
	tc := stage.TrainConfig(opts.Out, cfg.Training)
	tc.Phase = opts.Phase
	tc.EvalSets, tc.BestOn = evalSets, bestOn
	tc.Resume, tc.ResumeFrom, tc.SaveOnCancel = opts.Resume, opts.ResumeFrom, opts.SaveOnCancel
	tc.InitOptimizerFrom = opts.InitOptimizer
	tc.Reporting = opts.Reporting
	return tc
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
