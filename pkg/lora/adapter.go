package lora

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // the GoMLX idiom for graph code
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
)

// Names of the adapter variables, stored in the scope of the adapted linear
// layer next to its base "weight" (e.g. /layers/3/self_attn/q_proj/lora_A).
const (
	VarA = "lora_A" // [r, in], float32, trainable
	VarB = "lora_B" // [out, r], float32, trainable
)

// ParamBaseOnly is the graph parameter (see Adapter.WithBase) under which
// the adapters act as identities: the graph computes the base model.
const ParamBaseOnly = "lora_base_only"

// Module is one adapted linear layer.
type Module struct {
	// Name is the module path, e.g. "layers.3.self_attn.q_proj".
	Name string
	// In and Out are the layer's sizes (its base weight is [Out, In]).
	In, Out int
	// Rank and Alpha of this module's update, and Scale = Alpha/Rank
	// (Alpha/√Rank with rsLoRA).
	Rank  int
	Alpha float64
	Scale float64
}

// NumParameters is the size of A and B.
func (m Module) NumParameters() int64 { return int64(m.Rank) * int64(m.In+m.Out) }

// Adapter holds LoRA adapters installed on a model: for every adapted
// linear layer, y = x·Wᵀ + s·dropout(x)·Aᵀ·Bᵀ, with W frozen and A, B
// trainable float32 variables of the model's store.
//
// The low-rank path runs in float32 whatever the model dtype (as PEFT does
// with float32 adapter weights: it casts the input to the adapter dtype),
// and its sum with the base output is cast back to the model dtype.
type Adapter struct {
	model    *gemma3n.Model
	cfg      Config
	modules  []Module
	index    map[string]int
	warnings []string
	disabled atomic.Bool

	// Layout is the tensor naming Save uses: the layout of the file a
	// loaded adapter came from, LayoutCausalLM for a new one.
	Layout Layout

	// peft holds the adapter_config.json fields of a loaded adapter, kept
	// as they were when saving it again.
	peft map[string]json.RawMessage
}

// New creates adapters on the linear layers of model selected by
// cfg.TargetModules, with PEFT's initialisation: A from kaiming-uniform
// (a=√5), i.e. U(−1/√in, 1/√in), drawn from cfg.Seed; B zero, so the
// adapted model starts equal to the base model. It installs the adapter as
// model.Linear.
//
// Targets that select the K/V projections of KV-shared layers (never used
// by the forward pass) are skipped with a warning (see Warnings). A target
// entry that selects no linear layer at all is an error, as is a model that
// already carries adapter variables.
func New(model *gemma3n.Model, cfg Config) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	match, _ := newMatcher(cfg.TargetModules)
	a := newAdapter(model, cfg)
	mods := linearModules(model.Config)
	var dead []string
	for _, e := range match.entries {
		if !slices.ContainsFunc(mods, func(m linearModule) bool { return e.matches(m.name) }) {
			return nil, fmt.Errorf("lora: target_modules entry %q selects no linear layer of the model (module paths look like %q)",
				e.text, "layers.0.self_attn.q_proj")
		}
	}
	values := map[string][2]*tensors.Tensor{}
	for _, m := range mods {
		if !match.matches(m.name) {
			continue
		}
		if m.dead {
			dead = append(dead, m.name)
			continue
		}
		r, alpha := cfg.rankAndAlpha(m.name)
		a.addModule(m, r, alpha)
		values[m.name] = [2]*tensors.Tensor{kaimingUniformA(cfg.Seed, m.name, r, m.in), zeros(m.out, r)}
	}
	if len(dead) > 0 {
		a.warnf("skipped %d K/V projection(s) of KV-shared layers (the forward pass never uses them): %s",
			len(dead), summarizeNames(dead))
	}
	if len(a.modules) == 0 {
		return nil, fmt.Errorf("lora: target_modules %q select only unused K/V projections of KV-shared layers", cfg.TargetModules)
	}
	if err := a.install(values); err != nil {
		return nil, err
	}
	return a, nil
}

