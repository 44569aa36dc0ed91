package lora

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
)

// Config describes the adapters to create (see New). The field names follow
// PEFT's LoraConfig.
type Config struct {
	// R is the rank of every update B·A (unless RankPattern overrides it).
	R int
	// Alpha scales the update: by Alpha/R, or Alpha/√R with UseRSLoRA.
	Alpha float64
	// Dropout is the probability of zeroing an input of the low-rank path
	// while training (graphs where Scope.IsTraining is true); 0 disables it.
	Dropout float64
	// TargetModules selects the linear layers of the text decoder that get
	// an adapter. Each entry is one of:
	//   - a module name, matched like PEFT's list form: equal to the module
	//     path or to a suffix of it after a dot ("q_proj",
	//     "self_attn.o_proj", "layers.3.mlp.up_proj");
	//   - a regular expression (an entry holding any of `*+?()[]{}|^$\`),
	//     matched against the whole module path, with or without the
	//     checkpoint prefix ("layers\.(1|2)\..*_proj",
	//     `model\.layers\.\d+\.self_attn\.q_proj`);
	//   - "all-linear": every linear layer of the decoder.
	// Module paths are HF names without the weight suffix, e.g.
	// "layers.3.self_attn.q_proj". Only the text decoder is ever adapted:
	// the vision and audio towers are not part of the model.
	TargetModules []string
	// UseRSLoRA scales by Alpha/√R (rank-stabilised LoRA).
	UseRSLoRA bool
	// RankPattern and AlphaPattern override R and Alpha for the modules a
	// key matches (PEFT's rank_pattern/alpha_pattern: the key is a regular
	// expression that must match the end of the module path after a dot).
	RankPattern  map[string]int
	AlphaPattern map[string]float64
	// BaseModelNameOrPath is recorded in adapter_config.json.
	BaseModelNameOrPath string
	// Seed makes the random initialisation of the A matrices reproducible;
	// every module draws from its own stream derived from Seed and its path.
	Seed uint64
}

// DefaultTargetModules are the attention projections of the text decoder.
var DefaultTargetModules = []string{"q_proj", "k_proj", "v_proj", "o_proj"}

// DefaultConfig returns r=8, alpha=16, no dropout, q/k/v/o targets.
func DefaultConfig() Config {
	return Config{R: 8, Alpha: 16, TargetModules: slices.Clone(DefaultTargetModules)}
}

// Scale is the factor of the low-rank update for rank r and alpha.
func Scale(alpha float64, r int, rsLoRA bool) float64 {
	if rsLoRA {
		return alpha / math.Sqrt(float64(r))
	}
	return alpha / float64(r)
}

// maxRank bounds ranks read from files or configs (a corrupt value must not
// make us allocate terabytes).
const maxRank = 1 << 16

