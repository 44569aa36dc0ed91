package bench

import (
	"math"
	"slices"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
)

func tinyConfig(t testing.TB) *gemma3n.Config {
	t.Helper()
	c, err := tinySize.Config()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// weightValues returns a weight of m as float64 values.
func weightValues(t *testing.T, m *gemma3n.Model, name string) []float64 {
	t.Helper()
	v := m.WeightVariable(name)
	if v == nil {
		t.Fatalf("weight %s missing", name)
	}
	x, err := v.Value()
	if err != nil {
		t.Fatal(err)
	}
	var out []float64
	switch x.DType() {
	case dtypes.Float32:
		for _, f := range tensors.MustCopyFlatData[float32](x) {
			out = append(out, float64(f))
		}
	default:
		f32 := MustExecOnce(testBackend(t), func(x *Node) *Node { return ConvertDType(x, dtypes.Float32) }, x)
		for _, f := range tensors.MustCopyFlatData[float32](f32) {
			out = append(out, float64(f))
		}
	}
	return out
}

func meanStd(xs []float64) (mean, std float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(xs)))
}

func TestRandomModel(t *testing.T) {
	b := testBackend(t)
	cfg := tinyConfig(t)
	m, err := RandomModel(b, cfg, dtypes.Float32, 7)
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range cfg.Weights() {
		v := m.WeightVariable(spec.Name)
		if v == nil {
			t.Fatalf("weight %s missing", spec.Name)
		}
		if v.Trainable {
			t.Errorf("%s is trainable", spec.Name)
		}
		if !slices.Equal(v.Shape().Dimensions, spec.Shape) || v.Shape().DType != dtypes.Float32 {
			t.Errorf("%s: %s, want float32 %v", spec.Name, v.Shape(), spec.Shape)
		}
		values := weightValues(t, m, spec.Name)
		if isOnesInit(spec) {
			for _, x := range values {
				if x != 1 {
					t.Fatalf("%s: value %v, want 1", spec.Name, x)
				}
			}
			continue
		}
		if len(values) < 4096 {
			continue
		}
		mean, std := meanStd(values)
		if math.Abs(mean) > 0.002 || math.Abs(std-InitStd) > 0.001 {
			t.Errorf("%s: mean %.4g, std %.4g; want 0, %g", spec.Name, mean, std, InitStd)
		}
	}
	// Different tensors of one shape get different values.
	a, b2 := weightValues(t, m, "layers.0.mlp.gate_proj.weight"), weightValues(t, m, "layers.1.mlp.gate_proj.weight")
	if slices.Equal(a, b2) {
		t.Error("two layers got the same weights")
	}

	// The model runs.
	exec, err := model.NewExec(b, m.Store, func(scope *model.Scope, ids *Node) *Node {
		return ConvertDType(m.Logits(scope, ids, nil, nil), dtypes.Float32)
	})
	if err != nil {
		t.Fatal(err)
	}
	logits, err := exec.Exec([][]int32{{2, 5, 9, 11}})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range tensors.MustCopyFlatData[float32](logits[0]) {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			t.Fatal("non-finite logits")
		}
	}
}

func TestRandomModelDeterministicAcrossDTypes(t *testing.T) {
	b := testBackend(t)
	cfg := tinyConfig(t)
	f1, err := RandomModel(b, cfg, dtypes.Float32, 3)
	if err != nil {
		t.Fatal(err)
	}
	f2, err := RandomModel(b, cfg, dtypes.Float32, 3)
	if err != nil {
		t.Fatal(err)
	}
	other, err := RandomModel(b, cfg, dtypes.Float32, 4)
	if err != nil {
		t.Fatal(err)
	}
	bf, err := RandomModel(b, cfg, dtypes.BFloat16, 3)
	if err != nil {
		t.Fatal(err)
	}
	const name = "layers.2.self_attn.q_proj.weight"
	want := weightValues(t, f1, name)
	if got := weightValues(t, f2, name); !slices.Equal(got, want) {
		t.Error("the same seed gave different weights")
	}
	if got := weightValues(t, other, name); slices.Equal(got, want) {
		t.Error("different seeds gave the same weights")
	}
	for i, x := range weightValues(t, bf, name) {
		// bfloat16 keeps 8 significant bits: within one unit of the last
		// place, 2⁻⁷ relative (SimpleGo truncates, XLA rounds to nearest).
		if d := math.Abs(x - want[i]); d > math.Abs(want[i])/128+1e-12 {
			t.Fatalf("bfloat16 value %d is %v, float32 %v: not its rounding", i, x, want[i])
		}
	}
	if v := bf.WeightVariable(name); v.Shape().DType != dtypes.BFloat16 {
		t.Errorf("bfloat16 model holds %s", v.Shape())
	}
}