func newAdapter(model *gemma3n.Model, cfg Config) *Adapter {
	return &Adapter{model: model, cfg: cfg, index: map[string]int{}, Layout: LayoutCausalLM}
}

func (a *Adapter) addModule(m linearModule, r int, alpha float64) {
	a.index[m.name] = len(a.modules)
	a.modules = append(a.modules, Module{
		Name: m.name, In: m.in, Out: m.out, Rank: r, Alpha: alpha,
		Scale: Scale(alpha, r, a.cfg.UseRSLoRA),
	})
}

func (a *Adapter) warnf(format string, args ...any) {
	a.warnings = append(a.warnings, fmt.Sprintf(format, args...))
}

// summarizeNames lists up to 6 names, then a count.
func summarizeNames(names []string) string {
	if len(names) <= 6 {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:6], ", ") + fmt.Sprintf(" and %d more", len(names)-6)
}

// kaimingUniformA draws A [r, in] from U(−1/√in, 1/√in): PEFT's
// kaiming_uniform_(a=√5), whose bound is gain·√(3/in) with gain = √(2/(1+5)).
// Each module has its own stream, seeded by seed and its path.
func kaimingUniformA(seed uint64, module string, r, in int) *tensors.Tensor {
	h := fnv.New64a()
	_, _ = h.Write([]byte(module))
	rng := rand.New(rand.NewPCG(seed, h.Sum64()))
	bound := 1 / math.Sqrt(float64(in))
	values := make([]float32, r*in)
	for i := range values {
		values[i] = float32((2*rng.Float64() - 1) * bound)
	}
	return tensors.FromFlatDataAndDimensions(values, r, in)
}

func zeros(dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return tensors.FromFlatDataAndDimensions(make([]float32, n), dims...)
}

// variablePath is the store path of an adapter variable (VarA or VarB) of
// a module: it lives next to the module's base weight.
func variablePath(module, name string) string {
	return gemma3n.VariablePath(module) + "/" + name
}

// install creates the A and B variables of every module with the given
// float32 values and makes the adapter the model's linear function.
func (a *Adapter) install(values map[string][2]*tensors.Tensor) error {
	store := a.model.Store
	for _, m := range a.modules {
		for _, name := range []string{VarA, VarB} {
			if path := variablePath(m.Name, name); store.GetVariable(path) != nil {
				return fmt.Errorf("lora: the model already has adapter variable %s (an adapter was applied to it before)", path)
			}
		}
		if a.model.WeightVariable(m.Name+".weight") == nil {
			return fmt.Errorf("lora: the model has no weight %s.weight", m.Name)
		}
	}
	for _, m := range a.modules {
		v := values[m.Name]
		store.VariableWithValue(variablePath(m.Name, VarA), v[0]).SetTrainable(true)
		store.VariableWithValue(variablePath(m.Name, VarB), v[1]).SetTrainable(true)
	}
	a.model.Linear = a.Linear
	return nil
}

// Model returns the model the adapter is installed on.
func (a *Adapter) Model() *gemma3n.Model { return a.model }

// Config returns the adapter's configuration.
func (a *Adapter) Config() Config { return a.cfg }

// Modules lists the adapted linear layers in the model's order.
func (a *Adapter) Modules() []Module { return slices.Clone(a.modules) }

// Warnings lists what was skipped when the adapter was created or loaded
// (dead K/V targets, tensors of the vision or audio towers). Callers should
// show them to the user.
func (a *Adapter) Warnings() []string { return slices.Clone(a.warnings) }

// NumTrainable is the number of adapter parameters: Σ r·(in + out).
func (a *Adapter) NumTrainable() int64 {
	var n int64
	for _, m := range a.modules {
		n += m.NumParameters()
	}
	return n
}

// Summary is PEFT's print_trainable_parameters line, e.g.
// "trainable params: 9,216 || all params: 360,832 || trainable%: 2.5541".
func (a *Adapter) Summary() string {
	trainable := a.NumTrainable()
	all := a.model.Config.NumParameters() + trainable
	return fmt.Sprintf("trainable params: %s || all params: %s || trainable%%: %.4f",
		groupThousands(trainable), groupThousands(all), 100*float64(trainable)/float64(all))
}

