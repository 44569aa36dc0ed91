package gemma3n

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/jsonpos"
)

// This file is the Hugging Face compatibility layer of Config: reading a
// config.json in either layout (a multimodal Gemma3nConfig with the text
// model in "text_config", or a plain Gemma3nTextConfig), the two RoPE
// spellings of transformers 4 and 5, intermediate_size as a scalar or a
// list, HF's defaults for absent fields, the stop ids of
// generation_config.json, and writing the layout transformers 5 saves.

// ConfigFileName is the name of the configuration file in a model directory.
const ConfigFileName = "config.json"

// GenerationConfigFileName holds generation defaults (extra EOS ids).
const GenerationConfigFileName = "generation_config.json"

// Defaults of HF's Gemma3nTextConfig, used for fields a config.json omits
// (transformers may save only the fields that differ from them).
const (
	defaultVocabSize               = 262400
	defaultVocabSizePerLayerInput  = 262144
	defaultHiddenSize              = 2048
	defaultHiddenSizePerLayerInput = 256
	defaultIntermediateSize        = 16384
	defaultNumHiddenLayers         = 35
	defaultNumAttentionHeads       = 8
	defaultNumKeyValueHeads        = 2
	defaultHeadDim                 = 256
	defaultSlidingWindow           = 512
	defaultRopeThetaFull           = 1_000_000.0
	defaultRopeThetaSliding        = 10_000.0
	defaultRMSNormEps              = 1e-6
	defaultFinalLogitSoftcapping   = 30.0
	defaultAltUpNumInputs          = 4
	defaultAltUpCoefClip           = 120.0
	defaultLaurelRank              = 64
	defaultNumKVSharedLayers       = 15
	defaultMaxPositionEmbeddings   = 32768
	defaultHiddenActivation        = "gelu_pytorch_tanh"
	defaultPadTokenID              = 0
	defaultBOSTokenID              = 2
	defaultEOSTokenID              = 1
)

// rawTextConfig mirrors the JSON of a Gemma3nTextConfig. Pointers and raw
// messages distinguish absent fields from zero values and accept the
// alternative spellings of different transformers versions.
type rawTextConfig struct {
	ModelType               *string                    `json:"model_type"`
	VocabSize               *int                       `json:"vocab_size"`
	VocabSizePerLayerInput  *int                       `json:"vocab_size_per_layer_input"`
	HiddenSize              *int                       `json:"hidden_size"`
	HiddenSizePerLayerInput *int                       `json:"hidden_size_per_layer_input"`
	IntermediateSize        json.RawMessage            `json:"intermediate_size"`
	NumHiddenLayers         *int                       `json:"num_hidden_layers"`
	NumAttentionHeads       *int                       `json:"num_attention_heads"`
	NumKeyValueHeads        *int                       `json:"num_key_value_heads"`
	HeadDim                 *int                       `json:"head_dim"`
	LayerTypes              []LayerType                `json:"layer_types"`
	SlidingWindow           *int                       `json:"sliding_window"`
	RopeTheta               *float64                   `json:"rope_theta"`
	RopeLocalBaseFreq       *float64                   `json:"rope_local_base_freq"`
	RopeScaling             json.RawMessage            `json:"rope_scaling"`
	RopeParameters          map[string]json.RawMessage `json:"rope_parameters"`
	RMSNormEps              *float64                   `json:"rms_norm_eps"`
	FinalLogitSoftcapping   json.RawMessage            `json:"final_logit_softcapping"`
	AltUpNumInputs          *int                       `json:"altup_num_inputs"`
	AltUpActiveIdx          *int                       `json:"altup_active_idx"`
	AltUpCoefClip           json.RawMessage            `json:"altup_coef_clip"`
	AltUpCorrectScale       *bool                      `json:"altup_correct_scale"`
	LaurelRank              *int                       `json:"laurel_rank"`
	ActivationSparsity      []float64                  `json:"activation_sparsity_pattern"`
	NumKVSharedLayers       *int                       `json:"num_kv_shared_layers"`
	HiddenActivation        *string                    `json:"hidden_activation"`
	MaxPositionEmbeddings   *int                       `json:"max_position_embeddings"`
	TieWordEmbeddings       *bool                      `json:"tie_word_embeddings"`
	AttentionBias           *bool                      `json:"attention_bias"`
	PadTokenID              *int                       `json:"pad_token_id"`
	BOSTokenID              *int                       `json:"bos_token_id"`
	EOSTokenID              json.RawMessage            `json:"eos_token_id"`
	TorchDType              *string                    `json:"torch_dtype"`
	DType                   *string                    `json:"dtype"`
}

