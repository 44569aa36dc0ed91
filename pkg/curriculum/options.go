package curriculum

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/gomlx/compute"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/hub"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/runcheck"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// Options describe a pipeline run (RunCurriculum or RunSequential). Out is
// required; everything else has a default.
type Options struct {
	// ConfigOptions (ConfigPath, Overrides such as
	// "curriculum.run_dpo_after=false" or "curriculum.phases.0.size=50",
	// Model, DType, Backend, MaxSteps, Debug) resolve the configuration
	// exactly as package sft does (stage.ResolveConfig); LRScale then
	// multiplies its learning rates. MaxSteps sets training.max_steps: the
	// steps of each sequential stage (curriculum phases run by epochs).
	// Debug shrinks the run to data.yaml's debug sizes: the debug subsets of
	// both corpora, debug.max_seq_length and debug.target_dataset_size.
	stage.ConfigOptions
	// LRScale, when > 0, multiplies every learning rate of the run (each
	// phase's, training.learning_rate and dpo.learning_rate) after all
	// overrides. The smoke-scale tiny model starts from random weights and
	// needs far larger LoRA rates than a pretrained checkpoint to show
	// learning within a few steps; the ratios between phases are kept.
	LRScale float64
	// Epochs, when > 0, replaces every phase's epochs (and
	// training.num_train_epochs, the epochs of the sequential stages).
	Epochs int

	// Out is the run directory.
	Out string
	// Resume continues the run in Out (see the package documentation).
	// With no configuration options set, the run's own config.yaml is used
	// as it is; otherwise the resolved configuration must equal it but for
	// runcheck.Mutable settings. An Out without a run is an error.
	// Without Resume, an Out that already holds a run is an error.
	Resume bool

	// MaxEvalExamples keeps only the first N examples of each SFT eval set
	// and the first N DPO evaluation pairs (0 keeps them all).
	MaxEvalExamples int
	// DPOMaxSteps stops preference tuning after this many optimizer steps
	// (0: dpo.yaml's epochs). Only the first training pairs that these
	// steps consume over dpo.yaml's epochs are used (ceil(DPOMaxSteps /
	// epochs) batches of them), so that no pair is encoded and scored by
	// the reference in vain.
	DPOMaxSteps int
	// VerifyMerge reloads the merged model and checks that its logits
	// reproduce those of the base model with the final adapter (see
	// MergeOptions.Verify).
	VerifyMerge bool

	// BackendInstance, when set, runs every stage (default: a backend from
	// model.backend, created once by backend.New).
	BackendInstance compute.Backend
	// Hub configures the download of repo ids (zero: the environment).
	Hub hub.Options

	// Reporting (Progress, NoProgress, Logger, OnStep, OnEval) goes to
	// every stage as it is: OnStep and OnEval see the steps and evaluations
	// of all of them (StepMetrics.Phase names the stage).
	train.Reporting
	// OnStage is called after each stage (phase, DPO, merge) with the
	// summary as it stands, e.g. to redraw a notebook table.
	OnStage func(stage string, s *Summary)
}

// ResolveConfig returns the configuration a run with these options uses:
// stage.ResolveConfig (files or defaults, named fields, Debug, Overrides), then
// LRScale and Epochs, validated.
func ResolveConfig(opts Options) (*config.All, error) {
	cfg, err := stage.ResolveConfig(opts.ConfigOptions)
	if err != nil {
		return nil, err
	}
	if info, err := os.Stat(cfg.Model.NameOrPath); err == nil && info.IsDir() {
		// A resumed run may start in another working directory.
		if abs, err := filepath.Abs(cfg.Model.NameOrPath); err == nil {
			cfg.Model.NameOrPath = abs
		}
	}
	if err := scaleLearningRates(cfg, opts.LRScale); err != nil {
		return nil, err
	}
	if opts.Epochs < 0 {
		return nil, fmt.Errorf("epochs %d must be ≥ 0", opts.Epochs)
	}
	if opts.Epochs > 0 {
		cfg.Training.NumTrainEpochs = opts.Epochs
		for i := range cfg.Curriculum.Phases {
			cfg.Curriculum.Phases[i].Epochs = opts.Epochs
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// scaleLearningRates multiplies every learning rate of cfg by scale (0 or 1
// leave them alone).
func scaleLearningRates(cfg *config.All, scale float64) error {
	switch {
	case scale == 0 || scale == 1:
		return nil
	case scale < 0 || math.IsNaN(scale) || math.IsInf(scale, 0):
		return fmt.Errorf("learning-rate scale %v must be a finite number > 0", scale)
	}
	cfg.Training.LearningRate *= scale
	cfg.DPO.LearningRate *= scale
	for i := range cfg.Curriculum.Phases {
		cfg.Curriculum.Phases[i].LearningRate *= scale
	}
	return nil
}

// configOptionsSet reports whether any option that shapes the configuration is set.
func (opts *Options) configOptionsSet() bool {
	return opts.ConfigPath != "" || len(opts.Overrides) > 0 || opts.Model != "" || opts.DType != "" ||
		opts.Backend != "" || opts.MaxSteps != 0 || opts.Debug || (opts.LRScale != 0 && opts.LRScale != 1) || opts.Epochs != 0
}

func (opts *Options) check() error {
	switch {
	case opts.Out == "":
		return errors.New("no run directory (Out) given")
	case opts.MaxEvalExamples < 0:
		return fmt.Errorf("max eval examples %d must be ≥ 0", opts.MaxEvalExamples)
	case opts.DPOMaxSteps < 0:
		return fmt.Errorf("DPO max steps %d must be ≥ 0", opts.DPOMaxSteps)
	}
	return nil
}

// runConfig returns the configuration of the run in opts.Out: a fresh one
// (resumption is nil; the caller writes it), or, when resuming, the run's
// own (without configuration options) or the options' when it differs from
// the run's only in runcheck.Mutable settings (resumption records them).
func runConfig(opts *Options) (cfg *config.All, resumption *runcheck.Resumption, err error) {
	path := filepath.Join(opts.Out, stage.ConfigFileName)
	_, statErr := os.Stat(path)
	exists := statErr == nil
	if statErr != nil && !errors.Is(statErr, os.ErrNotExist) {
		return nil, nil, statErr
	}
	if exists && !opts.Resume {
		return nil, nil, fmt.Errorf("run directory %s already holds a run (%s): resume it, or use a new directory", opts.Out, stage.ConfigFileName)
	}
	if exists && !opts.configOptionsSet() {
		cfg, err = config.LoadResolved(path)
	} else {
		cfg, err = ResolveConfig(*opts)
	}
	if err != nil || !exists {
		return cfg, nil, err
	}
	if resumption, err = runcheck.Compare(opts.Out, cfg); err != nil {
		return nil, nil, err
	}
	return cfg, resumption, nil
}
