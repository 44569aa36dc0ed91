package bench

import (
	"fmt"
	"io"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // the GoMLX idiom for graph code
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
)

// MatMulOptions configure MatMulRate: the product [M, K] × [K, N] in DType,
// timed Runs times after one untimed run that compiles the graph.
type MatMulOptions struct {
	M, K, N int
	DType   dtypes.DType
	Runs    int
}

// DefaultMatMulOptions is a 1024³ bfloat16 product, timed 5 times.
func DefaultMatMulOptions() MatMulOptions {
	return MatMulOptions{M: 1024, K: 1024, N: 1024, DType: dtypes.BFloat16, Runs: 5}
}

// MatMulReport is the backend's own matrix-product rate: the yardstick for
// the model FLOP/s of bench train (a training step cannot beat it).
type MatMulReport struct {
	Kind    string `json:"kind"` // "matmul"
	Backend string `json:"backend"`
	Device  string `json:"device"`
	DType   string `json:"dtype"`
	M       int    `json:"m"`
	K       int    `json:"k"`
	N       int    `json:"n"`
	Run     Timing `json:"run"`
	// GFLOPsPerSecond is 2·M·K·N over the median run time.
	GFLOPsPerSecond float64 `json:"gflops_per_second"`
}

// MatMulRate times one matrix product on b. The inputs are random values
// drawn once on the host; each timed run is one graph execution,
// including the transfer of the result.
func MatMulRate(b compute.Backend, backendName string, opts MatMulOptions) (*MatMulReport, error) {
	if opts.M < 1 || opts.K < 1 || opts.N < 1 || opts.Runs < 1 {
		return nil, fmt.Errorf("bench: matmul sizes %d×%d×%d and runs %d must be ≥ 1", opts.M, opts.K, opts.N, opts.Runs)
	}
	if opts.DType != dtypes.Float32 && opts.DType != dtypes.BFloat16 {
		return nil, fmt.Errorf("bench: matmul dtype %s: want float32 or bfloat16", opts.DType)
	}
	exec, err := NewExec(b, func(x, y *Node) *Node {
		return MatMul(ConvertDType(x, opts.DType), ConvertDType(y, opts.DType))
	})
	if err != nil {
		return nil, fmt.Errorf("bench: matmul: %w", err)
	}
	defer exec.Finalize()
	x := randomFloat32(shapes.Make(dtypes.Float32, opts.M, opts.K), 1)
	y := randomFloat32(shapes.Make(dtypes.Float32, opts.K, opts.N), 2)
	// The conversion to the dtype is part of the graph but O(n²): negligible
	// next to the O(n³) product at the sizes this is meant for.
	if _, err := callExec(exec, []any{x, y}); err != nil {
		return nil, fmt.Errorf("bench: matmul: %w", err)
	}
	times := make([]float64, opts.Runs)
	for i := range times {
		start := time.Now()
		outs, err := callExec(exec, []any{x, y})
		if err != nil {
			return nil, fmt.Errorf("bench: matmul: %w", err)
		}
		outs[0].FinalizeAll()
		times[i] = time.Since(start).Seconds()
	}
	stats := Summarize(times)
	return &MatMulReport{
		Kind: "matmul", Backend: backendName, Device: b.Description(), DType: stage.DTypeName(opts.DType),
		M: opts.M, K: opts.K, N: opts.N, Run: stats,
		GFLOPsPerSecond: 2 * float64(opts.M) * float64(opts.K) * float64(opts.N) / stats.Median / 1e9,
	}, nil
}

// randomFloat32 is a tensor of uniform values in [-1, 1) from a fixed
// generator (the values do not matter for timing, only that they are not
// all zero).
func randomFloat32(shape shapes.Shape, seed uint64) *tensors.Tensor {
	t := tensors.FromShape(shape)
	tensors.MustMutableFlatData(t, func(flat []float32) {
		state := seed*0x9E3779B97F4A7C15 + 1
		for i := range flat {
			state ^= state << 13
			state ^= state >> 7
			state ^= state << 17
			flat[i] = float32(state>>40)/float32(1<<24)*2 - 1
		}
	})
	return t
}

// WriteText prints the report for people.
func (r *MatMulReport) WriteText(w io.Writer) error {
	p := &printer{w: w}
	p.line("bench matmul: %s, %s", r.Backend, r.Device)
	p.line("product:       [%d, %d] × [%d, %d] in %s", r.M, r.K, r.K, r.N, r.DType)
	p.line("run time:      median %.4f s, min %.4f s, max %.4f s (n=%d)", r.Run.Median, r.Run.Min, r.Run.Max, r.Run.N)
	p.line("rate:          %.1f GFLOP/s", r.GFLOPsPerSecond)
	return p.err
}
