package lora

import (
	"math"
	"strings"
	"testing"
)

func TestMatcher(t *testing.T) {
	for _, tc := range []struct {
		target string
		module string
		want   bool
	}{
		{"q_proj", "layers.3.self_attn.q_proj", true},
		{"q_proj", "layers.3.self_attn.k_proj", false},
		{"proj", "layers.3.self_attn.q_proj", false}, // suffixes start after a dot
		{"self_attn.q_proj", "layers.3.self_attn.q_proj", true},
		{"layers.1.self_attn.q_proj", "layers.1.self_attn.q_proj", true},
		{"layers.1.self_attn.q_proj", "layers.11.self_attn.q_proj", false},
		{"model.layers.1.self_attn.q_proj", "layers.1.self_attn.q_proj", true},
		{"language_model.layers.1.self_attn.q_proj", "layers.1.self_attn.q_proj", true},
		{"altup_projections.0", "altup_projections.0", true},
		{`layers\.[12]\..*_proj`, "layers.2.mlp.up_proj", true},
		{`layers\.[12]\..*_proj`, "layers.12.mlp.up_proj", false}, // patterns match whole paths
		{`.*\.(q|v)_proj`, "layers.0.self_attn.v_proj", true},
		{`.*\.(q|v)_proj`, "layers.0.self_attn.o_proj", false},
		{`model\.language_model\.layers\.\d+\.self_attn\.o_proj`, "layers.7.self_attn.o_proj", true},
		{"all-linear", "per_layer_model_projection", true},
	} {
		m, err := newMatcher([]string{tc.target})
		if err != nil {
			t.Fatalf("newMatcher(%q): %v", tc.target, err)
		}
		if got := m.matches(tc.module); got != tc.want {
			t.Errorf("target %q on module %q: %v, want %v", tc.target, tc.module, got, tc.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	if err := ok.Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"rank too large", func(c *Config) { c.R = maxRank + 1 }, "r = 65537"},
		{"alpha NaN", func(c *Config) { c.Alpha = math.NaN() }, "lora_alpha"},
		{"alpha Inf", func(c *Config) { c.Alpha = math.Inf(1) }, "lora_alpha"},
		{"negative dropout", func(c *Config) { c.Dropout = -0.1 }, "lora_dropout"},
		{"blank target", func(c *Config) { c.TargetModules = []string{" "} }, "target_modules[0]: empty"},
		{"bad alpha pattern", func(c *Config) { c.AlphaPattern = map[string]float64{"[": 2} }, "alpha_pattern"},
		{"zero alpha pattern", func(c *Config) { c.AlphaPattern = map[string]float64{"q_proj": 0} }, `alpha_pattern["q_proj"]`},
	} {
		c := DefaultConfig()
		tc.change(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	if got := Scale(16, 4, false); got != 4 {
		t.Errorf("Scale(16, 4) = %v", got)
	}
	if got := Scale(16, 4, true); got != 8 {
		t.Errorf("Scale(16, 4, rsLoRA) = %v", got)
	}
}