func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Variables returns the A and B variables of an adapted module (nil, nil
// if the module has no adapter).
func (a *Adapter) Variables(module string) (varA, varB *model.Variable) {
	if _, ok := a.index[module]; !ok {
		return nil, nil
	}
	store := a.model.Store
	return store.GetVariable(variablePath(module, VarA)), store.GetVariable(variablePath(module, VarB))
}

// SetEnabled switches the adapters on or off for graphs built afterwards:
// disabled, the model computes the base model. A graph already compiled by
// an Exec keeps what it was built with; build a new Exec after switching.
// To compute both the adapted and the base model in one graph (DPO's
// reference), use WithBase.
func (a *Adapter) SetEnabled(enabled bool) { a.disabled.Store(!enabled) }

// Enabled reports whether the adapters are switched on (see SetEnabled).
func (a *Adapter) Enabled() bool { return !a.disabled.Load() }

// WithBase runs build (which builds part of graph g with scope, a scope of
// the model's store) with the adapters acting as identities: the layers it builds
// compute the base model. It affects only g, so other graphs being built
// concurrently are unaffected. Outputs built inside carry no gradient to
// the adapters.
func (a *Adapter) WithBase(scope *model.Scope, g *Graph, build func()) {
	root := scope.Store().RootScope()
	prev := model.GetGraphParamOr(root, g, ParamBaseOnly, false)
	root.SetGraphParam(g, ParamBaseOnly, true)
	defer root.SetGraphParam(g, ParamBaseOnly, prev)
	build()
}

// active reports whether adapters apply in graph g.
func (a *Adapter) active(scope *model.Scope, g *Graph) bool {
	return !a.disabled.Load() && !model.GetGraphParamOr(scope, g, ParamBaseOnly, false)
}

// Linear is the adapter's gemma3n.LinearFn (installed as model.Linear):
// the base layer plus, for adapted modules, s·dropout(x)·Aᵀ·Bᵀ. scope must
// be in the module's scope, where A and B live.
func (a *Adapter) Linear(scope *model.Scope, module string, x, weight *Node) *Node {
	y := gemma3n.Linear(x, weight)
	i, ok := a.index[module]
	if !ok {
		return y
	}
	g := x.Graph()
	if !a.active(scope, g) {
		return y
	}
	m := a.modules[i]
	varA, varB := scope.GetVariable(VarA), scope.GetVariable(VarB)
	if varA == nil || varB == nil {
		panic(fmt.Sprintf("lora: adapter variables of %s not found in scope %q", module, scope.Scope()))
	}
	h := ConvertDType(x, dtypes.Float32)
	h = dropout(scope, h, a.cfg.Dropout)
	h = gemma3n.Linear(gemma3n.Linear(h, varA.NodeValue(g)), varB.NodeValue(g))
	h = MulScalar(h, m.Scale)
	return ConvertDType(Add(ConvertDType(y, dtypes.Float32), h), y.DType())
}

// Detach restores the model's plain linear layers. The adapter variables
// stay in the store (unused); the adapter can be installed again with
// Attach.
func (a *Adapter) Detach() { a.model.Linear = gemma3n.DefaultLinear }

// Attach installs the adapter as the model's linear function again.
func (a *Adapter) Attach() { a.model.Linear = a.Linear }

// dropout zeroes each value of x with probability rate and scales the
// others by 1/(1−rate), in training graphs only (Scope.IsTraining), as
// PEFT's nn.Dropout. The mask comes from the store's random generator,
// whose state the trainer checkpoints.
func dropout(scope *model.Scope, x *Node, rate float64) *Node {
	g := x.Graph()
	if rate <= 0 || !scope.IsTraining(g) {
		return x
	}
	u := scope.RandomUniform(g, shapes.Make(x.DType(), x.Shape().Dimensions...)) // [0, 1)
	keep := GreaterOrEqual(u, Scalar(g, x.DType(), rate))
	return Where(keep, MulScalar(x, 1/(1-rate)), ZerosLike(x))
}
