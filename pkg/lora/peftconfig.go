package lora

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/jsonpos"
)

// File names of a PEFT adapter directory.
const (
	ConfigFileName  = "adapter_config.json"
	WeightsFileName = "adapter_model.safetensors"
)

// PEFTVersion is the PEFT release whose file format this package writes
// (recorded as peft_version in adapter_config.json).
const PEFTVersion = "0.21.0"

// peftDefaults are the fields PEFT 0.21 writes for a LoRA adapter, with
// their default values; Save fills in the adapter's own.
var peftDefaults = map[string]string{
	"alora_invocation_tokens": "null",
	"alpha_pattern":           "{}",
	"arrow_config":            "null",
	"auto_mapping":            "null",
	"base_model_name_or_path": "null",
	"bias":                    `"none"`,
	"corda_config":            "null",
	"ensure_weight_tying":     "false",
	"eva_config":              "null",
	"exclude_modules":         "null",
	"fan_in_fan_out":          "false",
	"inference_mode":          "true",
	"init_lora_weights":       "true",
	"kasa_config":             "null",
	"layer_replication":       "null",
	"layers_pattern":          "null",
	"layers_to_transform":     "null",
	"loftq_config":            "{}",
	"lora_alpha":              "8",
	"lora_bias":               "false",
	"lora_dropout":            "0.0",
	"lora_ga_config":          "null",
	"megatron_config":         "null",
	"megatron_core":           `"megatron.core"`,
	"modules_to_save":         "null",
	"monteclora_config":       "null",
	"peft_type":               `"LORA"`,
	"peft_version":            `"` + PEFTVersion + `"`,
	"qalora_group_size":       "16",
	"r":                       "8",
	"rank_pattern":            "{}",
	"revision":                "null",
	"target_modules":          "null",
	"target_parameters":       "null",
	"task_type":               `"CAUSAL_LM"`,
	"trainable_token_indices": "null",
	"use_bdlora":              "null",
	"use_dora":                "false",
	"use_qalora":              "false",
	"use_rslora":              "false",
	"velora_config":           "null",
}

// unsupportedFields change the adapter's computation in ways this package
// does not implement; each must hold one of its neutral values.
var unsupportedFields = map[string][]string{
	"use_dora":                {"false", "null"},
	"lora_bias":               {"false", "null"},
	"bias":                    {`"none"`, "null"},
	"fan_in_fan_out":          {"false", "null"},
	"modules_to_save":         {"null", "[]"},
	"layer_replication":       {"null", "[]"},
	"use_qalora":              {"false", "null"},
	"trainable_token_indices": {"null", "[]", "{}"},
	"target_parameters":       {"null", "[]"},
	"alora_invocation_tokens": {"null", "[]"},
	"arrow_config":            {"null"},
	"use_bdlora":              {"null", "false"},
	"monteclora_config":       {"null"},
}

// peftFile is a parsed adapter_config.json: the adapter's settings and the
// raw fields, kept so that saving a loaded adapter preserves them.
type peftFile struct {
	cfg Config
	raw map[string]json.RawMessage
}

// parsePEFTConfig reads adapter_config.json data; file names the file in
// errors.
func parsePEFTConfig(file string, data []byte) (*peftFile, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", file, describeJSONError(data, err))
	}
	if raw == nil {
		return nil, fmt.Errorf("%s: want a JSON object, got null", file)
	}
	p := &peftFile{raw: raw}
	fieldErr := func(key string, err error) error { return fmt.Errorf("%s: field %q: %w", file, key, err) }

	var peftType string
	if err := decodeField(raw, "peft_type", &peftType); err != nil {
		return nil, fieldErr("peft_type", err)
	}
	if peftType != "LORA" {
		return nil, fieldErr("peft_type", fmt.Errorf("%q is not supported (only LORA)", peftType))
	}
	for key, neutral := range unsupportedFields {
		v, ok := raw[key]
		if !ok {
			continue
		}
		if compact := compactJSON(v); !slices.Contains(neutral, compact) {
			return nil, fieldErr(key, fmt.Errorf("%s is not supported (want %s)", compact, strings.Join(neutral, " or ")))
		}
	}

	cfg := Config{R: 8, Alpha: 8}
	if err := decodeField(raw, "r", &cfg.R); err != nil {
		return nil, fieldErr("r", err)
	}
	if err := decodeField(raw, "lora_alpha", &cfg.Alpha); err != nil {
		return nil, fieldErr("lora_alpha", err)
	}
	if err := decodeField(raw, "lora_dropout", &cfg.Dropout); err != nil {
		return nil, fieldErr("lora_dropout", err)
	}
	if err := decodeField(raw, "use_rslora", &cfg.UseRSLoRA); err != nil {
		return nil, fieldErr("use_rslora", err)
	}
	if err := decodeField(raw, "rank_pattern", &cfg.RankPattern); err != nil {
		return nil, fieldErr("rank_pattern", err)
	}
	if err := decodeField(raw, "alpha_pattern", &cfg.AlphaPattern); err != nil {
		return nil, fieldErr("alpha_pattern", err)
	}
	if err := decodeField(raw, "base_model_name_or_path", &cfg.BaseModelNameOrPath); err != nil {
		return nil, fieldErr("base_model_name_or_path", err)
	}
	targets, err := decodeTargets(raw["target_modules"])
	if err != nil {
		return nil, fieldErr("target_modules", err)
	}
	cfg.TargetModules = targets
	if err := cfg.validateSettings(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	p.cfg = cfg
	return p, nil
}

