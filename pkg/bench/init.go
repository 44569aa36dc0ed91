package bench

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // the GoMLX idiom for graph code
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
)

// InitStd is the standard deviation of the random weights (HF's
// initializer_range for Gemma 3n, as gemma3n.NewRandom uses).
const InitStd = 0.02

// RandomModel returns a model of cfg whose weights are drawn on the
// backend's device, deterministically in seed: matrices from N(0, InitStd²),
// vectors (norm weights, the AltUp output scales) at 1, as gemma3n.NewRandom
// does. The values differ from NewRandom's (a different generator), but a
// float32 and a bfloat16 model of the same seed hold the same weights up to
// rounding.
//
// Every weight is a function of its tensor name, its element index and the
// seed, computed inside one graph per distinct layer layout, so XLA fills
// the device memory directly and nothing of the size of the model passes
// through the host.
func RandomModel(b compute.Backend, cfg *gemma3n.Config, dtype dtypes.DType, seed uint64) (*gemma3n.Model, error) {
	return randomModel(b, cfg, dtype, seed, nil)
}

// randomModel is RandomModel, logging every group of weights to log (nil:
// silent) so that a slow initialisation shows where it is.
func randomModel(b compute.Backend, cfg *gemma3n.Config, dtype dtypes.DType, seed uint64, log *slog.Logger) (*gemma3n.Model, error) {
	log = orDiscard(log)
	if dtype != dtypes.Float32 && dtype != dtypes.BFloat16 {
		return nil, fmt.Errorf("bench: weights must be float32 or bfloat16, not %s", dtype)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	m := &gemma3n.Model{Config: cfg, Store: model.NewStore(), DType: dtype, Linear: gemma3n.DefaultLinear}
	groups, order := groupWeights(cfg.Weights())
	execs := map[string]*Exec{}
	defer func() {
		for _, e := range execs {
			e.Finalize()
		}
	}()
	start := time.Now()
	done, total := 0, 0
	for _, key := range order {
		total += len(groups[key])
	}
	log.Info("bench: drawing random weights on the device", "params", cfg.NumParameters(), "dtype", dtypeName(dtype), "graphs", len(order), "groups", total)
	for _, key := range order {
		for _, group := range groups[key] {
			groupStart := time.Now()
			exec := execs[key]
			if exec == nil {
				specs := group
				var err error
				exec, err = NewExec(b, func(seeds []*Node) []*Node { return randomWeights(seeds, specs, dtype) })
				if err != nil {
					return nil, fmt.Errorf("bench: random weights: %w", err)
				}
				execs[key] = exec
			}
			seeds := make([]any, len(group))
			for i, spec := range group {
				if n := numElements(spec.Shape); n >= math.MaxUint32 {
					return nil, fmt.Errorf("bench: weight %s has %d values, more than the generator indexes (2³²−1)", spec.Name, n)
				}
				seeds[i] = tensorSeed(seed, spec.Name)
			}
			outs, err := callExec(exec, seeds)
			if err != nil {
				return nil, fmt.Errorf("bench: random weights of %s: %w", group[0].Name, err)
			}
			for i, spec := range group {
				m.Store.VariableWithValue(gemma3n.VariablePath(spec.Name), outs[i]).SetTrainable(false)
			}
			done++
			log.Info("bench: weights", "group", fmt.Sprintf("%d/%d", done, total), "first", group[0].Name, "tensors", len(group),
				"s", roundSeconds(time.Since(groupStart)), "total_s", roundSeconds(time.Since(start)))
		}
	}
	return m, nil
}

// callExec runs exec, turning the panics of graph building into errors.
func callExec(exec *Exec, args []any) (outs []*tensors.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return exec.Exec(args...)
}

// groupWeights splits the weights into groups built by the same graph: the
// model-level tensors, and each layer's tensors, where layers with the same
// names (relative to the layer) and shapes share a graph. It returns the
// groups by layout key and the keys in first-seen order.
func groupWeights(specs []gemma3n.WeightSpec) (map[string][][]gemma3n.WeightSpec, []string) {
	var order []string
	groups := map[string][][]gemma3n.WeightSpec{}
	var keys []string                  // layout key of each group, in order
	var members [][]gemma3n.WeightSpec // the groups
	index := map[string]int{}          // layer prefix ("layers.3.", or "" for model-level) → group
	for _, s := range specs {
		prefix := layerPrefix(s.Name)
		i, ok := index[prefix]
		if !ok {
			i = len(members)
			index[prefix] = i
			members = append(members, nil)
			keys = append(keys, "")
		}
		members[i] = append(members[i], s)
		keys[i] += fmt.Sprintf("%s%v;", strings.TrimPrefix(s.Name, prefix), s.Shape)
	}
	for i, key := range keys {
		if _, seen := groups[key]; !seen {
			order = append(order, key)
		}
		groups[key] = append(groups[key], members[i])
	}
	return groups, order
}

// layerPrefix returns "layers.N." for a tensor of layer N, else "".
func layerPrefix(name string) string {
	rest, ok := strings.CutPrefix(name, "layers.")
	if !ok {
		return ""
	}
	if i := strings.IndexByte(rest, '.'); i > 0 {
		return name[:len("layers.")+i+1]
	}
	return ""
}

// isOnesInit reports whether gemma3n initialises a weight to ones: every
// vector of the model is a norm weight or the AltUp output scale, every
// matrix a linear layer, an embedding table or AltUp coefficients.
func isOnesInit(spec gemma3n.WeightSpec) bool { return len(spec.Shape) == 1 }

func numElements(dims []int) int64 {
	n := int64(1)
	for _, d := range dims {
		n *= int64(d)
	}
	return n
}

// tensorSeed derives the 32-bit seed of one tensor from the model seed and
// the tensor's name.
func tensorSeed(seed uint64, name string) uint32 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	x := h.Sum64() ^ (seed * 0x9e3779b97f4a7c15)
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	return uint32(x) ^ uint32(x>>32)
}

