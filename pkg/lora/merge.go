package lora

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
)

// NamedTensor is a tensor with its checkpoint name.
type NamedTensor struct {
	Name   string
	Tensor *tensors.Tensor
}

// MergedWeights returns, for every adapted module, its base weight with the
// update merged, W + s·B·A, in the model's dtype (computed in float64 and
// rounded once). Names are the base checkpoint's in the given layout, e.g.
// "model.layers.3.self_attn.q_proj.weight" (LayoutCausalLM) or
// "model.language_model.layers.3.self_attn.q_proj.weight"
// (LayoutMultimodal), so that a merged checkpoint is the base checkpoint
// with these tensors replaced. The model and the adapter are unchanged.
func (a *Adapter) MergedWeights(layout Layout) ([]NamedTensor, error) {
	merged, err := a.mergedByModule()
	if err != nil {
		return nil, err
	}
	out := make([]NamedTensor, len(a.modules))
	for i, m := range a.modules {
		out[i] = NamedTensor{Name: layout.ModelPrefix() + m.Name + ".weight", Tensor: merged[i]}
	}
	return out, nil
}

// Merge returns a new model whose adapted weights hold W + s·B·A (in the
// base dtype) and whose linear layers are plain (gemma3n.DefaultLinear):
// PEFT's merge_and_unload. The original model and its adapter are
// unchanged and stay usable; the two models share the tensors of the
// weights that were not adapted (so finalizing one model's variables would
// break the other).
func (a *Adapter) Merge() (*gemma3n.Model, error) {
	merged, err := a.mergedByModule()
	if err != nil {
		return nil, err
	}
	replaced := map[string]*tensors.Tensor{}
	for i, m := range a.modules {
		replaced[m.Name+".weight"] = merged[i]
	}
	base := a.model
	out := &gemma3n.Model{Config: base.Config, Store: model.NewStore(), DType: base.DType, Linear: gemma3n.DefaultLinear}
	for _, spec := range base.Config.Weights() {
		t := replaced[spec.Name]
		if t == nil {
			v := base.WeightVariable(spec.Name)
			if v == nil {
				return nil, fmt.Errorf("lora: merge: the model has no weight %s", spec.Name)
			}
			if t, err = v.Value(); err != nil {
				return nil, fmt.Errorf("lora: merge: reading %s: %w", spec.Name, err)
			}
		}
		out.Store.VariableWithValue(gemma3n.VariablePath(spec.Name), t).SetTrainable(false)
	}
	return out, nil
}

// mergedByModule computes the merged weight of every module, in parallel.
func (a *Adapter) mergedByModule() ([]*tensors.Tensor, error) {
	out := make([]*tensors.Tensor, len(a.modules))
	errs := make([]error, len(a.modules))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(a.modules)) {
		wg.Go(func() {
			for i := range work {
				out[i], errs[i] = a.mergeModule(a.modules[i])
			}
		})
	}
	for i := range a.modules {
		work <- i
	}
	close(work)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// mergeModule computes W + s·B·A for one module in the weight's dtype.
