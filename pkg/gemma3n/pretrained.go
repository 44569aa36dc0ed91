package gemma3n

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"

	"github.com/gomlx/compute/dtypes"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
)

// MiniName is the preset of the project's embedded default model: a small
// Gemma 3n pretrained on the training splits of the shipped corpora (see
// miniConfig and assets/mini/README.md, its model card).
const MiniName = "mini"

// MiniAssetsDir is where the mini preset's files live in the repository,
// relative to this package: config.json, model.safetensors (bfloat16), the
// model card README.md and card.json. `make pretrain` writes them.
const MiniAssetsDir = "assets/mini"

// The mini preset's files, embedded in every binary that uses this
// package. The directory holds at least the model card, so the build does
// not depend on the weights being there (make pretrain builds them).
//
//go:embed assets/mini
var miniFS embed.FS

// pretrained lists the presets whose weights are embedded: name → the
// embedded directory holding config.json and model.safetensors.
var pretrained = map[string]string{MiniName: MiniAssetsDir}

// IsPretrainedPreset reports whether name is a preset with embedded
// pretrained weights (Open loads them) rather than random ones.
func IsPretrainedPreset(name string) bool {
	_, ok := pretrained[normalizePreset(name)]
	return ok
}

// PretrainedFile returns an embedded file of a pretrained preset (e.g.
// "README.md", its model card, or "card.json").
func PretrainedFile(preset, name string) ([]byte, error) {
	dir, ok := pretrained[normalizePreset(preset)]
	if !ok {
		return nil, fmt.Errorf("gemma3n: %q is not a pretrained preset", preset)
	}
	b, err := miniFS.ReadFile(path.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("gemma3n: preset %s: %w", preset, err)
	}
	return b, nil
}

// ErrNoPretrainedWeights is returned (wrapped) by Open for a pretrained
// preset built without its weights file.
var ErrNoPretrainedWeights = errors.New("the preset's pretrained weights are not in this build")

// openPretrained loads the embedded weights of a pretrained preset,
// checking that the embedded config.json describes the preset's
// architecture.
func openPretrained(name string, dtype dtypes.DType, opts WeightOptions) (*Model, error) {
	name = normalizePreset(name)
	dir := pretrained[name]
	cfg, _ := Preset(name)
	weights, err := miniFS.ReadFile(path.Join(dir, "model.safetensors"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("gemma3n: preset %s: %w (pkg/gemma3n/%s/model.safetensors is missing: run make pretrain, then rebuild)", name, ErrNoPretrainedWeights, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("gemma3n: preset %s: %w", name, err)
	}
	cfgJSON, err := miniFS.ReadFile(path.Join(dir, ConfigFileName))
	if err != nil {
		return nil, fmt.Errorf("gemma3n: preset %s: %w", name, err)
	}
	embedded, err := ParseConfig(cfgJSON)
	if err != nil {
		return nil, fmt.Errorf("gemma3n: preset %s: embedded %s: %w", name, ConfigFileName, err)
	}
	if err := SameArchitecture(cfg, embedded); err != nil {
		return nil, fmt.Errorf("gemma3n: preset %s: the embedded %s does not describe the preset's architecture (rebuild the weights with make pretrain): %w", name, ConfigFileName, err)
	}
	src, err := safetensors.OpenBytes("pkg/gemma3n/"+dir+"/model.safetensors", weights)
	if err != nil {
		return nil, err
	}
	defer func() { _ = src.Close() }()
	m, err := loadWeights(cfg, src, dtype, opts)
	if err != nil {
		return nil, fmt.Errorf("gemma3n: preset %s: %w", name, err)
	}
	return m, nil
}

// SameArchitecture reports how two configurations differ in what the
// weights depend on (the dtype and the stop ids do not count).
func SameArchitecture(want, got *Config) error {
	a, b := want.Clone(), got.Clone()
	a.TorchDType, b.TorchDType = "", ""
	a.EOSTokenIDs, b.EOSTokenIDs = nil, nil
	ja, err := a.MarshalJSON()
	if err != nil {
		return err
	}
	jb, err := b.MarshalJSON()
	if err != nil {
		return err
	}
	if string(ja) != string(jb) {
		return fmt.Errorf("want %s, got %s", ja, jb)
	}
	return nil
}
