package sft

import (
	stdcontext "context"
	"fmt"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/hub"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
)

// loadModel resolves a model argument (stage.LoadModel: a preset, a
// directory or a Hugging Face repo id) and loads it with its tokenizer in
// dtype, "float32" or "bfloat16", with the weights placed as wopts say.
// (Run skips, and counts, examples with ids outside the model's vocabulary.)
func loadModel(ctx stdcontext.Context, name, dtype string, hubOpts hub.Options, wopts gemma3n.WeightOptions) (*stage.Model, error) {
	dt, err := stage.ParseDType(dtype)
	if err != nil {
		return nil, fmt.Errorf("model %w", err)
	}
	return stage.LoadModel(ctx, name, dt, hubOpts, wopts)
}
