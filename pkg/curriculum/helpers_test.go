package curriculum

import (
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// The shipped configuration, relative to this package.
const configsDir = "../../configs"

// The shared fixtures (pkg/internal/testutil/testdata).
var (
	fixtureModel   = testutil.TinyModel()
	fixtureAdapter = testutil.TinyAdapter()
)

// smallOverrides make every stage of a debug run take a few steps on the
// CPU: phases of 4 examples trained in one batch (so that each step's loss
// is the loss of the whole phase and falls steadily), sequences of at most
// 128 tokens, a small adapter without dropout, every step logged, DPO on
// two pairs at a time.
var smallOverrides = []string{
	"data.debug.max_seq_length=128", "data.debug.target_dataset_size=20",
	"training.per_device_train_batch_size=4", "training.per_device_eval_batch_size=2",
	"training.gradient_accumulation_steps=1", "training.warmup_ratio=0", "training.logging_steps=1",
	"lora.r=4", "lora.lora_alpha=8", "lora.lora_dropout=0",
	"dpo.per_device_train_batch_size=2", "dpo.gradient_accumulation_steps=1", "dpo.num_train_epochs=2",
	"dpo.warmup_ratio=0", "dpo.learning_rate=5e-5",
}

// smallOptions are the options of a small debug run of model into out.
func smallOptions(t testing.TB, model, out string, overrides ...string) Options {
	return Options{
		ConfigOptions: stage.ConfigOptions{
			ConfigPath: configsDir, Model: model, DType: "float32", Debug: true,
			Overrides: append(append([]string(nil), smallOverrides...), overrides...),
		},
		LRScale: 100, Epochs: 3, MaxEvalExamples: 2, DPOMaxSteps: 2, Out: out,
		BackendInstance: testutil.Backend(t), Reporting: train.Reporting{NoProgress: true, Logger: testutil.QuietLogger()},
	}
}
