package gemma3n

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
)

// The model's weights (spec §2.1) are fields of one struct per block
// (textModel, perLayerEmbedding, altUpStreams, decoderLayer, selfAttention,
// keyValueProjections, mlp, altUp, laurel, perLayerInput), in the manner of
// Ollama's model definitions. Each weight field carries two tags:
//
//   - hf: its Hugging Face name relative to the block: the module of a
//     linear layer, norm or embedding (whose tensor is module + ".weight"),
//     or the tensor itself for a scale. A nested block's tag is the module
//     path it adds ("self_attn"; "" adds nothing); a slice of blocks or
//     weights numbers its elements ("layers.3", "altup_projections.0").
//     Options after a comma: "clip" (clipped to ±altup_coef_clip when
//     loaded) and, on the layer slice, "layer" (element i is decoder layer
//     i, whose MLP width is intermediate_size[i]).
//   - shape: its dimensions, comma-separated products of the config's
//     symbols (see dimensions), e.g. "Hq*d,D".
//
// newTextModel walks the structs once and fills in every weight's full
// name and shape; Config.Weights lists them (the loader's manifest, Save's
// file, NewRandom's tensors) and the forward pass reads the same fields.
// A name is thus written once, beside the code that uses it, and a weight
// the forward pass reads cannot be missing from what was loaded.

// weight is one tensor of the model: its Hugging Face name (without
// checkpoint prefix) and its shape. The typed kinds below say how the
// forward pass uses it and how NewRandom initialises it.
type weight struct {
	name  string
	shape []int
}

func (w *weight) setWeight(v weight) { *w = v }

type (
	// linear is a linear layer, weight [out, in], applied through
	// Model.Linear (spec §3, "Lin").
	linear struct{ weight }
	// norm is the weight [dim] of an RMSNorm.
	norm struct{ weight }
	// embedding is a lookup table [rows, width].
	embedding struct{ weight }
	// scale is a per-channel factor [dim], named by the tensor itself.
	scale struct{ weight }
)

// weightKind says, per kind, what the tag names and how NewRandom
// initialises the tensor.
type weightKind struct {
	suffix string // appended to the tag's path to name the tensor
	init   initKind
}

// kindOf returns the kind of a weight field's type; ok is false for any
// other type.
func kindOf(t reflect.Type) (kind weightKind, ok bool) {
	switch t {
	case reflect.TypeFor[linear](), reflect.TypeFor[embedding]():
		return weightKind{".weight", initNormal}, true
	case reflect.TypeFor[norm]():
		return weightKind{".weight", initOnes}, true
	case reflect.TypeFor[scale]():
		return weightKind{"", initOnes}, true
	}
	return weightKind{}, false
}

// module is the linear layer's HF module path ("layers.3.self_attn.q_proj").
func (l linear) module() string { return strings.TrimSuffix(l.name, ".weight") }

// dimensions are the values of the shape tags' symbols for one
// configuration (and, inside a decoder layer, that layer).
type dimensions map[string]int

func configDimensions(c *Config) dimensions {
	return dimensions{
		"V":   c.VocabSize,               // embed_tokens rows
		"Vp":  c.VocabSizePerLayerInput,  // embed_tokens_per_layer rows
		"D":   c.HiddenSize,              // model width
		"P":   c.HiddenSizePerLayerInput, // per-layer input width
		"L":   c.NumHiddenLayers,         // layers
		"n":   c.AltUpNumInputs,          // AltUp streams
		"R":   c.LaurelRank,              // LAuReL rank
		"Hq":  c.NumAttentionHeads,       // query heads
		"Hkv": c.NumKeyValueHeads,        // key/value heads
		"d":   c.HeadDim,                 // head width
	}
}

// forLayer adds the symbols of decoder layer l: F, its MLP width.
func (d dimensions) forLayer(c *Config, l int) dimensions {
	out := make(dimensions, len(d)+1)
	for k, v := range d {
		out[k] = v
	}
	out["F"] = c.IntermediateSize[l]
	return out
}