// rawTopConfig is the part of a multimodal Gemma3nConfig this package reads.
type rawTopConfig struct {
	ModelType  *string         `json:"model_type"`
	TextConfig json.RawMessage `json:"text_config"`
	EOSTokenID json.RawMessage `json:"eos_token_id"`
}

type rawRopeParameters struct {
	RopeType  *string  `json:"rope_type"`
	RopeTheta *float64 `json:"rope_theta"`
}

// ParseConfig parses (spec §1.2) the contents of a config.json: either a
// multimodal Gemma3nConfig (model_type "gemma3n", the text model in
// "text_config") or a plain Gemma3nTextConfig (model_type "gemma3n_text").
// Absent fields take HF's defaults; the result is validated (see
// Config.Validate).
func ParseConfig(data []byte) (*Config, error) {
	var top rawTopConfig
	if err := decodeStrict(data, &top); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	textData := data
	var extraEOS []int
	if len(top.TextConfig) > 0 && string(top.TextConfig) != "null" {
		if top.ModelType != nil && *top.ModelType != "gemma3n" {
			return nil, fmt.Errorf("config: model_type %q with a text_config: only Gemma 3n (\"gemma3n\") is supported", *top.ModelType)
		}
		textData = top.TextConfig
		ids, err := parseIntOrList(top.EOSTokenID)
		if err != nil {
			return nil, fmt.Errorf("config: eos_token_id: %w", err)
		}
		extraEOS = ids
	}
	where := "config"
	if len(top.TextConfig) > 0 && string(top.TextConfig) != "null" {
		where = "config: text_config"
	}
	var raw rawTextConfig
	if err := decodeStrict(textData, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	cfg, err := raw.toConfig()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	for _, id := range extraEOS {
		if !slices.Contains(cfg.EOSTokenIDs, id) {
			cfg.EOSTokenIDs = append(cfg.EOSTokenIDs, id)
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return cfg, nil
}

// decodeStrict decodes one JSON object, reporting syntax and type errors
// with their line and column and rejecting trailing data. Unknown fields are
// allowed: HF configs carry many keys this package does not need.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		pos, located := jsonpos.Of(data, err)
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typ):
			return fmt.Errorf("field %q at %v: expected %s, got JSON %s", typ.Field, pos, typ.Type, typ.Value)
		case located:
			return fmt.Errorf("invalid JSON at %v: %v", pos, err)
		}
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the JSON object")
	}
	return nil
}

// parseIntOrList reads a JSON int, a list of ints, or null/absent (nil).
func parseIntOrList(raw json.RawMessage) ([]int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one int
	if err := json.Unmarshal(raw, &one); err == nil {
		return []int{one}, nil
	}
	var list []int
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("want an integer or a list of integers, got %s", truncate(string(raw), 60))
	}
	return list, nil
}