// randomWeights builds the tensors of specs, one seed (uint32 scalar) each.
func randomWeights(seeds []*Node, specs []gemma3n.WeightSpec, dtype dtypes.DType) []*Node {
	if len(seeds) != len(specs) {
		panic(errors.New("bench: one seed per weight"))
	}
	outs := make([]*Node, len(specs))
	for i, spec := range specs {
		g := seeds[i].Graph()
		if isOnesInit(spec) {
			outs[i] = Ones(g, shapes.Make(dtype, spec.Shape...))
			continue
		}
		outs[i] = ConvertDType(MulScalar(hashNormal(seeds[i], spec.Shape), InitStd), dtype)
	}
	return outs
}

// hashNormal returns float32 N(0, 1) samples of the given shape: element k
// is the Box–Muller transform of two uniforms hashed from (seed, k). A
// counter-based generator needs no state and fuses into one kernel.
func hashNormal(seed *Node, dims []int) *Node {
	g := seed.Graph()
	index := IotaFull(g, shapes.Make(dtypes.Uint32, dims...))
	bits1 := mix32(Add(index, mix32(seed)))
	bits2 := mix32(BitwiseXor(bits1, Scalar(g, dtypes.Uint32, uint32(0x68bc21eb))))
	radius := Sqrt(MulScalar(Log(uniformOpen(bits1)), -2))
	return Mul(radius, Cos(MulScalar(uniformOpen(bits2), 2*math.Pi)))
}

// mix32 is a 32-bit integer finaliser (Chris Wellons' "lowbias32"). Shifts
// are written as divisions by powers of two, which every backend has
// (SimpleGo lacks the shift ops) and compilers turn back into shifts.
func mix32(x *Node) *Node {
	g := x.Graph()
	u := func(v uint32) *Node { return Scalar(g, dtypes.Uint32, v) }
	shr := func(x *Node, n uint) *Node { return Div(x, u(1<<n)) }
	x = BitwiseXor(x, shr(x, 16))
	x = Mul(x, u(0x7feb352d))
	x = BitwiseXor(x, shr(x, 15))
	x = Mul(x, u(0x846ca68b))
	return BitwiseXor(x, shr(x, 16))
}

// uniformOpen maps 32 random bits to a float32 in the open interval (0, 1):
// the top 24 bits, centred in their cell, so Log never sees 0.
func uniformOpen(bits *Node) *Node {
	top := ConvertDType(Div(bits, Scalar(bits.Graph(), dtypes.Uint32, uint32(1<<8))), dtypes.Float32)
	return MulScalar(AddScalar(top, 0.5), 1.0/(1<<24))
}

// orDiscard returns log, or a logger that drops everything when log is nil.
func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return log
}

// roundSeconds is d in seconds with millisecond resolution, for logs.
func roundSeconds(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }
