package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // the GoMLX idiom for graph code
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/floats"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
)

// DefaultFixture is the Hugging Face reference fixture the tests share
// (the tiny Gemma 3n with transformers' outputs), relative to the
// repository root.
const DefaultFixture = "pkg/internal/testutil/testdata/gemma3n-tiny"

// ReferenceFile is the name of the reference outputs inside a fixture directory.
const ReferenceFile = "reference.safetensors"

// Tolerances of the parity checks: those of pkg/gemma3n's parity tests.
const (
	tolLogits = 1e-4 // max |Δ| of float32 logits
	tolLoss   = 1e-5 // |Δ| of the mean loss
	tolHidden = 1e-5 // max |Δ| of the AltUp streams, relative to max(1, their largest value)
	tolGrad   = 1e-3 // ‖Δ‖/‖ref‖ of a gradient
)

// ParityCheck compares one output with its expected value.
type ParityCheck struct {
	Name string `json:"name"`
	// Metric is "max_abs", "abs", "max_abs_scaled" (max |Δ| / max(1, max |ref|)),
	// "rel_l2" (‖Δ‖/‖ref‖) or "mismatches" (differing token ids).
	Metric    string  `json:"metric"`
	Value     float64 `json:"value"`
	Tolerance float64 `json:"tolerance"`
	OK        bool    `json:"ok"`
}

// MarshalJSON writes a non-finite Value (a NaN in the outputs) as null.
func (c ParityCheck) MarshalJSON() ([]byte, error) {
	type plain ParityCheck
	return json.Marshal(struct {
		plain
		Value any `json:"value"`
	}{plain(c), floats.FiniteOrNil(c.Value)})
}

// ParityReport is the result of Parity.
type ParityReport struct {
	Kind    string `json:"kind"` // "parity"
	Backend string `json:"backend"`
	Device  string `json:"device"`
	Fixture string `json:"fixture"`
	// Checks compare the backend's float32 outputs with the Hugging Face reference.
	Checks []ParityCheck `json:"checks"`
	// SimpleGo compares them with the pure-Go backend's (when another
	// backend was tested and SimpleGo was given).
	SimpleGo []ParityCheck `json:"simplego_checks,omitempty"`
	OK       bool          `json:"ok"`
}

// Failed lists the names of the checks that failed.
func (r *ParityReport) Failed() []string {
	var names []string
	for _, c := range slices.Concat(r.Checks, r.SimpleGo) {
		if !c.OK {
			names = append(names, c.Name)
		}
	}
	return names
}

// Parity runs the float32 model of the fixture directory dir (config.json,
// model.safetensors and reference.safetensors, as written by the project's
// fixture script) on b and compares its logits, loss, hidden states, loss
// gradients and greedy continuation with the reference. With simpleGo
// non-nil, it also runs the fixture there and compares the two backends.
func Parity(b compute.Backend, backendName, dir string, simpleGo compute.Backend) (*ParityReport, error) {
	ref, err := readReference(filepath.Join(dir, ReferenceFile))
	if err != nil {
		return nil, err
	}
	got, err := fixtureOutputs(b, dir, ref)
	if err != nil {
		return nil, err
	}
	r := &ParityReport{Kind: "parity", Backend: backendName, Device: b.Description(), Fixture: dir}
	r.Checks = compareOutputs(got, ref.outputs, "reference")
	if simpleGo != nil {
		base, err := fixtureOutputs(simpleGo, dir, ref)
		if err != nil {
			return nil, fmt.Errorf("bench: parity on SimpleGo: %w", err)
		}
		r.SimpleGo = compareOutputs(got, *base, "simplego")
	}
	r.OK = len(r.Failed()) == 0
	return r, nil
}

// parityOutputs are the model outputs the fixture holds, as float32 values.
type parityOutputs struct {
	logits []float32
	loss   float64
	hidden [][]float32          // per layer boundary
	grads  map[string][]float32 // by weight name
	greedy []int32              // new tokens after the generation prompt
}

// reference holds the fixture's inputs and expected outputs.
type reference struct {
	inputIDs   [][]int32
	prompt     [][]int32
	outputs    parityOutputs
	gradNames  []string // weight names, sorted
	numHidden  int
	greedyLen  int
	logitsDims []int
}

