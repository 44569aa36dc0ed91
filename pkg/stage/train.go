package stage

import (
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// TrainConfig maps training settings (training_config.yaml, or the DPO
// stage's config.All.DPOTraining) onto the trainer's configuration for a
// run in runDir: steps, epochs, accumulation, schedule, AdamW, clipping,
// seed, evaluation, early stopping, checkpoints and logging. The caller
// adds what is its own: eval sets, resumption, observability.
func TrainConfig(runDir string, t config.Training) train.Config {
	return train.Config{
		RunDir:                runDir,
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
		EvalEvery:             t.EvalSteps,
		EarlyStoppingPatience: t.EarlyStoppingPatience,
		EarlyStoppingMinDelta: t.EarlyStoppingThreshold,
		CheckpointEvery:       t.SaveSteps,
		KeepLast:              t.SaveTotalLimit,
		MaxBadSteps:           t.MaxConsecutiveNaNSteps,
		LogEvery:              t.LoggingSteps,
	}
}
