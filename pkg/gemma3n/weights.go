package gemma3n

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
)

// initKind says how NewRandom initialises a tensor.
type initKind int

const (
	initNormal initKind = iota // N(0, initStd): embeddings and linear layers
	initOnes                   // norm weights and the AltUp output scale
)

// initStd is HF's initializer_range for Gemma 3n.
const initStd = 0.02

// WeightSpec is one tensor of the text model: its HF name without prefix
// (e.g. "layers.0.self_attn.q_proj.weight") and its shape.
type WeightSpec struct {
	Name  string
	Shape []int
	// Module is the module path of a linear layer's weight, the one
	// Model.Linear receives ("layers.0.self_attn.q_proj"); "" for the other
	// tensors (embeddings, norms, scales).
	Module string
	init   initKind
	clip   bool   // clipped to ±altup_coef_clip when loaded (the AltUp coefficients)
	dims   string // the shape in the config's symbols (the field's shape tag)
}

// Weights lists every tensor the model uses (spec §2), in a stable order
// (model-level tensors, then each layer; within a block, the order of its
// struct's fields). KV-shared layers have no k_proj, v_proj or k_norm (the
// checkpoint may carry them; they are never used), and the LM head is tied to
// embed_tokens.
func (c *Config) Weights() []WeightSpec {
	_, specs := newTextModel(c)
	return specs
}

// NumParameters is the number of values in Weights.
func (c *Config) NumParameters() int64 {
	var total int64
	for _, s := range c.Weights() {
		n := int64(1)
		for _, d := range s.Shape {
			n *= int64(d)
		}
		total += n
	}
	return total
}

// unusedWeights lists tensors a checkpoint may carry that the model accepts
// and ignores, with their expected shapes: the K/V projections and k_norm
// of KV-shared layers (present in the official checkpoint) and an untied
// copy of the LM head.
func (c *Config) unusedWeights() map[string][]int {
	dims := configDimensions(c)
	specs := fillWeights(&untiedHead{}, "", c, dims)
	for l := c.FirstKVSharedLayer(); l < c.NumHiddenLayers; l++ {
		specs = append(specs, fillWeights(&keyValueProjections{}, layerPrefix(l)+"self_attn", c, dims)...)
	}
	out := map[string][]int{}
	for _, s := range specs {
		out[s.Name] = s.Shape
	}
	return out
}

// untiedHead is the LM head some checkpoints carry although Gemma 3n ties
// it to embed_tokens.
type untiedHead struct {
	Head linear `hf:"lm_head" shape:"V,D"`
}

// Checkpoint name prefixes: the official multimodal checkpoint stores the
// text model under "model.language_model."; a text model saved by
// transformers' Gemma3nForCausalLM uses "model.".
const (
	multimodalPrefix = "model.language_model."
	textPrefix       = "model."
)

// nonTextModules are the multimodal parts under "model." that the text
// decoder skips (never read).
var nonTextModules = []string{"vision_tower.", "audio_tower.", "embed_vision.", "embed_audio."}

// TextTensorName maps a checkpoint tensor name to the text model's name
// (without prefix). ok is false for tensors of other modules (vision and
// audio towers, their embedders) and for names outside the model.
func TextTensorName(checkpointName string) (name string, ok bool) {
	switch {
	case checkpointName == "lm_head.weight":
		return checkpointName, true
	case strings.HasPrefix(checkpointName, multimodalPrefix):
		return strings.TrimPrefix(checkpointName, multimodalPrefix), true
	case strings.HasPrefix(checkpointName, textPrefix):
		rest := strings.TrimPrefix(checkpointName, textPrefix)
		for _, m := range nonTextModules {
			if strings.HasPrefix(rest, m) {
				return "", false
			}
		}
		return rest, true
	}
	return "", false
}

// weightSource is the subset of *safetensors.Checkpoint the loader needs.
type weightSource interface {
	Names() []string
	Info(name string) (safetensors.TensorInfo, bool)
	// ReadInto converts a tensor into dst (little-endian values of dstType).
	ReadInto(name string, dst []byte, dstType safetensors.DType) error
}