// gradPrefix names the reference gradients: "grad.model.<weight name>".
const gradPrefix = "grad.model."

func readReference(path string) (*reference, error) {
	ck, err := safetensors.OpenCheckpoint(path)
	if err != nil {
		return nil, fmt.Errorf("bench: parity reference: %w", err)
	}
	defer ck.Close()
	floats := func(name string) ([]float32, error) {
		t, err := ck.Tensor(name, dtypes.Float32)
		if err != nil {
			return nil, fmt.Errorf("bench: %s: %w", path, err)
		}
		return tensors.MustCopyFlatData[float32](t), nil
	}
	ids := func(name string) ([][]int32, error) {
		t, err := ck.Tensor(name, dtypes.Int32)
		if err != nil {
			return nil, fmt.Errorf("bench: %s: %w", path, err)
		}
		v, ok := t.Value().([][]int32)
		if !ok || len(v) == 0 {
			return nil, fmt.Errorf("bench: %s: tensor %q must be [rows, tokens], got %s", path, name, t.Shape())
		}
		return v, nil
	}
	ref := &reference{outputs: parityOutputs{grads: map[string][]float32{}}}
	if ref.inputIDs, err = ids("input_ids"); err != nil {
		return nil, err
	}
	if info, ok := ck.Info("logits"); ok {
		ref.logitsDims = info.Shape
	}
	if ref.outputs.logits, err = floats("logits"); err != nil {
		return nil, err
	}
	loss, err := floats("loss")
	if err != nil {
		return nil, err
	}
	if len(loss) != 1 {
		return nil, fmt.Errorf("bench: %s: tensor \"loss\" has %d values, want 1", path, len(loss))
	}
	ref.outputs.loss = float64(loss[0])
	for _, name := range ck.Names() {
		if w, ok := strings.CutPrefix(name, gradPrefix); ok {
			ref.gradNames = append(ref.gradNames, w)
		}
	}
	sort.Strings(ref.gradNames)
	for _, w := range ref.gradNames {
		if ref.outputs.grads[w], err = floats(gradPrefix + w); err != nil {
			return nil, err
		}
	}
	for i := 0; ; i++ {
		name := fmt.Sprintf("hidden_state_%d", i)
		if _, ok := ck.Info(name); !ok {
			break
		}
		h, err := floats(name)
		if err != nil {
			return nil, err
		}
		ref.outputs.hidden = append(ref.outputs.hidden, h)
	}
	ref.numHidden = len(ref.outputs.hidden)
	if _, ok := ck.Info("generate_prompt"); ok {
		if ref.prompt, err = ids("generate_prompt"); err != nil {
			return nil, err
		}
		full, err := ids("generate_greedy")
		if err != nil {
			return nil, err
		}
		if len(ref.prompt) != 1 || len(full) != 1 || len(full[0]) <= len(ref.prompt[0]) || !slices.Equal(full[0][:len(ref.prompt[0])], ref.prompt[0]) {
			return nil, fmt.Errorf("bench: %s: generate_greedy must be one row that extends generate_prompt", path)
		}
		ref.outputs.greedy = full[0][len(ref.prompt[0]):]
		ref.greedyLen = len(ref.outputs.greedy)
	}
	return ref, nil
}

