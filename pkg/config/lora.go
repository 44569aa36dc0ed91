package config

import (
	"math"
	"strings"
)

// LoRA configures the adapters (lora_config.yaml), with PEFT's key names.
type LoRA struct {
	R       int     `yaml:"r"`
	Alpha   float64 `yaml:"lora_alpha"`
	Dropout float64 `yaml:"lora_dropout"`
	// TargetModules are the linear layers that get an adapter: module names
	// ("q_proj") or patterns, as pkg/lora interprets them.
	TargetModules []string `yaml:"target_modules"`
	// UseRSLoRA scales by alpha/sqrt(r) instead of alpha/r.
	UseRSLoRA bool `yaml:"use_rslora"`
	// Bias is PEFT's bias mode; only "none" is supported.
	Bias string `yaml:"bias"`
}

// DefaultLoRA returns the values of the shipped lora_config.yaml.
func DefaultLoRA() LoRA {
	return LoRA{
		R:             64,
		Alpha:         128,
		Dropout:       0.1,
		TargetModules: []string{"q_proj", "k_proj", "v_proj", "o_proj"},
		UseRSLoRA:     false,
		Bias:          "none",
	}
}

// Scale is the factor of the low-rank update: alpha/r, or alpha/sqrt(r)
// with rsLoRA.
func (l LoRA) Scale() float64 {
	if l.UseRSLoRA {
		return l.Alpha / math.Sqrt(float64(l.R))
	}
	return l.Alpha / float64(l.R)
}

// Validate checks ranges and allowed values.
func (l LoRA) Validate() error { return runCheck(l.check) }

func (l LoRA) check(c *checker) {
	c.positiveInt("r", l.R)
	c.positiveFloat("lora_alpha", l.Alpha)
	c.floatIn("lora_dropout", l.Dropout, 0, 1, false)
	if len(l.TargetModules) == 0 {
		c.errorf("target_modules", "must name at least one module")
	}
	seen := map[string]bool{}
	for i, m := range l.TargetModules {
		key := "target_modules." + itoa(i)
		switch {
		case strings.TrimSpace(m) == "":
			c.errorf(key, "empty module name")
		case seen[m]:
			c.errorf(key, "%q listed twice", m)
		}
		seen[m] = true
	}
	if l.Bias != "none" {
		c.errorf("bias", `only "none" is supported (biases stay frozen), got %q`, l.Bias)
	}
}
