package export

import (
	stdcontext "context"
	"os"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/hub"
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
// path that exists (gemma3n.Open's rule).
func IsPreset(name string) bool {
	if !gemma3n.IsPreset(name) {
		return false
	}
	_, err := os.Stat(name)
	return err != nil
}

// ResolveBase turns a model argument into a preset or a local directory
// (downloading a Hugging Face repo id through package hub) and reads its
// configuration.
func ResolveBase(ctx stdcontext.Context, name string, hubOpts hub.Options) (*Base, error) {
	if IsPreset(name) {
		cfg, err := gemma3n.Preset(name)
		if err != nil {
			return nil, err
		}
		return &Base{Path: name, Preset: true, Config: cfg}, nil
	}
	dir, err := hub.Resolve(ctx, name, hubOpts)
	if err != nil {
		return nil, err
	}
	cfg, err := gemma3n.LoadConfig(dir)
	if err != nil {
		return nil, err
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