// shape evaluates a shape tag.
func (d dimensions) shape(tag string) []int {
	var dims []int
	for _, dim := range strings.Split(tag, ",") {
		size := 1
		for _, sym := range strings.Split(dim, "*") {
			v, ok := d[strings.TrimSpace(sym)]
			if !ok {
				panic(fmt.Sprintf("gemma3n: shape tag %q: unknown symbol %q", tag, sym))
			}
			size *= v
		}
		dims = append(dims, size)
	}
	return dims
}

// fillWeights sets the name and shape of every weight in block (a pointer
// to a block struct) under the module path prefix ("" at the top), and
// returns their specs in field order. Nil pointers (absent sub-blocks) are
// skipped, fields without an hf tag are not weights.
func fillWeights(block any, prefix string, c *Config, dims dimensions) []WeightSpec {
	var specs []WeightSpec
	var walk func(v reflect.Value, path, opts, shapeTag string, dims dimensions)
	walk = func(v reflect.Value, path, opts, shapeTag string, dims dimensions) {
		if kind, ok := kindOf(v.Type()); ok {
			if shapeTag == "" {
				panic(fmt.Sprintf("gemma3n: weight %s has no shape tag", path))
			}
			w := weight{name: path + kind.suffix, shape: dims.shape(shapeTag)}
			v.Addr().Interface().(interface{ setWeight(weight) }).setWeight(w)
			spec := WeightSpec{Name: w.name, Shape: w.shape, init: kind.init, clip: opts == "clip", dims: shapeTag}
			if v.Type() == reflect.TypeFor[linear]() {
				spec.Module = path
			}
			specs = append(specs, spec)
			return
		}
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem(), path, opts, shapeTag, dims)
			}
		case reflect.Slice:
			for i := range v.Len() {
				elemDims := dims
				if opts == "layer" {
					elemDims = dims.forLayer(c, i)
				}
				walk(v.Index(i), join(path, strconv.Itoa(i)), "", shapeTag, elemDims)
			}
		case reflect.Struct:
			t := v.Type()
			for i := range t.NumField() {
				tag, ok := t.Field(i).Tag.Lookup("hf")
				if !ok {
					continue
				}
				name, fieldOpts, _ := strings.Cut(tag, ",")
				walk(v.Field(i), join(path, name), fieldOpts, t.Field(i).Tag.Get("shape"), dims)
			}
		default:
			panic(fmt.Sprintf("gemma3n: field %s of type %s is not a weight or a block", path, v.Type()))
		}
	}
	walk(reflect.ValueOf(block).Elem(), prefix, "", "", dims)
	return specs
}

// join appends a name element to an HF path.
func join(path, elem string) string {
	switch {
	case elem == "":
		return path
	case path == "":
		return elem
	}
	return path + "." + elem
}

// node returns the graph node of the weight. A missing variable is a
// loading error (a store that does not hold this configuration's
// weights): it panics with the tensor name, which GoMLX's Exec turns into
// an error.
func (w weight) node(f *forward) *Node {
	v := f.scope.Store().GetVariable(VariablePath(w.name))
	if v == nil {
		panic(fmt.Sprintf("gemma3n: weight %q not found in the model store (path %q)", w.name, VariablePath(w.name)))
	}
	return v.NodeValue(f.g)
}

// forward applies the linear layer to x [..., in] through Model.Linear.
func (l linear) forward(f *forward, x *Node) *Node {
	fn := f.m.Linear
	if fn == nil {
		fn = DefaultLinear
	}
	module := l.module()
	return fn(moduleScope(f.scope, module), module, x, l.node(f))
}

// forward applies the RMSNorm with this weight to x (see rmsNorm).
func (n norm) forward(f *forward, x *Node) *Node { return f.rmsNorm(x, n.node(f)) }
