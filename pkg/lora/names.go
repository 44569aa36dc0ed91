package lora

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
)

// Layout is how a checkpoint names the text decoder's tensors, which PEFT
// carries into the adapter's tensor names.
type Layout int

const (
	// LayoutCausalLM is a text model saved by transformers'
	// Gemma3nForCausalLM: "model.layers.N…", adapter tensors
	// "base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight".
	LayoutCausalLM Layout = iota
	// LayoutMultimodal is the official Gemma3nForConditionalGeneration
	// checkpoint: "model.language_model.layers.N…", adapter tensors
	// "base_model.model.model.language_model.layers.N…".
	LayoutMultimodal
)

func (l Layout) String() string {
	switch l {
	case LayoutCausalLM:
		return "causal-lm (model.layers.N)"
	case LayoutMultimodal:
		return "multimodal (model.language_model.layers.N)"
	}
	return fmt.Sprintf("Layout(%d)", int(l))
}

// ModelPrefix is the checkpoint prefix of the text decoder's tensors in
// this layout: "model." or "model.language_model.".
func (l Layout) ModelPrefix() string {
	if l == LayoutMultimodal {
		return multimodalModelPrefix
	}
	return causalLMModelPrefix
}

// peftPrefix is what PEFT puts before the base model's own names.
const peftPrefix = "base_model.model."

// Suffixes of the adapter tensors of a module.
const (
	suffixA = ".lora_A.weight"
	suffixB = ".lora_B.weight"
)

// TensorName is the PEFT name of a module's A (isB false) or B tensor in
// this layout, e.g. "base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight".
func (l Layout) TensorName(module string, isB bool) string {
	suffix := suffixA
	if isB {
		suffix = suffixB
	}
	return peftPrefix + l.ModelPrefix() + module + suffix
}

// errNonText marks adapter tensors of the vision or audio towers, which the
// text decoder does not have.
var errNonText = errors.New("not part of the text decoder")

// nonTextModules are the multimodal parts under "model." next to the text
// decoder.
var nonTextModules = []string{"vision_tower.", "audio_tower.", "embed_vision.", "embed_audio."}

// parseTensorName splits a PEFT adapter tensor name into the module path,
// which matrix it is, and the layout its prefix implies. Tensors of the
// vision or audio towers give errNonText.
func parseTensorName(name string) (module string, isB bool, layout Layout, err error) {
	rest, ok := strings.CutPrefix(name, peftPrefix)
	if !ok {
		return "", false, 0, fmt.Errorf("tensor %q: not a PEFT adapter tensor name (want the prefix %q)", name, peftPrefix)
	}
	switch {
	case strings.HasSuffix(rest, suffixA):
		rest = strings.TrimSuffix(rest, suffixA)
	case strings.HasSuffix(rest, suffixB):
		rest, isB = strings.TrimSuffix(rest, suffixB), true
	default:
		return "", false, 0, fmt.Errorf("tensor %q: only LoRA A/B weights (%s, %s) are supported (no DoRA magnitudes, embedding adapters, biases or modules_to_save)",
			name, suffixA, suffixB)
	}
	switch {
	case strings.HasPrefix(rest, multimodalModelPrefix):
		module, layout = strings.TrimPrefix(rest, multimodalModelPrefix), LayoutMultimodal
	case strings.HasPrefix(rest, causalLMModelPrefix):
		module, layout = strings.TrimPrefix(rest, causalLMModelPrefix), LayoutCausalLM
		for _, m := range nonTextModules {
			if strings.HasPrefix(module, m) {
				return "", false, 0, fmt.Errorf("tensor %q: %w", name, errNonText)
			}
		}
	default:
		return "", false, 0, fmt.Errorf("tensor %q: expected %q or %q after %q",
			name, causalLMModelPrefix, multimodalModelPrefix, peftPrefix)
	}
	if module == "" {
		return "", false, 0, fmt.Errorf("tensor %q: empty module path", name)
	}
	return module, isB, layout, nil
}

// LayoutOf reports the layout of a base model checkpoint (a directory, a
// .safetensors file or an index), from its tensor names: the official
// multimodal E2B checkpoint uses "model.language_model.", a text model
// saved by Gemma3nForCausalLM "model.". Save an adapter in its base
// checkpoint's layout so that PEFT can load it onto that checkpoint.
func LayoutOf(checkpoint string) (Layout, error) {
	ck, err := safetensors.OpenCheckpoint(checkpoint)
	if err != nil {
		return 0, fmt.Errorf("lora: %w", err)
	}
	defer func() { _ = ck.Close() }()
	return layoutOfNames(checkpoint, ck.Names())
}

func layoutOfNames(what string, names []string) (Layout, error) {
	causal := false
	for _, n := range names {
		if strings.HasPrefix(n, multimodalModelPrefix+"layers.") {
			return LayoutMultimodal, nil
		}
		if strings.HasPrefix(n, causalLMModelPrefix+"layers.") {
			causal = true
		}
	}
	if causal {
		return LayoutCausalLM, nil
	}
	return 0, fmt.Errorf("lora: %s has no decoder layer tensors under %q or %q", what, multimodalModelPrefix, causalLMModelPrefix)
}