// parseOptionalFloat reads a JSON number that null disables: an absent
// field is def, an explicit null 0 (off).
func parseOptionalFloat(raw json.RawMessage, def float64) (float64, error) {
	if len(raw) == 0 {
		return def, nil
	}
	if string(raw) == "null" {
		return 0, nil
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, fmt.Errorf("want a number or null, got %s", truncate(string(raw), 60))
	}
	return v, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func intOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

func (r *rawTextConfig) toConfig() (*Config, error) {
	if r.ModelType != nil && *r.ModelType != "gemma3n_text" && *r.ModelType != "gemma3n" {
		return nil, fmt.Errorf("model_type %q: only Gemma 3n text models (\"gemma3n_text\") are supported", *r.ModelType)
	}
	if r.AttentionBias != nil && *r.AttentionBias {
		return nil, errors.New("attention_bias true: Gemma 3n has no attention biases")
	}
	c := &Config{
		VocabSize:               intOr(r.VocabSize, defaultVocabSize),
		VocabSizePerLayerInput:  intOr(r.VocabSizePerLayerInput, defaultVocabSizePerLayerInput),
		HiddenSize:              intOr(r.HiddenSize, defaultHiddenSize),
		HiddenSizePerLayerInput: intOr(r.HiddenSizePerLayerInput, defaultHiddenSizePerLayerInput),
		NumHiddenLayers:         intOr(r.NumHiddenLayers, defaultNumHiddenLayers),
		NumAttentionHeads:       intOr(r.NumAttentionHeads, defaultNumAttentionHeads),
		NumKeyValueHeads:        intOr(r.NumKeyValueHeads, defaultNumKeyValueHeads),
		HeadDim:                 intOr(r.HeadDim, defaultHeadDim),
		SlidingWindow:           intOr(r.SlidingWindow, defaultSlidingWindow),
		RopeThetaFull:           defaultRopeThetaFull,
		RopeThetaSliding:        defaultRopeThetaSliding,
		RMSNormEps:              defaultRMSNormEps,
		AltUpNumInputs:          intOr(r.AltUpNumInputs, defaultAltUpNumInputs),
		AltUpActiveIdx:          intOr(r.AltUpActiveIdx, 0),
		AltUpCorrectScale:       true,
		LaurelRank:              intOr(r.LaurelRank, defaultLaurelRank),
		NumKVSharedLayers:       intOr(r.NumKVSharedLayers, defaultNumKVSharedLayers),
		HiddenActivation:        defaultHiddenActivation,
		MaxPositionEmbeddings:   intOr(r.MaxPositionEmbeddings, defaultMaxPositionEmbeddings),
		TieWordEmbeddings:       true,
		PadTokenID:              intOr(r.PadTokenID, defaultPadTokenID),
		BOSTokenID:              intOr(r.BOSTokenID, defaultBOSTokenID),
	}
	L := c.NumHiddenLayers
	if L <= 0 {
		return nil, fmt.Errorf("num_hidden_layers %d: must be positive", L)
	}
	if L > 1024 {
		return nil, fmt.Errorf("num_hidden_layers %d: implausibly large (max 1024)", L)
	}
	if r.RMSNormEps != nil {
		c.RMSNormEps = *r.RMSNormEps
	}
	if r.AltUpCorrectScale != nil {
		c.AltUpCorrectScale = *r.AltUpCorrectScale
	}
	if r.TieWordEmbeddings != nil {
		c.TieWordEmbeddings = *r.TieWordEmbeddings
	}
	if r.HiddenActivation != nil {
		c.HiddenActivation = *r.HiddenActivation
	}
	switch {
	case r.DType != nil:
		c.TorchDType = *r.DType
	case r.TorchDType != nil:
		c.TorchDType = *r.TorchDType
	}

	// Optional numbers that may be null (disabled).
	var err error
	if c.FinalLogitSoftcapping, err = parseOptionalFloat(r.FinalLogitSoftcapping, defaultFinalLogitSoftcapping); err != nil {
		return nil, fmt.Errorf("final_logit_softcapping: %w", err)
	}
	if c.AltUpCoefClip, err = parseOptionalFloat(r.AltUpCoefClip, defaultAltUpCoefClip); err != nil {
		return nil, fmt.Errorf("altup_coef_clip: %w", err)
	}

	// intermediate_size: a scalar or one value per layer.
	sizes, err := parseIntOrList(r.IntermediateSize)
	if err != nil {
		return nil, fmt.Errorf("intermediate_size: %w", err)
	}
	switch {
	case sizes == nil:
		c.IntermediateSize = repeat(defaultIntermediateSize, L)
	case len(r.IntermediateSize) > 0 && r.IntermediateSize[0] != '[':
		c.IntermediateSize = repeat(sizes[0], L)
	default:
		if len(sizes) != L {
			return nil, fmt.Errorf("intermediate_size: %d values for %d layers", len(sizes), L)
		}
		c.IntermediateSize = sizes
	}

	// layer_types and activation_sparsity_pattern: present, or derived by
	// HF's rules.
	c.LayerTypes = r.LayerTypes
	if c.LayerTypes == nil {
		c.LayerTypes = derivedLayerTypes(L)
	}
	c.ActivationSparsity = r.ActivationSparsity
	if c.ActivationSparsity == nil {
		c.ActivationSparsity = derivedActivationSparsity(L)
	}

	if err := r.parseRope(c); err != nil {
		return nil, err
	}

	eos, err := parseIntOrList(r.EOSTokenID)
	if err != nil {
		return nil, fmt.Errorf("eos_token_id: %w", err)
	}
	if len(r.EOSTokenID) == 0 {
		eos = []int{defaultEOSTokenID}
	}
	c.EOSTokenIDs = eos
	return c, nil
}

// parseRope reads the RoPE bases from either the flat v4 fields
// (rope_theta, rope_local_base_freq, rope_scaling) or the v5
// rope_parameters keyed by layer type. Only the "default" RoPE is supported.
func (r *rawTextConfig) parseRope(c *Config) error {
	if r.RopeTheta != nil {
		c.RopeThetaFull = *r.RopeTheta
	}
	if r.RopeLocalBaseFreq != nil {
		c.RopeThetaSliding = *r.RopeLocalBaseFreq
	}
	if len(r.RopeScaling) > 0 && string(r.RopeScaling) != "null" {
		var p rawRopeParameters
		if err := json.Unmarshal(r.RopeScaling, &p); err != nil {
			return fmt.Errorf("rope_scaling: want an object or null: %v", err)
		}
		if p.RopeType != nil && *p.RopeType != "default" {
			return fmt.Errorf("rope_scaling: rope_type %q is not supported (only \"default\")", *p.RopeType)
		}
	}
	if r.RopeParameters == nil {
		return nil
	}
	readOne := func(key string, raw json.RawMessage) (float64, bool, error) {
		var p rawRopeParameters
		if err := json.Unmarshal(raw, &p); err != nil {
			return 0, false, fmt.Errorf("rope_parameters.%s: want an object: %v", key, err)
		}
		if p.RopeType != nil && *p.RopeType != "default" {
			return 0, false, fmt.Errorf("rope_parameters.%s: rope_type %q is not supported (only \"default\")", key, *p.RopeType)
		}
		if p.RopeTheta == nil {
			return 0, false, nil
		}
		return *p.RopeTheta, true, nil
	}
	perType := false
	for _, lt := range []LayerType{FullAttention, SlidingAttention} {
		raw, ok := r.RopeParameters[string(lt)]
		if !ok {
			continue
		}
		perType = true
		theta, ok, err := readOne(string(lt), raw)
		if err != nil {
			return err
		}
		if ok {
			if lt == FullAttention {
				c.RopeThetaFull = theta
			} else {
				c.RopeThetaSliding = theta
			}
		}
	}
	if !perType {
		// A flat {"rope_type", "rope_theta"} object: one base for the full
		// layers, as rope_theta in the flat v4 layout.
		if raw, ok := r.RopeParameters["rope_type"]; ok {
			var t string
			if err := json.Unmarshal(raw, &t); err != nil || t != "default" {
				return fmt.Errorf("rope_parameters: rope_type %s is not supported (only \"default\")", truncate(string(raw), 40))
			}
		}
		if raw, ok := r.RopeParameters["rope_theta"]; ok {
			if err := json.Unmarshal(raw, &c.RopeThetaFull); err != nil {
				return fmt.Errorf("rope_parameters.rope_theta: want a number: %v", err)
			}
		}
	}
	return nil
}

// LoadConfig reads a config.json, given either the file or the model
// directory holding it. In a directory, the eos_token_id of a
// generation_config.json, if present, is added to EOSTokenIDs (the IT
// checkpoints stop on <end_of_turn> through it).
func LoadConfig(path string) (*Config, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("gemma3n config: %w", err)
	}
	dir := ""
	if info.IsDir() {
		dir = path
		path = filepath.Join(path, ConfigFileName)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gemma3n config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if dir == "" {
		dir = filepath.Dir(path)
	}
	genPath := filepath.Join(dir, GenerationConfigFileName)
	if genData, err := os.ReadFile(genPath); err == nil {
		var gen struct {
			EOSTokenID json.RawMessage `json:"eos_token_id"`
		}
		if err := decodeStrict(genData, &gen); err != nil {
			return nil, fmt.Errorf("%s: %w", genPath, err)
		}
		ids, err := parseIntOrList(gen.EOSTokenID)
		if err != nil {
			return nil, fmt.Errorf("%s: eos_token_id: %w", genPath, err)
		}
		for _, id := range ids {
			if id < 0 || id >= cfg.VocabSize {
				return nil, fmt.Errorf("%s: eos_token_id %d outside the vocabulary [0, %d)", genPath, id, cfg.VocabSize)
			}
			if !slices.Contains(cfg.EOSTokenIDs, id) {
				cfg.EOSTokenIDs = append(cfg.EOSTokenIDs, id)
			}
		}
	}
	return cfg, nil
}

// MarshalJSON writes c as a Hugging Face Gemma3nTextConfig (the layout
// transformers 5 saves: rope_parameters per layer type), so that a model
// directory written by this project loads in transformers.
func (c *Config) MarshalJSON() ([]byte, error) {
	softcap := any(c.FinalLogitSoftcapping)
	if c.FinalLogitSoftcapping == 0 {
		softcap = nil
	}
	clip := any(c.AltUpCoefClip)
	if c.AltUpCoefClip == 0 {
		clip = nil
	}
	var eos any = c.EOSTokenIDs
	if len(c.EOSTokenIDs) == 1 {
		eos = c.EOSTokenIDs[0]
	}
	m := map[string]any{
		"architectures":               []string{"Gemma3nForCausalLM"},
		"model_type":                  "gemma3n_text",
		"vocab_size":                  c.VocabSize,
		"vocab_size_per_layer_input":  c.VocabSizePerLayerInput,
		"hidden_size":                 c.HiddenSize,
		"hidden_size_per_layer_input": c.HiddenSizePerLayerInput,
		"intermediate_size":           c.IntermediateSize,
		"num_hidden_layers":           c.NumHiddenLayers,
		"num_attention_heads":         c.NumAttentionHeads,
		"num_key_value_heads":         c.NumKeyValueHeads,
		"head_dim":                    c.HeadDim,
		"layer_types":                 c.LayerTypes,
		"sliding_window":              c.SlidingWindow,
		"rope_parameters": map[string]any{
			string(FullAttention):    map[string]any{"rope_type": "default", "rope_theta": c.RopeThetaFull},
			string(SlidingAttention): map[string]any{"rope_type": "default", "rope_theta": c.RopeThetaSliding},
		},
		"rms_norm_eps":                c.RMSNormEps,
		"final_logit_softcapping":     softcap,
		"altup_num_inputs":            c.AltUpNumInputs,
		"altup_active_idx":            c.AltUpActiveIdx,
		"altup_coef_clip":             clip,
		"altup_correct_scale":         c.AltUpCorrectScale,
		"laurel_rank":                 c.LaurelRank,
		"activation_sparsity_pattern": c.ActivationSparsity,
		"num_kv_shared_layers":        c.NumKVSharedLayers,
		"hidden_activation":           c.HiddenActivation,
		"max_position_embeddings":     c.MaxPositionEmbeddings,
		"tie_word_embeddings":         c.TieWordEmbeddings,
		"attention_bias":              false,
		"attention_dropout":           0.0,
		"pad_token_id":                c.PadTokenID,
		"bos_token_id":                c.BOSTokenID,
		"eos_token_id":                eos,
	}
	if c.TorchDType != "" {
		m["dtype"] = c.TorchDType
	}
	return json.MarshalIndent(m, "", "  ")
}
