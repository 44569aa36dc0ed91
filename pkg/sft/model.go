package sft

import (
	stdcontext "context"
	"fmt"
	"os"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/backend"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/hub"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

// NewBackend creates the backend named by a model.backend value; see
// backend.New (SimpleGo runs its ops sequentially there).
func NewBackend(name string) (compute.Backend, error) {
	return backend.New(name)
}

// loadedModel is a base model and the tokenizer that goes with it.
type loadedModel struct {
	model *gemma3n.Model
	tok   *tokenizer.Tokenizer
	dir   string // the model directory; "" for a preset
}

// LoadModel resolves a model argument and loads it with its tokenizer: a
// preset name (unless a file of that name exists) is opened by
// gemma3n.Open (mini: its embedded pretrained weights; tiny and e2b: random
// weights, seed 0); a directory or a Hugging Face repo id (resolved by
// package hub) is loaded from its safetensors. The tokenizer is the model
// directory's tokenizer.json when it has one, else an embedded one:
// tokenizer.Tiny for a model whose vocabulary has tokenizer.TinyVocabSize
// ids, tokenizer.Default otherwise. (Run skips, and counts, examples with
// ids outside the model's vocabulary.)
func LoadModel(ctx stdcontext.Context, name, dtype string, hubOpts hub.Options) (*gemma3n.Model, *tokenizer.Tokenizer, error) {
	m, err := loadModel(ctx, name, dtype, hubOpts, gemma3n.WeightOptions{})
	if err != nil {
		return nil, nil, err
	}
	return m.model, m.tok, nil
}

// loadModel is LoadModel with the weights placed as wopts say.
func loadModel(ctx stdcontext.Context, name, dtype string, hubOpts hub.Options, wopts gemma3n.WeightOptions) (*loadedModel, error) {
	dt := dtypes.Float32
	switch dtype {
	case config.DTypeFloat32:
	case config.DTypeBFloat16:
		dt = dtypes.BFloat16
	default:
		return nil, fmt.Errorf("model dtype %q: want float32 or bfloat16", dtype)
	}
	out := &loadedModel{}
	var err error
	if _, statErr := os.Stat(name); gemma3n.IsPreset(name) && statErr != nil {
		if out.model, err = gemma3n.OpenWith(name, dt, wopts); err != nil {
			return nil, err
		}
	} else {
		if out.dir, err = hub.Resolve(ctx, name, hubOpts); err != nil {
			return nil, err
		}
		if out.model, err = gemma3n.LoadWith(out.dir, dt, wopts); err != nil {
			return nil, err
		}
	}
	if out.tok, err = tokenizer.ForModel(out.dir, out.model.Config.VocabSize); err != nil {
		return nil, err
	}
	return out, nil
}
