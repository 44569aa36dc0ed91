package config

// DPO configures preference tuning (dpo.yaml), with TRL's key names. The
// optimizer, clipping, schedule type, logging and checkpoint settings it does
// not list come from Training (see All.DPOTraining).
type DPO struct {
	Beta float64 `yaml:"beta"`
	// LossType is "sigmoid" (standard DPO), "ipo" or "hinge".
	LossType string `yaml:"loss_type"`
	// LabelSmoothing is robust DPO's assumed label-flip probability, in
	// [0, 0.5); sigmoid loss only.
	LabelSmoothing float64 `yaml:"label_smoothing"`
	// RPOAlpha weights an extra NLL term on the chosen answer; 0 disables it.
	RPOAlpha float64 `yaml:"rpo_alpha"`

	LearningRate              float64 `yaml:"learning_rate"`
	NumTrainEpochs            int     `yaml:"num_train_epochs"`
	PerDeviceTrainBatchSize   int     `yaml:"per_device_train_batch_size"`
	GradientAccumulationSteps int     `yaml:"gradient_accumulation_steps"`
	WarmupRatio               float64 `yaml:"warmup_ratio"`

	// MaxPromptLength and MaxLength bound the prompt and prompt + answer
	// in tokens.
	MaxPromptLength int `yaml:"max_prompt_length"`
	MaxLength       int `yaml:"max_length"`

	// Reference is the reference policy: "sft" (the SFT adapter, frozen) or
	// "base" (the base model with adapters disabled).
	Reference string `yaml:"reference"`
	// PrecomputeRefLogProbs computes reference log-probabilities once per
	// dataset instead of at every step.
	PrecomputeRefLogProbs bool `yaml:"precompute_ref_log_probs"`

	// ExtraPairs is an optional JSONL file of TRL-format pairs
	// ({"prompt" | "messages", "chosen", "rejected"}).
	ExtraPairs string `yaml:"extra_pairs"`
}

// DPO loss types.
const (
	LossSigmoid = "sigmoid"
	LossIPO     = "ipo"
	LossHinge   = "hinge"
)

// DPO reference policies.
const (
	ReferenceSFT  = "sft"
	ReferenceBase = "base"
)

// DefaultDPO returns the values of the shipped dpo.yaml.
func DefaultDPO() DPO {
	return DPO{
		Beta:                      0.1,
		LossType:                  LossSigmoid,
		LabelSmoothing:            0,
		RPOAlpha:                  0,
		LearningRate:              5e-6,
		NumTrainEpochs:            1,
		PerDeviceTrainBatchSize:   2,
		GradientAccumulationSteps: 8,
		WarmupRatio:               0.1,
		MaxPromptLength:           512,
		MaxLength:                 1024,
		Reference:                 ReferenceSFT,
		PrecomputeRefLogProbs:     true,
		ExtraPairs:                "",
	}
}

// Validate checks ranges and cross-field rules.
func (d DPO) Validate() error { return runCheck(d.check) }

func (d DPO) check(c *checker) {
	c.positiveFloat("beta", d.Beta)
	c.oneOf("loss_type", d.LossType, LossSigmoid, LossIPO, LossHinge)
	c.floatIn("label_smoothing", d.LabelSmoothing, 0, 0.5, false)
	if d.LabelSmoothing > 0 && d.LossType != LossSigmoid {
		c.errorf("label_smoothing", "applies to loss_type %q only, not %q", LossSigmoid, d.LossType)
	}
	if !finite(d.RPOAlpha) || d.RPOAlpha < 0 {
		c.errorf("rpo_alpha", "must be ≥ 0 (0 disables it), got %v", d.RPOAlpha)
	}
	checkLearningRate(c, "learning_rate", d.LearningRate)
	c.positiveInt("num_train_epochs", d.NumTrainEpochs)
	c.positiveInt("per_device_train_batch_size", d.PerDeviceTrainBatchSize)
	c.positiveInt("gradient_accumulation_steps", d.GradientAccumulationSteps)
	c.floatIn("warmup_ratio", d.WarmupRatio, 0, 1, false)
	c.positiveInt("max_prompt_length", d.MaxPromptLength)
	c.positiveInt("max_length", d.MaxLength)
	if d.MaxPromptLength > 0 && d.MaxLength > 0 && d.MaxPromptLength >= d.MaxLength {
		c.errorf("max_prompt_length", "must be < max_length (%d) to leave room for the answer, got %d", d.MaxLength, d.MaxPromptLength)
	}
	c.oneOf("reference", d.Reference, ReferenceSFT, ReferenceBase)
}
