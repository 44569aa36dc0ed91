package export

import (
	stdcontext "context"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/hub"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

// Base is a resolved model argument: a preset or a local checkpoint
// directory, with its configuration.
type Base struct {
	Path   string // a preset name or a model directory
	Preset bool
	Config *gemma3n.Config
}

// IsPreset reports whether name is a built-in configuration and not a
// path that exists (stage.IsPreset: gemma3n.Open's rule).
func IsPreset(name string) bool { return stage.IsPreset(name) }

// ResolveBase turns a model argument into a preset or a local directory
// (downloading a Hugging Face repo id through package hub) and reads its
// configuration (stage.ResolveModel).
func ResolveBase(ctx stdcontext.Context, name string, hubOpts hub.Options) (*Base, error) {
	dir, cfg, err := stage.ResolveModel(ctx, name, hubOpts)
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return &Base{Path: name, Preset: true, Config: cfg}, nil
	}
	return &Base{Path: dir, Config: cfg}, nil
}

// Tokenizer returns the tokenizer the stages use with the model
// (tokenizer.ForModel): the directory's, else the embedded one for its
// vocabulary size.
func (m *Base) Tokenizer() (*tokenizer.Tokenizer, error) {
	dir := m.Path
	if m.Preset {
		dir = ""
	}
	return tokenizer.ForModel(dir, m.Config.VocabSize)
}
