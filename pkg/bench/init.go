package bench

import (
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // the GoMLX idiom for graph code
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/backend"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
)

// InitStd is the standard deviation of the random weights (HF's
// initializer_range for Gemma 3n, as gemma3n.NewRandom uses).
const InitStd = 0.02

// RandomModel returns a model of cfg with random weights drawn where the
// backend keeps them, deterministically in seed: matrices from
// N(0, InitStd²), vectors (norm weights, the AltUp output scales) at 1, as
// gemma3n.NewRandom does. Tensors are drawn one at a time, so memory holds
// the weights and at most one tensor being made.
//
// On a backend that shares host memory (the pure-Go one) the weights are
// gemma3n.NewRandom's, drawn in parallel on the host straight into the
// backend's buffers. On a device (XLA) every weight is a function of its
// tensor name, its element index and the seed, computed by one graph per
// distinct shape, so nothing of the size of the model passes through the
// host; a float32 and a bfloat16 model of the same seed hold the same
// weights up to rounding.
func RandomModel(b compute.Backend, cfg *gemma3n.Config, dtype dtypes.DType, seed uint64) (*gemma3n.Model, error) {
	return randomModel(b, cfg, dtype, seed, nil)
}

// randomModel is RandomModel, logging its progress to log (nil: silent)
// so that a slow initialisation shows where it is.
func randomModel(b compute.Backend, cfg *gemma3n.Config, dtype dtypes.DType, seed uint64, log *slog.Logger) (*gemma3n.Model, error) {
	log = orDiscard(log)
	if dtype != dtypes.Float32 && dtype != dtypes.BFloat16 {
		return nil, fmt.Errorf("bench: weights must be float32 or bfloat16, not %s", dtype)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	log.Info("bench: drawing random weights", "params", cfg.NumParameters(), "dtype", stage.DTypeName(dtype),
		"where", map[bool]string{true: "host memory shared with the backend", false: "device"}[b.HasSharedBuffers()])
	progress := gemma3n.LogProgress(log, "bench: weights")
	if b.HasSharedBuffers() {
		m, err := gemma3n.NewRandomWith(cfg, dtype, seed, gemma3n.WeightOptions{Backend: b, Progress: progress})
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		backend.BoundHeapGrowth(cfg.NumParameters() * int64(dtype.Size()))
		return m, nil
	}
	return randomModelOnDevice(b, cfg, dtype, seed, progress)
}

// randomModelOnDevice draws every weight with hashNormal in a graph, one
// tensor per execution and one graph per distinct shape.
func randomModelOnDevice(b compute.Backend, cfg *gemma3n.Config, dtype dtypes.DType, seed uint64, progress func(gemma3n.WeightProgress)) (*gemma3n.Model, error) {
	m := &gemma3n.Model{Config: cfg, Store: model.NewStore(), DType: dtype, Linear: gemma3n.DefaultLinear}
	execs := map[string]*Exec{}
	defer func() {
		for _, e := range execs {
			e.Finalize()
		}
	}()
	specs := cfg.Weights()
	done := gemma3n.WeightProgress{TotalTensors: len(specs)}
	for _, spec := range specs {
		done.TotalBytes += shapes.Make(dtype, spec.Shape...).ByteSize()
	}
	start := time.Now()
	for _, spec := range specs {
		if n := numElements(spec.Shape); n >= math.MaxUint32 {
			return nil, fmt.Errorf("bench: weight %s has %d values, more than the generator indexes (2³²−1)", spec.Name, n)
		}
		key := fmt.Sprintf("%v/%t", spec.Shape, isOnesInit(spec))
		exec := execs[key]
		if exec == nil {
			var err error
			exec, err = NewExec(b, func(seed *Node) *Node { return randomWeight(seed, spec, dtype) })
			if err != nil {
				return nil, fmt.Errorf("bench: random weights: %w", err)
			}
			execs[key] = exec
		}
		outs, err := callExec(exec, []any{tensorSeed(seed, spec.Name)})
		if err != nil {
			return nil, fmt.Errorf("bench: random weight %s: %w", spec.Name, err)
		}
		m.Store.VariableWithValue(gemma3n.VariablePath(spec.Name), outs[0]).SetTrainable(false)
		done.Tensors++
		done.Bytes += outs[0].Shape().ByteSize()
		if progress != nil {
			done.Elapsed = time.Since(start)
			progress(done)
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

// randomWeight builds the tensor of spec from its seed (uint32 scalar).
func randomWeight(seed *Node, spec gemma3n.WeightSpec, dtype dtypes.DType) *Node {
	if isOnesInit(spec) {
		return Ones(seed.Graph(), shapes.Make(dtype, spec.Shape...))
	}
	return ConvertDType(MulScalar(hashNormal(seed, spec.Shape), InitStd), dtype)
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
