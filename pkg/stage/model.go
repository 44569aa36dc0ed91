package stage

import (
	stdcontext "context"
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

// Model is a base model and the tokenizer that goes with it.
type Model struct {
	Model     *gemma3n.Model
	Tokenizer *tokenizer.Tokenizer
	// Dir is the directory the model was loaded from ("" for a preset): a
	// hub id resolves to its snapshot in the hub cache.
	Dir string
}

// IsPreset reports whether name is taken as a preset: a preset name for
// which no file or directory of that name exists (gemma3n.Open's rule).
func IsPreset(name string) bool {
	_, statErr := os.Stat(name)
	return gemma3n.IsPreset(name) && statErr != nil
}

// ResolveModel resolves a model argument without reading any weights: a
// preset (IsPreset) gives its configuration and dir ""; a directory, or a
// Hugging Face repo id (downloaded by package hub with hubOpts), gives the
// local directory and its config.json.
func ResolveModel(ctx stdcontext.Context, name string, hubOpts hub.Options) (dir string, cfg *gemma3n.Config, err error) {
	if IsPreset(name) {
		cfg, err = gemma3n.Preset(name)
		return "", cfg, err
	}
	if dir, err = hub.Resolve(ctx, name, hubOpts); err != nil {
		return "", nil, err
	}
	if cfg, err = gemma3n.LoadConfig(dir); err != nil {
		return "", nil, err
	}
	return dir, cfg, nil
}

// LoadModel resolves a model argument and loads it with its tokenizer: a
// preset name (unless a file of that name exists) is opened by
// gemma3n.OpenWith (mini: its embedded pretrained weights; tiny and e2b:
// random weights, seed 0); a directory or a Hugging Face repo id (resolved
// by package hub with hubOpts) is loaded from its safetensors. The weights
// are placed as wopts say. The tokenizer is the model directory's
// tokenizer.json when it has one, else an embedded one (tokenizer.ForModel):
// tokenizer.Tiny for a model whose vocabulary has tokenizer.TinyVocabSize
// ids, tokenizer.Default otherwise.
func LoadModel(ctx stdcontext.Context, name string, dtype dtypes.DType, hubOpts hub.Options, wopts gemma3n.WeightOptions) (*Model, error) {
	out, err := LoadWeights(ctx, name, dtype, hubOpts, wopts)
	if err != nil {
		return nil, err
	}
	if out.Tokenizer, err = tokenizer.ForModel(out.Dir, out.Model.Config.VocabSize); err != nil {
		return nil, err
	}
	return out, nil
}

// LoadWeights is LoadModel without the tokenizer (Model.Tokenizer is nil),
// for a caller that brings its own.
func LoadWeights(ctx stdcontext.Context, name string, dtype dtypes.DType, hubOpts hub.Options, wopts gemma3n.WeightOptions) (*Model, error) {
	out := &Model{}
	var err error
	if IsPreset(name) {
		if out.Model, err = gemma3n.OpenWith(name, dtype, wopts); err != nil {
			return nil, err
		}
		return out, nil
	}
	if out.Dir, err = hub.Resolve(ctx, name, hubOpts); err != nil {
		return nil, err
	}
	if out.Model, err = gemma3n.LoadWith(out.Dir, dtype, wopts); err != nil {
		return nil, err
	}
	return out, nil
}

// LoadScratch builds a model of the architecture that name describes
// (ResolveModel: a preset, or a directory or hub id whose config.json is
// read; no weights are read) with freshly initialised float32 weights (gemma3n.NewRandom,
// seed), and its tokenizer as LoadModel finds it.
func LoadScratch(ctx stdcontext.Context, name string, seed uint64, hubOpts hub.Options, wopts gemma3n.WeightOptions) (*Model, error) {
	dir, cfg, err := ResolveModel(ctx, name, hubOpts)
	if err != nil {
		return nil, err
	}
	out := &Model{Dir: dir}
	if out.Model, err = gemma3n.NewRandomWith(cfg, dtypes.Float32, seed, wopts); err != nil {
		return nil, err
	}
	if out.Tokenizer, err = tokenizer.ForModel(out.Dir, cfg.VocabSize); err != nil {
		return nil, err
	}
	return out, nil
}

// ConfigureModel applies the configuration's model options to m: the
// attention kernel, the sliding window override and gradient checkpointing.
func ConfigureModel(m *gemma3n.Model, cfg *config.All) {
	m.Attention = gemma3n.AttentionKernel(cfg.Model.Attention.Implementation)
	if w := cfg.Model.Attention.SlidingWindow; w > 0 {
		m.Config.SlidingWindow = w
	}
	m.GradientCheckpointing = cfg.Training.GradientCheckpointing
}
