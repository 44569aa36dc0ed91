package sft

import (
	stdcontext "context"
	"fmt"

	"github.com/gomlx/compute"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/hub"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

// NewBackend is stage.NewBackend, kept for notebooks.
func NewBackend(name string) (compute.Backend, error) {
	return stage.NewBackend(name)
}

// LoadModel resolves a model argument and loads it with its tokenizer
// (stage.LoadModel: a preset, a directory or a Hugging Face repo id) in
// dtype, "float32" or "bfloat16". (Run skips, and counts, examples with ids
// outside the model's vocabulary.)
func LoadModel(ctx stdcontext.Context, name, dtype string, hubOpts hub.Options) (*gemma3n.Model, *tokenizer.Tokenizer, error) {
	m, err := loadModel(ctx, name, dtype, hubOpts, gemma3n.WeightOptions{})
	if err != nil {
		return nil, nil, err
	}
	return m.Model, m.Tokenizer, nil
}

// loadModel is LoadModel with the weights placed as wopts say.
func loadModel(ctx stdcontext.Context, name, dtype string, hubOpts hub.Options, wopts gemma3n.WeightOptions) (*stage.Model, error) {
	dt, err := stage.ParseDType(dtype)
	if err != nil {
		return nil, fmt.Errorf("model %w", err)
	}
	return stage.LoadModel(ctx, name, dt, hubOpts, wopts)
}
