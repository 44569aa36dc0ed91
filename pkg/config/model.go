package config

import "strings"

// Model configures the base checkpoint (model_config.yaml).
type Model struct {
	// NameOrPath is a preset of package gemma3n (the default: "mini", the
	// embedded pretrained model), a local model directory or a Hugging Face
	// repo id "org/name[@revision]" (see package hub).
	NameOrPath string `yaml:"model_name_or_path"`
	// DType of the frozen base weights: "bfloat16" or "float32".
	DType string `yaml:"dtype"`
	// Backend is a GoMLX backend configuration for package backend: "" (from
	// $GOMLX_BACKEND, else pure Go), "go", or "xla:/abs/path/plugin.so".
	Backend string `yaml:"backend"`
	// MaxSeqLength is the longest tokenized training example.
	MaxSeqLength int       `yaml:"max_seq_length"`
	Attention    Attention `yaml:"attention"`
}

// Attention configures how the attention layers are computed.
type Attention struct {
	// Implementation is "fused" (the backend's fused kernel on the layers
	// where it applies, see gemma3n.AttentionFused) or "eager" (always the
	// explicit float32 softmax, the reference).
	Implementation string `yaml:"implementation"`
	// SlidingWindow overrides the local layers' window; 0 keeps the checkpoint's.
	SlidingWindow int `yaml:"sliding_window"`
}

// Dtypes of the base weights.
const (
	DTypeBFloat16 = "bfloat16"
	DTypeFloat32  = "float32"
)

// Attention implementations.
const (
	AttentionEager = "eager"
	AttentionFused = "fused"
)

// DefaultModel returns the values of the shipped model_config.yaml.
func DefaultModel() Model {
	return Model{
		NameOrPath:   "mini",
		DType:        DTypeBFloat16,
		Backend:      "",
		MaxSeqLength: 2048,
		Attention:    Attention{Implementation: AttentionFused, SlidingWindow: 0},
	}
}

// Validate checks ranges and allowed values.
func (m Model) Validate() error { return runCheck(m.check) }

func (m Model) check(c *checker) {
	if strings.TrimSpace(m.NameOrPath) == "" {
		c.errorf("model_name_or_path", "must name a model directory or a Hugging Face repo id")
	}
	c.oneOf("dtype", m.DType, DTypeBFloat16, DTypeFloat32)
	if !validBackend(m.Backend) {
		c.errorf("backend", `must be "", "go" or "xla:/abs/path/plugin.so", got %q`, m.Backend)
	}
	c.positiveInt("max_seq_length", m.MaxSeqLength)
	c.oneOf("attention.implementation", m.Attention.Implementation, AttentionEager, AttentionFused)
	c.nonNegativeInt("attention.sliding_window", m.Attention.SlidingWindow)
}

// validBackend accepts the configurations package backend understands; that
// the plugin file exists is checked when the backend is created.
func validBackend(b string) bool {
	name, _, _ := strings.Cut(b, ":")
	switch name {
	case "", "go", "simplego", "xla", "stablehlo", "hlo":
		return b == "" || name != ""
	}
	return false
}

// runCheck runs a section's checks without file positions.
func runCheck(check func(*checker)) error {
	c := &checker{}
	check(c)
	return c.errs.orNil()
}