func (a *Adapter) mergeModule(m Module) (*tensors.Tensor, error) {
	wVar := a.model.WeightVariable(m.Name + ".weight")
	varA, varB := a.Variables(m.Name)
	if wVar == nil || varA == nil || varB == nil {
		return nil, fmt.Errorf("lora: merge: weight or adapter variables of %s missing from the model store", m.Name)
	}
	w, err := wVar.Value()
	if err != nil {
		return nil, fmt.Errorf("lora: merge: reading %s.weight: %w", m.Name, err)
	}
	tA, err := varA.Value()
	if err != nil {
		return nil, fmt.Errorf("lora: merge: reading %s: %w", varA.Path(), err)
	}
	tB, err := varB.Value()
	if err != nil {
		return nil, fmt.Errorf("lora: merge: reading %s: %w", varB.Path(), err)
	}
	A, B := tensors.MustCopyFlatData[float32](tA), tensors.MustCopyFlatData[float32](tB)
	if len(A) != m.Rank*m.In || len(B) != m.Out*m.Rank {
		return nil, fmt.Errorf("lora: merge: %s: A has %d values and B %d, want %d×%d and %d×%d",
			m.Name, len(A), len(B), m.Rank, m.In, m.Out, m.Rank)
	}
	if got := w.Shape().Dimensions; len(got) != 2 || got[0] != m.Out || got[1] != m.In {
		return nil, fmt.Errorf("lora: merge: %s.weight has shape %v, want [%d %d]", m.Name, got, m.Out, m.In)
	}
	switch w.DType() {
	case dtypes.Float32:
		base := tensors.MustCopyFlatData[float32](w)
		merged := make([]float32, len(base))
		addLowRank(m, A, B, func(i int, delta float64) { merged[i] = float32(float64(base[i]) + delta) })
		return tensors.FromFlatDataAndDimensions(merged, m.Out, m.In), nil
	case dtypes.BFloat16:
		base := tensors.MustCopyFlatData[bfloat16.BFloat16](w)
		merged := make([]bfloat16.BFloat16, len(base))
		addLowRank(m, A, B, func(i int, delta float64) {
			merged[i] = bfloat16FromFloat64(float64(base[i].Float32()) + delta)
		})
		return tensors.FromFlatDataAndDimensions(merged, m.Out, m.In), nil
	}
	return nil, fmt.Errorf("lora: merge: %s.weight has dtype %s, want Float32 or BFloat16", m.Name, w.DType())
}

// addLowRank calls emit(o·in + i, s·(B·A)[o, i]) for every element of the
// [out, in] update, accumulating in float64. Four rows of A are combined
// per pass over the output row, which keeps the row in registers/L1 for
// four times the work.
func addLowRank(m Module, A, B []float32, emit func(i int, delta float64)) {
	row := make([]float64, m.In)
	for o := range m.Out {
		clear(row)
		bRow := B[o*m.Rank : (o+1)*m.Rank]
		k := 0
		for ; k+4 <= m.Rank; k += 4 {
			b0, b1, b2, b3 := float64(bRow[k]), float64(bRow[k+1]), float64(bRow[k+2]), float64(bRow[k+3])
			a0 := A[k*m.In : (k+1)*m.In]
			a1 := A[(k+1)*m.In : (k+2)*m.In]
			a2 := A[(k+2)*m.In : (k+3)*m.In]
			a3 := A[(k+3)*m.In : (k+4)*m.In]
			for i := range row {
				row[i] += b0*float64(a0[i]) + b1*float64(a1[i]) + b2*float64(a2[i]) + b3*float64(a3[i])
			}
		}
		for ; k < m.Rank; k++ {
			bk := float64(bRow[k])
			for i, av := range A[k*m.In : (k+1)*m.In] {
				row[i] += bk * float64(av)
			}
		}
		for i, d := range row {
			emit(o*m.In+i, m.Scale*d)
		}
	}
}

// bfloat16FromFloat64 rounds v to the nearest bfloat16 (ties to even).
// GoMLX's bfloat16.FromFloat64 truncates, which would bias every merged
// weight toward zero. Narrowing to float32 with round-to-odd first keeps
// the second rounding exact.
func bfloat16FromFloat64(v float64) bfloat16.BFloat16 {
	b := math.Float32bits(float32RoundOdd(v))
	if b&0x7fffffff > 0x7f800000 { // NaN: keep it quiet
		return bfloat16.BFloat16(uint16(b>>16) | 0x40)
	}
	b += 0x7fff + (b>>16)&1
	return bfloat16.BFloat16(uint16(b >> 16))
}

// float32RoundOdd narrows v to float32, rounding an inexact result to the
// neighbour with an odd last bit.
func float32RoundOdd(v float64) float32 {
	f := float32(v)
	if float64(f) == v || f == 0 || math.IsInf(float64(f), 0) || math.IsNaN(v) {
		return f
	}
	b := math.Float32bits(f)
	if b&1 == 1 {
		return f
	}
	if (float64(f) > v) == (f > 0) { // f is farther from zero than v
		b--
	} else {
		b++
	}
	return math.Float32frombits(b)
}
