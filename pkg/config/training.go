package config

import (
	"fmt"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/warmup"
)

// Training configures the supervised fine-tuning loop (training_config.yaml).
// Names follow Hugging Face TrainingArguments where one exists.
type Training struct {
	NumTrainEpochs int `yaml:"num_train_epochs"`
	// MaxSteps stops after this many optimizer steps; 0 runs NumTrainEpochs.
	MaxSteps                  int `yaml:"max_steps"`
	PerDeviceTrainBatchSize   int `yaml:"per_device_train_batch_size"`
	PerDeviceEvalBatchSize    int `yaml:"per_device_eval_batch_size"`
	GradientAccumulationSteps int `yaml:"gradient_accumulation_steps"`
	// Packing fills every training row with several examples (up to the
	// model's max_seq_length), kept apart by the attention mask, as TRL's
	// SFTConfig.packing: fewer padded tokens per step.
	Packing bool `yaml:"packing"`

	LearningRate float64 `yaml:"learning_rate"`
	// LRSchedulerType is "cosine", "linear" or "constant" (after warmup).
	LRSchedulerType string `yaml:"lr_scheduler_type"`
	// WarmupRatio is the warmup fraction of all optimizer steps; WarmupSteps > 0
	// takes precedence over it.
	WarmupRatio float64 `yaml:"warmup_ratio"`
	WarmupSteps int     `yaml:"warmup_steps"`

	WeightDecay float64 `yaml:"weight_decay"`
	AdamBeta1   float64 `yaml:"adam_beta1"`
	AdamBeta2   float64 `yaml:"adam_beta2"`
	AdamEpsilon float64 `yaml:"adam_epsilon"`
	// MaxGradNorm is the global-norm clipping threshold; 0 disables clipping.
	MaxGradNorm float64 `yaml:"max_grad_norm"`

	Seed int64 `yaml:"seed"`

	LoggingSteps int `yaml:"logging_steps"`
	EvalSteps    int `yaml:"eval_steps"`
	SaveSteps    int `yaml:"save_steps"`
	// SaveTotalLimit keeps the last K checkpoints (plus the best); 0 keeps all.
	SaveTotalLimit int `yaml:"save_total_limit"`
	// EarlyStoppingPatience stops after N evaluations without an improvement
	// of more than EarlyStoppingThreshold; 0 disables early stopping.
	EarlyStoppingPatience  int     `yaml:"early_stopping_patience"`
	EarlyStoppingThreshold float64 `yaml:"early_stopping_threshold"`

	// BF16 computes activations in bfloat16; adapters and optimizer state
	// stay float32.
	BF16 bool `yaml:"bf16"`
	// GradientCheckpointing recomputes each decoder layer's activations in
	// the backward pass instead of keeping them (HF TrainingArguments'
	// gradient_checkpointing): less memory, about a third more compute.
	GradientCheckpointing bool `yaml:"gradient_checkpointing"`
	// MaxConsecutiveNaNSteps stops the run after this many skipped
	// (NaN/Inf) steps in a row.
	MaxConsecutiveNaNSteps int `yaml:"max_consecutive_nan_steps"`
}

// Learning-rate schedules after warmup.
const (
	ScheduleCosine   = "cosine"
	ScheduleLinear   = "linear"
	ScheduleConstant = "constant"
)

// DefaultTraining returns the values of the shipped training_config.yaml.
func DefaultTraining() Training {
	return Training{
		NumTrainEpochs:            3,
		MaxSteps:                  0,
		PerDeviceTrainBatchSize:   2,
		PerDeviceEvalBatchSize:    2,
		GradientAccumulationSteps: 8,
		LearningRate:              2e-4,
		LRSchedulerType:           ScheduleCosine,
		WarmupRatio:               0.03,
		WarmupSteps:               0,
		WeightDecay:               0.01,
		AdamBeta1:                 0.9,
		AdamBeta2:                 0.999,
		AdamEpsilon:               1e-8,
		MaxGradNorm:               1.0,
		Seed:                      42,
		LoggingSteps:              10,
		EvalSteps:                 50,
		SaveSteps:                 100,
		SaveTotalLimit:            3,
		EarlyStoppingPatience:     3,
		EarlyStoppingThreshold:    0,
		BF16:                      true,
		GradientCheckpointing:     false,
		MaxConsecutiveNaNSteps:    5,
	}
}

// Validate checks ranges and cross-field rules.
func (t Training) Validate() error { return runCheck(t.check) }