// fixtureOutputs loads the fixture model in float32 and computes on b the
// outputs ref holds.
func fixtureOutputs(b compute.Backend, dir string, ref *reference) (*parityOutputs, error) {
	m, err := gemma3n.Load(dir, dtypes.Float32)
	if err != nil {
		return nil, fmt.Errorf("bench: parity: %w", err)
	}
	defer m.Store.Finalize()
	if ref.numHidden > 0 && ref.numHidden != m.Config.NumHiddenLayers+1 {
		return nil, fmt.Errorf("bench: parity: the reference has %d hidden states, the model %d layers (want layers+1)", ref.numHidden, m.Config.NumHiddenLayers)
	}
	for _, w := range ref.gradNames {
		if m.WeightVariable(w) == nil {
			return nil, fmt.Errorf("bench: parity: the reference has the gradient of %q, which the model does not have", w)
		}
	}
	targets, weights, err := gemma3n.NextTokenTargets(ref.inputIDs, nil)
	if err != nil {
		return nil, fmt.Errorf("bench: parity: %w", err)
	}
	exec, err := model.NewExec(b, m.Store, func(scope *model.Scope, ids, targets, weights *Node) []*Node {
		g := ids.Graph()
		out := m.Forward(scope, gemma3n.Inputs{IDs: ids, Hidden: ref.numHidden > 0})
		loss := gemma3n.Loss(out.Logits, targets, weights)
		params := make([]*Node, len(ref.gradNames))
		for i, w := range ref.gradNames {
			params[i] = m.WeightVariable(w).NodeValue(g)
		}
		var grads []*Node
		if len(params) > 0 {
			grads = Gradient(loss, params...)
		}
		return slices.Concat([]*Node{ConvertDType(out.Logits, dtypes.Float32), loss}, out.Hidden, grads)
	})
	if err != nil {
		return nil, fmt.Errorf("bench: parity: %w", err)
	}
	defer exec.Finalize()
	outs, err := exec.Exec(ref.inputIDs, targets, weights)
	if err != nil {
		return nil, fmt.Errorf("bench: parity: %w", err)
	}
	if len(outs) != 2+ref.numHidden+len(ref.gradNames) {
		return nil, fmt.Errorf("bench: parity: %d outputs, want %d", len(outs), 2+ref.numHidden+len(ref.gradNames))
	}
	if ref.logitsDims != nil && !slices.Equal(outs[0].Shape().Dimensions, ref.logitsDims) {
		return nil, fmt.Errorf("bench: parity: logits %v, the reference has %v", outs[0].Shape().Dimensions, ref.logitsDims)
	}
	p := &parityOutputs{
		logits: tensors.MustCopyFlatData[float32](outs[0]),
		loss:   float64(tensors.ToScalar[float32](outs[1])),
		grads:  map[string][]float32{},
	}
	for _, h := range outs[2 : 2+ref.numHidden] {
		p.hidden = append(p.hidden, tensors.MustCopyFlatData[float32](h))
	}
	for i, w := range ref.gradNames {
		p.grads[w] = tensors.MustCopyFlatData[float32](outs[2+ref.numHidden+i])
	}
	if ref.greedyLen > 0 {
		got, err := m.Generate(b, ref.prompt, gemma3n.GenerateOptions{MaxNewTokens: ref.greedyLen, MinNewTokens: ref.greedyLen})
		if err != nil {
			return nil, fmt.Errorf("bench: parity: %w", err)
		}
		p.greedy = got[0]
	}
	return p, nil
}

// compareOutputs checks got against want with the fixture tolerances.
func compareOutputs(got *parityOutputs, want parityOutputs, against string) []ParityCheck {
	var checks []ParityCheck
	add := func(name, metric string, value, tol float64) {
		checks = append(checks, ParityCheck{Name: name + " vs " + against, Metric: metric, Value: value, Tolerance: tol, OK: value <= tol})
	}
	add("logits", "max_abs", floats.MaxAbsDiff(got.logits, want.logits), tolLogits)
	add("loss", "abs", math.Abs(got.loss-want.loss), tolLoss)
	for i := range want.hidden {
		add(fmt.Sprintf("hidden_state_%d", i), "max_abs_scaled", floats.MaxAbsDiff(got.hidden[i], want.hidden[i])/max(1, maxAbs(want.hidden[i])), tolHidden)
	}
	names := make([]string, 0, len(want.grads))
	for w := range want.grads {
		names = append(names, w)
	}
	sort.Strings(names)
	for _, w := range names {
		add("grad "+w, "rel_l2", relL2(got.grads[w], want.grads[w]), tolGrad)
	}
	if want.greedy != nil {
		add("greedy tokens", "mismatches", float64(mismatches(got.greedy, want.greedy)), 0)
	}
	return checks
}

func maxAbs(a []float32) float64 {
	m := 0.0
	for _, v := range a {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}

// relL2 is ‖a−b‖/‖b‖; +Inf for different lengths or a NaN.
func relL2(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var num, den float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		num += d * d
		den += float64(b[i]) * float64(b[i])
	}
	r := math.Sqrt(num / max(den, 1e-30))
	if math.IsNaN(r) {
		return math.Inf(1)
	}
	return r
}

// mismatches counts differing positions, the length difference included.
func mismatches(a, b []int32) int {
	n := max(len(a), len(b)) - min(len(a), len(b))
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}
