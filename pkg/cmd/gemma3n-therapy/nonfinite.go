package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive,staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
)

// firstNonFinite returns the flat index of the first NaN or ±Inf in a
// floating-point tensor and describes the value ("NaN", "+Inf"), or -1
// when every value is finite (or the dtype is not a float).
func firstNonFinite(t *tensors.Tensor) (index int, what string) {
	index = -1
	_ = t.ConstBytes(func(data []byte) {
		switch t.DType() {
		case dtypes.Float32:
			for i := 0; i+4 <= len(data); i += 4 {
				if v := math.Float32frombits(binary.LittleEndian.Uint32(data[i:])); math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					index, what = i/4, describeNonFinite(float64(v))
					return
				}
			}
		case dtypes.Float64:
			for i := 0; i+8 <= len(data); i += 8 {
				if v := math.Float64frombits(binary.LittleEndian.Uint64(data[i:])); math.IsNaN(v) || math.IsInf(v, 0) {
					index, what = i/8, describeNonFinite(v)
					return
				}
			}
		case dtypes.BFloat16, dtypes.Float16:
			exp, mant := uint16(0x7f80), uint16(0x007f) // bfloat16: 8 exponent bits
			if t.DType() == dtypes.Float16 {
				exp, mant = 0x7c00, 0x03ff
			}
			for i := 0; i+2 <= len(data); i += 2 {
				if bits := binary.LittleEndian.Uint16(data[i:]); bits&exp == exp {
					v := math.Inf(1)
					switch {
					case bits&mant != 0:
						v = math.NaN()
					case bits&0x8000 != 0:
						v = math.Inf(-1)
					}
					index, what = i/2, describeNonFinite(v)
					return
				}
			}
		}
	})
	return index, what
}

func describeNonFinite(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	}
	return "-Inf"
}

// nonFiniteCause says why a model's output was not finite: the first
// weight (in checkpoint order, then the other variables of the store, such
// as an adapter's, by path) that holds a NaN or an Inf; else, running the
// model again on ids with its hidden states, the first layer whose output
// is not finite; else the final norm and LM head. It is called only once a
// non-finite value was seen, so the normal path stays fast.
func nonFiniteCause(b compute.Backend, m *gemma3n.Model, ids [][]int32) string {
	seen := map[string]bool{}
	check := func(path, name string) string {
		seen[path] = true
		v := m.Store.GetVariable(path)
		if v == nil || !v.HasValue() {
			return ""
		}
		value, err := v.Value()
		if err != nil {
			return ""
		}
		if i, what := firstNonFinite(value); i >= 0 {
			return fmt.Sprintf("the first bad tensor is the weight %s %v: element %d is %s", name, value.Shape().Dimensions, i, what)
		}
		return ""
	}
	for _, spec := range m.Config.Weights() {
		if cause := check(gemma3n.VariablePath(spec.Name), spec.Name); cause != "" {
			return cause
		}
	}
	var others []string
	for v := range m.Store.IterVariables() {
		if !seen[v.Path()] {
			others = append(others, v.Path())
		}
	}
	slices.Sort(others)
	for _, path := range others {
		if cause := check(path, path); cause != "" {
			return cause
		}
	}
	if len(ids) == 0 {
		return "every weight is finite"
	}
	hidden, err := hiddenStates(b, m, ids)
	if err != nil {
		return fmt.Sprintf("every weight is finite (the layer-by-layer check failed: %v)", err)
	}
	for l, h := range hidden {
		if i, what := firstNonFinite(h); i >= 0 {
			if l == 0 {
				return fmt.Sprintf("every weight is finite; the embeddings (the input of layer 0) are not: element %d is %s", i, what)
			}
			return fmt.Sprintf("every weight is finite; the first layer whose output is not finite is layers.%d (element %d of its output is %s)", l-1, i, what)
		}
	}
	return "every weight and every layer's output is finite: the final norm or the LM head (soft-capping) produced the non-finite values"
}

// hiddenStates runs the model on equal-length rows of ids (the first row
// when they differ) and returns its AltUp streams at every layer boundary,
// in float32 (gemma3n.Model.HiddenStates).
func hiddenStates(b compute.Backend, m *gemma3n.Model, ids [][]int32) (hidden []*tensors.Tensor, err error) {
	for _, row := range ids[1:] {
		if len(row) != len(ids[0]) {
			ids = ids[:1]
			break
		}
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	exec, err := model.NewExec(b, m.Store, func(scope *model.Scope, ids *Node) []*Node {
		logits, hs := m.HiddenStates(scope, ids, nil, nil)
		out := []*Node{logits} // the logits keep the whole graph alive, as in the parity tests
		for _, h := range hs {
			if h.DType() != dtypes.Float32 {
				h = ConvertDType(h, dtypes.Float32)
			}
			out = append(out, h)
		}
		return out
	})
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	out, err := exec.Exec(ids)
	if err != nil {
		return nil, err
	}
	return out[1:], nil
}

// contextError refuses an input longer than the model's context.
type contextError struct {
	what           string // "the prompt", "input_ids row 2"
	tokens, newTok int
	limit          int
}

func (e *contextError) Error() string {
	if e.newTok > 0 {
		return fmt.Sprintf("%s is %d tokens and %d new ones are asked for: %d in all, more than the model's context of %d positions (max_position_embeddings); shorten the input or lower --max-new-tokens",
			e.what, e.tokens, e.newTok, e.tokens+e.newTok, e.limit)
	}
	return fmt.Sprintf("%s is %d tokens, more than the model's context of %d positions (max_position_embeddings); shorten the input", e.what, e.tokens, e.limit)
}

// checkContext refuses rows of token ids that, with newTokens more, do not
// fit in the model's context. Rows are numbered from 1 in the error.
func checkContext(cfg *gemma3n.Config, what string, rows [][]int32, newTokens int) error {
	for r, row := range rows {
		if len(row)+newTokens > cfg.MaxPositionEmbeddings {
			name := what
			if len(rows) > 1 {
				name = fmt.Sprintf("%s row %d", what, r+1)
			}
			return &contextError{what: name, tokens: len(row), newTok: newTokens, limit: cfg.MaxPositionEmbeddings}
		}
	}
	return nil
}