func (t Training) check(c *checker) {
	c.positiveInt("num_train_epochs", t.NumTrainEpochs)
	c.nonNegativeInt("max_steps", t.MaxSteps)
	c.positiveInt("per_device_train_batch_size", t.PerDeviceTrainBatchSize)
	c.positiveInt("per_device_eval_batch_size", t.PerDeviceEvalBatchSize)
	c.positiveInt("gradient_accumulation_steps", t.GradientAccumulationSteps)
	checkLearningRate(c, "learning_rate", t.LearningRate)
	c.oneOf("lr_scheduler_type", t.LRSchedulerType, ScheduleCosine, ScheduleLinear, ScheduleConstant)
	c.floatIn("warmup_ratio", t.WarmupRatio, 0, 1, false)
	c.nonNegativeInt("warmup_steps", t.WarmupSteps)
	if t.MaxSteps > 0 && t.WarmupSteps >= t.MaxSteps {
		c.errorf("warmup_steps", "must be < max_steps (%d), got %d", t.MaxSteps, t.WarmupSteps)
	}
	c.floatIn("weight_decay", t.WeightDecay, 0, 1, true)
	c.floatIn("adam_beta1", t.AdamBeta1, 0, 1, false)
	c.floatIn("adam_beta2", t.AdamBeta2, 0, 1, false)
	c.positiveFloat("adam_epsilon", t.AdamEpsilon)
	if !finite(t.MaxGradNorm) || t.MaxGradNorm < 0 {
		c.errorf("max_grad_norm", "must be ≥ 0 (0 disables clipping), got %v", t.MaxGradNorm)
	}
	c.positiveInt("logging_steps", t.LoggingSteps)
	c.positiveInt("eval_steps", t.EvalSteps)
	c.positiveInt("save_steps", t.SaveSteps)
	c.nonNegativeInt("save_total_limit", t.SaveTotalLimit)
	c.nonNegativeInt("early_stopping_patience", t.EarlyStoppingPatience)
	if !finite(t.EarlyStoppingThreshold) || t.EarlyStoppingThreshold < 0 {
		c.errorf("early_stopping_threshold", "must be ≥ 0, got %v", t.EarlyStoppingThreshold)
	}
	c.positiveInt("max_consecutive_nan_steps", t.MaxConsecutiveNaNSteps)
}

// checkLearningRate requires 0 < lr ≤ 1: larger rates are always a typo.
func checkLearningRate(c *checker, key string, lr float64) {
	if !finite(lr) || lr <= 0 || lr > 1 {
		c.errorf(key, "must be in (0, 1], got %v", lr)
	}
}

// Schedule returns the number of optimizer steps for a training set of
// numExamples and the warmup steps within them, and checks that the warmup
// is shorter than the run.
func (t Training) Schedule(numExamples int) (total, warmup int, err error) {
	total = t.MaxSteps
	if total == 0 {
		total = t.NumTrainEpochs * StepsPerEpoch(numExamples, t.PerDeviceTrainBatchSize, t.GradientAccumulationSteps)
	}
	if total <= 0 {
		return 0, 0, fmt.Errorf("training has no optimizer step (%d examples, batch %d × accumulation %d, %d epochs)",
			numExamples, t.PerDeviceTrainBatchSize, t.GradientAccumulationSteps, t.NumTrainEpochs)
	}
	warmup = WarmupSteps(t.WarmupSteps, t.WarmupRatio, total)
	if warmup >= total {
		// Only warmup_steps can get here: a ratio never takes the whole run.
		return total, warmup, fmt.Errorf("warmup_steps (%d) must be less than the run's %d optimizer steps (lower warmup_steps, or set it to 0 to use warmup_ratio)", warmup, total)
	}
	return total, warmup, nil
}

// StepsPerEpoch is the number of optimizer steps that one pass over
// numExamples takes: a last partial batch or accumulation still makes a step.
func StepsPerEpoch(numExamples, batchSize, accumulation int) int {
	if numExamples <= 0 || batchSize <= 0 || accumulation <= 0 {
		return 0
	}
	microBatches := (numExamples + batchSize - 1) / batchSize
	return (microBatches + accumulation - 1) / accumulation
}

// WarmupSteps resolves warmup: steps when > 0, else ceil(ratio × total) as
// Hugging Face does, except that a ratio never makes a short run invalid
// (package warmup's rule, which the trainer's schedule also uses).
func WarmupSteps(steps int, ratio float64, total int) int { return warmup.Steps(steps, ratio, total) }