// TestOnesInitMatchesGemma3n checks isOnesInit against gemma3n.NewRandom's
// choice of initialisation.
func TestOnesInitMatchesGemma3n(t *testing.T) {
	cfg := tinyConfig(t)
	m, err := gemma3n.NewRandom(cfg, dtypes.Float32, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range cfg.Weights() {
		v, err := m.WeightVariable(spec.Name).Value()
		if err != nil {
			t.Fatal(err)
		}
		allOnes := true
		for _, x := range tensors.MustCopyFlatData[float32](v) {
			if x != 1 {
				allOnes = false
				break
			}
		}
		if allOnes != isOnesInit(spec) {
			t.Errorf("%s %v: NewRandom all ones = %t, isOnesInit = %t", spec.Name, spec.Shape, allOnes, isOnesInit(spec))
		}
	}
}

func TestHashNormal(t *testing.T) {
	const n = 1 << 17
	out := MustExecOnce(testBackend(t), func(seed *Node) *Node { return hashNormal(seed, []int{n}) }, uint32(12345))
	var xs []float64
	within1, within2 := 0, 0
	for _, f := range tensors.MustCopyFlatData[float32](out) {
		x := float64(f)
		if math.IsNaN(x) || math.IsInf(x, 0) {
			t.Fatalf("non-finite sample %v", x)
		}
		xs = append(xs, x)
		if math.Abs(x) < 1 {
			within1++
		}
		if math.Abs(x) < 2 {
			within2++
		}
	}
	mean, std := meanStd(xs)
	if math.Abs(mean) > 0.01 || math.Abs(std-1) > 0.01 {
		t.Errorf("mean %.4f, std %.4f; want 0, 1", mean, std)
	}
	if p := float64(within1) / n; math.Abs(p-0.6827) > 0.005 {
		t.Errorf("P(|x|<1) = %.4f, want 0.6827", p)
	}
	if p := float64(within2) / n; math.Abs(p-0.9545) > 0.004 {
		t.Errorf("P(|x|<2) = %.4f, want 0.9545", p)
	}
	// Neighbouring elements are uncorrelated.
	var c float64
	for i := 1; i < n; i++ {
		c += xs[i] * xs[i-1]
	}
	if c /= n; math.Abs(c) > 0.01 {
		t.Errorf("lag-1 correlation %.4f", c)
	}
}

// TestRandomModelOnDevice runs the device generator (what XLA uses) on
// the test backend: every weight present and frozen, ones where NewRandom
// has ones, N(0, InitStd²) elsewhere, deterministic in the seed.
func TestRandomModelOnDevice(t *testing.T) {
	b := testBackend(t)
	cfg := tinyConfig(t)
	var last gemma3n.WeightProgress
	m, err := randomModelOnDevice(b, cfg, dtypes.Float32, 7, func(p gemma3n.WeightProgress) { last = p })
	if err != nil {
		t.Fatal(err)
	}
	if last.Tensors != len(cfg.Weights()) || last.Bytes != last.TotalBytes || last.Bytes != 4*cfg.NumParameters() {
		t.Errorf("last progress %+v, want every tensor and %d bytes", last, 4*cfg.NumParameters())
	}
	again, err := randomModelOnDevice(b, cfg, dtypes.Float32, 7, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range cfg.Weights() {
		v := m.WeightVariable(spec.Name)
		if v == nil || v.Trainable {
			t.Fatalf("weight %s missing or trainable", spec.Name)
		}
		values := weightValues(t, m, spec.Name)
		if !slices.Equal(values, weightValues(t, again, spec.Name)) {
			t.Errorf("%s: the same seed gave different values", spec.Name)
		}
		if isOnesInit(spec) {
			if slices.ContainsFunc(values, func(x float64) bool { return x != 1 }) {
				t.Errorf("%s: not all ones", spec.Name)
			}
			continue
		}
		if len(values) >= 4096 {
			if mean, std := meanStd(values); math.Abs(mean) > 0.002 || math.Abs(std-InitStd) > 0.001 {
				t.Errorf("%s: mean %.4g, std %.4g; want 0, %g", spec.Name, mean, std, InitStd)
			}
		}
	}
}

func TestRandomModelErrors(t *testing.T) {
	cfg := tinyConfig(t)
	if _, err := RandomModel(testBackend(t), cfg, dtypes.Float16, 0); err == nil {
		t.Error("float16 accepted")
	}
	bad := cfg.Clone()
	bad.NumKeyValueHeads = 3
	if _, err := RandomModel(testBackend(t), bad, dtypes.Float32, 0); err == nil {
		t.Error("invalid config accepted")
	}
}