// Validate checks ranges and compiles the target patterns.
func (c Config) Validate() error {
	var errs []error
	if c.R <= 0 || c.R > maxRank {
		errs = append(errs, fmt.Errorf("r = %d: must be in [1, %d]", c.R, maxRank))
	}
	if !(c.Alpha > 0) || math.IsInf(c.Alpha, 0) {
		errs = append(errs, fmt.Errorf("lora_alpha = %v: must be a finite number > 0", c.Alpha))
	}
	if !(c.Dropout >= 0 && c.Dropout < 1) {
		errs = append(errs, fmt.Errorf("lora_dropout = %v: must be in [0, 1)", c.Dropout))
	}
	if len(c.TargetModules) == 0 {
		errs = append(errs, errors.New("target_modules: must name at least one module"))
	}
	if _, err := newMatcher(c.TargetModules); err != nil {
		errs = append(errs, err)
	}
	for key, r := range c.RankPattern {
		if _, err := compilePatternKey(key); err != nil {
			errs = append(errs, fmt.Errorf("rank_pattern: %w", err))
		}
		if r <= 0 || r > maxRank {
			errs = append(errs, fmt.Errorf("rank_pattern[%q] = %d: must be in [1, %d]", key, r, maxRank))
		}
	}
	for key, a := range c.AlphaPattern {
		if _, err := compilePatternKey(key); err != nil {
			errs = append(errs, fmt.Errorf("alpha_pattern: %w", err))
		}
		if !(a > 0) || math.IsInf(a, 0) {
			errs = append(errs, fmt.Errorf("alpha_pattern[%q] = %v: must be a finite number > 0", key, a))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("lora: invalid config: %w", err)
	}
	return nil
}

// rankAndAlpha returns the rank and alpha of a module, applying the
// patterns (the first matching key in sorted order, for determinism).
func (c Config) rankAndAlpha(module string) (int, float64) {
	r, alpha := c.R, c.Alpha
	if key, ok := firstPatternMatch(mapKeys(c.RankPattern), module); ok {
		r = c.RankPattern[key]
	}
	if key, ok := firstPatternMatch(mapKeys(c.AlphaPattern), module); ok {
		alpha = c.AlphaPattern[key]
	}
	return r, alpha
}

func mapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// compilePatternKey compiles a rank/alpha pattern key as PEFT reads it: the
// key must match the end of the module path, after a dot or at its start.
func compilePatternKey(key string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(`(^|\.)(?:` + key + `)$`)
	if err != nil {
		return nil, fmt.Errorf("key %q is not a valid regular expression: %w", key, err)
	}
	return re, nil
}

func firstPatternMatch(keys []string, module string) (string, bool) {
	for _, key := range keys {
		re, err := compilePatternKey(key)
		if err != nil {
			continue // rejected by Validate
		}
		for _, name := range moduleKeys(module) {
			if re.MatchString(name) {
				return key, true
			}
		}
	}
	return "", false
}

// Checkpoint prefixes of the text decoder's modules, in the two layouts.
const (
	causalLMModelPrefix   = "model."
	multimodalModelPrefix = "model.language_model."
)

// moduleKeys are the names a module path has in PEFT's view of either
// checkpoint layout, plus the bare path.
func moduleKeys(module string) []string {
	return []string{module, causalLMModelPrefix + module, multimodalModelPrefix + module}
}

// allLinear is PEFT's shorthand for every linear layer.
const allLinear = "all-linear"

// matcher decides whether a module path is targeted.
type matcher struct {
	entries []matchEntry
}

type matchEntry struct {
	text string
	re   *regexp.Regexp // nil for a plain name
}

// isPattern reports whether a target entry is a regular expression rather
// than a module name (names only hold letters, digits, '_' and '.').
func isPattern(entry string) bool {
	return strings.ContainsAny(entry, `*+?()[]{}|^$\`)
}

func newMatcher(targets []string) (*matcher, error) {
	m := &matcher{}
	seen := map[string]bool{}
	for i, t := range targets {
		switch {
		case strings.TrimSpace(t) == "":
			return nil, fmt.Errorf("target_modules[%d]: empty module name", i)
		case seen[t]:
			return nil, fmt.Errorf("target_modules[%d]: %q listed twice", i, t)
		}
		seen[t] = true
		e := matchEntry{text: t}
		if isPattern(t) {
			re, err := regexp.Compile(`^(?:` + t + `)$`)
			if err != nil {
				return nil, fmt.Errorf("target_modules[%d]: %q is not a valid regular expression: %w", i, t, err)
			}
			e.re = re
		}
		m.entries = append(m.entries, e)
	}
	return m, nil
}

// entryMatches reports whether entry e selects the module path.
func (e matchEntry) matches(module string) bool {
	if e.text == allLinear {
		return true
	}
	for _, key := range moduleKeys(module) {
		if e.re != nil {
			if e.re.MatchString(key) {
				return true
			}
		} else if key == e.text || strings.HasSuffix(key, "."+e.text) {
			return true
		}
	}
	return false
}

func (m *matcher) matches(module string) bool {
	for _, e := range m.entries {
		if e.matches(module) {
			return true
		}
	}
	return false
}

// allPlainNames reports whether every entry is a module name.
func (m *matcher) allPlainNames() bool {
	for _, e := range m.entries {
		if e.re != nil || e.text == allLinear {
			return false
		}
	}
	return true
}
