package stage

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gomlx/compute/dtypes"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
)

// ConfigOptions are the options of a stage that shape its configuration.
type ConfigOptions struct {
	// ConfigPath is a configs directory, one section file or a resolved
	// config.yaml (config.LoadPath). Empty means the configs directory of
	// the repository found from the working directory (the one whose
	// datasets directory data.FindDataDir finds), else the built-in defaults.
	ConfigPath string
	// Overrides are "key=value" assignments (config.All.Apply), applied
	// after the named fields below and after Debug, so they win over both.
	Overrides []string
	// Model overrides model.model_name_or_path; DType model.dtype
	// ("float32" or "bfloat16", as ParseDType reads them, setting
	// training.bf16 to match); Backend
	// model.backend; MaxSteps training.max_steps when > 0.
	Model    string
	DType    string
	Backend  string
	MaxSteps int
	// Debug shrinks the run to data.yaml's debug sizes (config.All.ApplyDebug).
	Debug bool
}

// ResolveConfig returns the configuration a stage with these options uses:
// the YAML (or the defaults), then the named fields, then Debug, then
// Overrides, validated.
func ResolveConfig(opts ConfigOptions) (*config.All, error) {
	cfg, err := LoadConfig(opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	var named []string
	if opts.Model != "" {
		named = append(named, "model.model_name_or_path="+opts.Model)
	}
	if opts.DType != "" {
		dtype, err := ParseDType(opts.DType)
		if err != nil {
			return nil, err
		}
		named = append(named, "model.dtype="+DTypeName(dtype), "training.bf16="+strconv.FormatBool(dtype == dtypes.BFloat16))
	}
	if opts.Backend != "" {
		named = append(named, "model.backend="+opts.Backend)
	}
	if opts.MaxSteps < 0 {
		return nil, fmt.Errorf("max steps %d must be ≥ 0", opts.MaxSteps)
	}
	if opts.MaxSteps > 0 {
		named = append(named, "training.max_steps="+strconv.Itoa(opts.MaxSteps))
	}
	if err := cfg.Apply(named...); err != nil {
		return nil, err
	}
	if opts.Debug {
		// Overrides of the debug sizes themselves must count before the
		// debug sizes are applied, and explicit overrides must win over
		// them afterwards: set them on both sides (validating only after
		// the second, since the debug sizes may be what makes them valid).
		for _, as := range opts.Overrides {
			key, value, ok := strings.Cut(as, "=")
			if !ok {
				return nil, fmt.Errorf("override %q: want key=value, e.g. training.learning_rate=1e-4", as)
			}
			if err := cfg.Set(strings.TrimSpace(key), value); err != nil {
				return nil, err
			}
		}
		cfg.ApplyDebug()
	}
	if err := cfg.Apply(opts.Overrides...); err != nil {
		return nil, err
	}
	return cfg, nil
}

// LoadConfig reads path (config.LoadPath). An empty path means the configs
// directory of the repository whose datasets directory data.FindDataDir
// finds, or, without one, the built-in defaults (equal to the shipped files)
// with data paths relative to that repository.
func LoadConfig(path string) (*config.All, error) {
	if path != "" {
		return config.LoadPath(path)
	}
	datasets, err := data.FindDataDir("")
	if err != nil {
		return config.BuiltIn("no --config and no repository configs directory found from the working directory"), nil // data paths stay relative to the working directory
	}
	root := filepath.Dir(datasets)
	if info, err := os.Stat(filepath.Join(root, "configs")); err == nil && info.IsDir() {
		return config.Load(filepath.Join(root, "configs"))
	}
	cfg := config.BuiltIn("no --config, and " + root + " has no configs directory")
	cfg.BaseDir = root
	return cfg, nil
}