// resolveCheckpoint maps the text model's expected tensors onto checkpoint
// names, checking that every expected tensor is present exactly once with
// its shape, that ignored tensors have plausible shapes, and that no text
// tensor is unknown. It reads headers only.
func resolveCheckpoint(cfg *Config, src weightSource) (map[string]string, error) {
	expected := map[string][]int{}
	for _, s := range cfg.Weights() {
		expected[s.Name] = s.Shape
	}
	unused := cfg.unusedWeights()
	found := map[string]string{} // text name → checkpoint name
	for _, ckName := range src.Names() {
		name, ok := TextTensorName(ckName)
		if !ok {
			continue
		}
		shape, isExpected := expected[name]
		if !isExpected {
			var isUnused bool
			if shape, isUnused = unused[name]; !isUnused {
				return nil, fmt.Errorf("tensor %q is not part of the Gemma 3n text model described by the config (wrong config?)", ckName)
			}
		}
		if prev, dup := found[name]; dup {
			return nil, fmt.Errorf("tensor %q appears twice, as %q and %q", name, prev, ckName)
		}
		info, _ := src.Info(ckName)
		if !slices.Equal(info.Shape, shape) {
			return nil, fmt.Errorf("tensor %q has shape %v, the config implies %v", ckName, info.Shape, shape)
		}
		found[name] = ckName
	}
	var missing []string
	for _, s := range cfg.Weights() {
		if _, ok := found[s.Name]; !ok {
			missing = append(missing, s.Name)
		}
	}
	if len(missing) > 0 {
		more := ""
		if len(missing) > 5 {
			more = fmt.Sprintf(" and %d more", len(missing)-5)
			missing = missing[:5]
		}
		return nil, fmt.Errorf("missing tensor(s) %s%s (looked for them under %q or %q)",
			strings.Join(missing, ", "), more, multimodalPrefix, textPrefix)
	}
	for name := range unused {
		delete(found, name)
	}
	return found, nil
}

// newModel returns a model with an empty context.
func newModel(cfg *Config, dtype dtypes.DType) (*Model, error) {
	if dtype != dtypes.Float32 && dtype != dtypes.BFloat16 {
		return nil, fmt.Errorf("gemma3n: weights must be float32 or bfloat16, not %s", dtype)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("gemma3n: %w", err)
	}
	return &Model{Config: cfg, Store: model.NewStore(), DType: dtype, Linear: DefaultLinear}, nil
}

// setWeight stores t as the frozen variable of the HF tensor name.
func (m *Model) setWeight(name string, t *tensors.Tensor) {
	m.Store.VariableWithValue(VariablePath(name), t).SetTrainable(false)
}

// WeightVariable returns the context variable holding the HF tensor name
// (without prefix), or nil.
func (m *Model) WeightVariable(name string) *model.Variable {
	return m.Store.GetVariable(VariablePath(name))
}

// Load reads (spec §2.4) a Hugging Face Gemma 3n checkpoint directory
// (config.json plus model.safetensors or a sharded index) with weights
// converted to dtype (Float32 or BFloat16). Only text tensors are read; vision
// and audio tensors are skipped, unused K/V tensors of shared layers and an
// untied lm_head are accepted and ignored. The AltUp coefficients are clipped
// to ±altup_coef_clip. The weights stay on the host; LoadWith places them on a
// backend as they are read.
func Load(dir string, dtype dtypes.DType) (*Model, error) {
	return LoadWith(dir, dtype, WeightOptions{})
}

// LoadWith is Load with the weights placed as opts say: tensor by tensor,
// converted straight from the memory-mapped files into their final
// storage, so loading needs no second copy of the model.
func LoadWith(dir string, dtype dtypes.DType, opts WeightOptions) (*Model, error) {
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	ckpt, err := safetensors.OpenCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	defer func() { _ = ckpt.Close() }()
	m, err := loadWeights(cfg, ckpt, dtype, opts)
	if err != nil {
		return nil, fmt.Errorf("gemma3n: %s: %w", dir, err)
	}
	return m, nil
}