// validateSettings checks the numeric settings and patterns of a loaded
// config (its target_modules only document what the file holds).
func (c Config) validateSettings() error {
	probe := c
	probe.TargetModules = []string{"q_proj"}
	return probe.Validate()
}

// decodeField decodes raw[key] into dst if present and not null.
func decodeField(raw map[string]json.RawMessage, key string, dst any) error {
	v, ok := raw[key]
	if !ok || compactJSON(v) == "null" {
		return nil
	}
	if err := json.Unmarshal(v, dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return fmt.Errorf("got %s, want a value of Go type %s", compactJSON(v), typeErr.Type)
		}
		return err
	}
	return nil
}

// decodeTargets reads target_modules: a list of names, a regular expression
// string (kept as one pattern entry), or null.
func decodeTargets(v json.RawMessage) ([]string, error) {
	if v == nil || compactJSON(v) == "null" {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal(v, &list); err == nil {
		return list, nil
	}
	var pattern string
	if err := json.Unmarshal(v, &pattern); err == nil {
		return []string{pattern}, nil
	}
	return nil, fmt.Errorf("got %s, want a list of module names or a regular expression string", compactJSON(v))
}

func compactJSON(v json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return string(v)
	}
	return b.String()
}

// describeJSONError adds the line and column of a syntax or type error.
func describeJSONError(data []byte, err error) error {
	if pos, ok := jsonpos.Of(data, err); ok {
		return fmt.Errorf("%v: %w", pos, err)
	}
	return err
}

// encodePEFTConfig renders adapter_config.json as PEFT does (sorted keys,
// two-space indent): base holds the fields to start from (a loaded file's,
// or PEFT's defaults), targets the target_modules value.
func encodePEFTConfig(base map[string]json.RawMessage, cfg Config, targets json.RawMessage) ([]byte, error) {
	out := map[string]json.RawMessage{}
	if base == nil {
		for k, v := range peftDefaults {
			out[k] = json.RawMessage(v)
		}
	} else {
		for k, v := range base {
			out[k] = v
		}
	}
	set := func(key string, v any) error {
		b, err := marshalNoEscape(v)
		if err != nil {
			return fmt.Errorf("lora: encoding %s: %w", key, err)
		}
		out[key] = b
		return nil
	}
	out["peft_type"] = json.RawMessage(`"LORA"`)
	out["r"] = json.RawMessage(strconv.Itoa(cfg.R))
	out["lora_alpha"] = json.RawMessage(pyNumber(cfg.Alpha, true))
	out["lora_dropout"] = json.RawMessage(pyNumber(cfg.Dropout, false))
	out["use_rslora"] = json.RawMessage(strconv.FormatBool(cfg.UseRSLoRA))
	out["inference_mode"] = json.RawMessage("true") // PEFT's save_pretrained does the same
	if targets != nil {
		out["target_modules"] = targets
	}
	if cfg.BaseModelNameOrPath != "" {
		if err := set("base_model_name_or_path", cfg.BaseModelNameOrPath); err != nil {
			return nil, err
		}
	} else if base == nil {
		out["base_model_name_or_path"] = json.RawMessage("null")
	}
	out["rank_pattern"] = patternJSON(cfg.RankPattern, func(v int) string { return strconv.Itoa(v) })
	out["alpha_pattern"] = patternJSON(cfg.AlphaPattern, func(v float64) string { return pyNumber(v, true) })

	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, fmt.Errorf("lora: encoding %s: %w", ConfigFileName, err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func marshalNoEscape(v any) (json.RawMessage, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func patternJSON[V any](m map[string]V, format func(V) string) json.RawMessage {
	keys := mapKeys(m)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := marshalNoEscape(k)
		b.Write(name)
		b.WriteByte(':')
		b.WriteString(format(m[k]))
	}
	b.WriteByte('}')
	return json.RawMessage(b.String())
}

// pyNumber formats v as Python's json module would: integral values as
// ints when asInt (PEFT's lora_alpha is usually an int) or with ".0",
// others in shortest round-trip form.
func pyNumber(v float64, asInt bool) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		if asInt {
			return strconv.FormatFloat(v, 'f', 0, 64)
		}
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