func loadWeights(cfg *Config, src weightSource, dtype dtypes.DType, opts WeightOptions) (*Model, error) {
	m, err := newModel(cfg, dtype)
	if err != nil {
		return nil, err
	}
	names, err := resolveCheckpoint(cfg, src)
	if err != nil {
		return nil, err
	}
	stType, _ := safetensors.FromGoMLX(dtype)
	specs := cfg.Weights()
	p := newPlacer(opts, specs, dtype)
	for _, spec := range specs {
		t, err := p.place(shapes.Make(dtype, spec.Shape...), func(dst []byte) error {
			if err := src.ReadInto(names[spec.Name], dst, stType); err != nil {
				return err
			}
			if spec.clip && cfg.AltUpCoefClip > 0 {
				return clipBytes(dst, dtype, float32(cfg.AltUpCoefClip))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		m.setWeight(spec.Name, t)
	}
	return m, nil
}

// NewRandom returns a model with freshly initialised weights (deterministic
// in seed): embeddings and linear layers from N(0, 0.02), norm weights and
// the AltUp output scales at 1 (HF's zero init of correct_output_scale
// would silence the per-layer inputs).
func NewRandom(cfg *Config, dtype dtypes.DType, seed uint64) (*Model, error) {
	return NewRandomWith(cfg, dtype, seed, WeightOptions{})
}

// NewRandomWith is NewRandom with the weights placed as opts say, drawn
// tensor by tensor into their final storage.
func NewRandomWith(cfg *Config, dtype dtypes.DType, seed uint64, opts WeightOptions) (*Model, error) {
	m, err := newModel(cfg, dtype)
	if err != nil {
		return nil, err
	}
	specs := cfg.Weights()
	p := newPlacer(opts, specs, dtype)
	for _, spec := range specs {
		t, err := p.place(shapes.Make(dtype, spec.Shape...), func(dst []byte) error {
			drawRandom(dst, spec, dtype, seed)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("gemma3n: random weight %s: %w", spec.Name, err)
		}
		m.setWeight(spec.Name, t)
	}
	return m, nil
}

// drawRandom fills dst (values of dtype) with the tensor's initial values.
// Each tensor has its own random streams (seeded by seed, its name and the
// chunk) so that adding a tensor does not change the others; large tensors
// are drawn in parallel chunks.
func drawRandom(dst []byte, spec WeightSpec, dtype dtypes.DType, seed uint64) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(spec.Name))
	nameHash := h.Sum64()
	draw := func(chunk int, n int, set func(i int, v float32)) {
		if spec.init == initOnes {
			for i := range n {
				set(i, 1)
			}
			return
		}
		rng := rand.New(rand.NewPCG(seed, nameHash+uint64(chunk)*0x9e3779b97f4a7c15))
		for i := range n {
			set(i, float32(rng.NormFloat64()*initStd))
		}
	}
	switch dtype {
	case dtypes.Float32:
		flat := float32s(dst)
		parallelChunks(len(flat), func(chunk, lo, hi int) {
			part := flat[lo:hi]
			draw(chunk, len(part), func(i int, v float32) { part[i] = v })
		})
	case dtypes.BFloat16:
		flat := bfloat16s(dst)
		parallelChunks(len(flat), func(chunk, lo, hi int) {
			part := flat[lo:hi]
			draw(chunk, len(part), func(i int, v float32) { part[i] = bfloat16.FromFloat32(v) })
		})
	}
}

// randomChunk is the number of values one random stream draws.
const randomChunk = 1 << 20

// parallelChunks calls fn for consecutive chunks of [0, n), concurrently.
func parallelChunks(n int, fn func(chunk, lo, hi int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for chunk, lo := 0, 0; lo < n; chunk, lo = chunk+1, lo+randomChunk {
		hi := min(lo+randomChunk, n)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(chunk, lo, hi)
		}()
	}
	wg.Wait()
}

// Open returns the model named by model: a built-in preset name (see
// Preset) unless a file or directory of that name exists, else a
// checkpoint directory (see Load). A pretrained preset (mini) has its
// embedded weights; the others (tiny, e2b) random weights with seed 0.
func Open(model string, dtype dtypes.DType) (*Model, error) {
	return OpenWith(model, dtype, WeightOptions{})
}

// OpenWith is Open with the weights placed as opts say.
func OpenWith(model string, dtype dtypes.DType, opts WeightOptions) (*Model, error) {
	if model == "" {
		return nil, errors.New("gemma3n: no model given (a checkpoint directory or a preset: " + strings.Join(PresetNames(), ", ") + ")")
	}
	if IsPreset(model) {
		if _, err := os.Stat(model); err != nil {
			if IsPretrainedPreset(model) {
				return openPretrained(model, dtype, opts)
			}
			cfg, _ := Preset(model)
			return NewRandomWith(cfg, dtype, 0, opts)
		}
	}
	return LoadWith(model, dtype, opts)
}
