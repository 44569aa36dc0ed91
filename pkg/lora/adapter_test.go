package lora

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
)

// TestNewStartsAtBase checks PEFT's initialisation: B = 0, so the adapted
// model computes exactly the base model; A ~ U(−1/√in, 1/√in).
func TestNewStartsAtBase(t *testing.T) {
	m := loadTiny(t, dtypes.Float32)
	baseLogits, baseLoss := logitsAndLoss(t, m, tinyIDs)
	cfg := Config{R: 4, Alpha: 8, TargetModules: DefaultTargetModules, Seed: 1}
	a, err := New(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	logits, loss := logitsAndLoss(t, m, tinyIDs)
	if !slices.Equal(logits, baseLogits) || loss != baseLoss {
		t.Errorf("fresh adapter changes the model: logits max |Δ| = %.3g, loss %v vs %v", testutil.MaxAbsDiff(logits, baseLogits), loss, baseLoss)
	}
	for _, mod := range a.Modules() {
		varA, varB := a.Variables(mod.Name)
		if !varA.Trainable || !varB.Trainable || varA.DType() != dtypes.Float32 || varB.DType() != dtypes.Float32 {
			t.Fatalf("%s: A/B must be trainable float32, got %v/%v %s/%s", mod.Name, varA.Trainable, varB.Trainable, varA.DType(), varB.DType())
		}
		if got := varA.Shape().Dimensions; !slices.Equal(got, []int{mod.Rank, mod.In}) {
			t.Errorf("%s: A shape %v", mod.Name, got)
		}
		for _, v := range variableData(t, varB) {
			if v != 0 {
				t.Fatalf("%s: B not zero", mod.Name)
			}
		}
		bound := 1 / math.Sqrt(float64(mod.In))
		values := variableData(t, varA)
		var sum, sumSq float64
		for _, v := range values {
			if math.Abs(float64(v)) > bound {
				t.Fatalf("%s: A value %v outside ±%v", mod.Name, v, bound)
			}
			sum += float64(v)
			sumSq += float64(v) * float64(v)
		}
		// U(−b, b) has variance b²/3; 256 samples estimate it within ~20%.
		n := float64(len(values))
		if variance := sumSq/n - (sum/n)*(sum/n); math.Abs(variance/(bound*bound/3)-1) > 0.25 {
			t.Errorf("%s: A variance %.4g, want ≈ %.4g", mod.Name, variance, bound*bound/3)
		}
	}

	// Same seed, same A; another seed, another A.
	same, err := New(loadTiny(t, dtypes.Float32), cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seed = 2
	other, err := New(loadTiny(t, dtypes.Float32), cfg)
	if err != nil {
		t.Fatal(err)
	}
	name := a.Modules()[0].Name
	first := func(x *Adapter) []float32 { v, _ := x.Variables(name); return variableData(t, v) }
	if !slices.Equal(first(a), first(same)) {
		t.Error("same seed gave different A")
	}
	if slices.Equal(first(a), first(other)) {
		t.Error("different seeds gave the same A")
	}
}

// TestTargetsAndCounts checks which modules get adapters, the trainable
// count and the dead K/V targets of KV-shared layers (layers 4 and 5).
func TestTargetsAndCounts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		targets   []string
		r         int
		modules   int
		trainable int64
		warn      string // substring of the single expected warning
	}{
		// q,o: r·(64+64) each; k,v: r·(64+32) each; k/v only on layers 0–3.
		{"qkvo r4", DefaultTargetModules, 4, 20, 4 * (6*2*128 + 4*2*96), "skipped 4 K/V projection(s)"},
		{"qkvo r8", DefaultTargetModules, 8, 20, 8 * (6*2*128 + 4*2*96), "layers.4.self_attn.k_proj"},
		{"q only", []string{"q_proj"}, 2, 6, 2 * 6 * 128, ""},
		{"v only", []string{"v_proj"}, 2, 4, 2 * 4 * 96, "layers.5.self_attn.v_proj"},
		{"mlp", []string{"gate_proj", "up_proj", "down_proj"}, 2, 18, 2 * 18 * (64 + 128), ""},
		{"regex layers 1-2 q/o", []string{`layers\.[12]\.self_attn\.[qo]_proj`}, 2, 4, 2 * 4 * 128, ""},
		{"path suffix", []string{"layers.3.self_attn.o_proj"}, 2, 1, 2 * 128, ""},
		{"prefixed regex", []string{`model\.layers\.0\.mlp\..*`}, 2, 3, 2 * 3 * 192, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(loadTiny(t, dtypes.Float32), Config{R: tc.r, Alpha: 16, TargetModules: tc.targets})
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Modules()) != tc.modules || a.NumTrainable() != tc.trainable {
				t.Errorf("%d modules, %d trainable; want %d, %d", len(a.Modules()), a.NumTrainable(), tc.modules, tc.trainable)
			}
			warnings := a.Warnings()
			if tc.warn == "" && len(warnings) != 0 || tc.warn != "" && (len(warnings) != 1 || !strings.Contains(warnings[0], tc.warn)) {
				t.Errorf("warnings %q, want one containing %q", warnings, tc.warn)
			}
			for _, mod := range a.Modules() {
				if strings.HasPrefix(mod.Name, "layers.4.self_attn.k") || strings.HasPrefix(mod.Name, "layers.4.self_attn.v") ||
					strings.HasPrefix(mod.Name, "layers.5.self_attn.k") || strings.HasPrefix(mod.Name, "layers.5.self_attn.v") {
					t.Errorf("dead module %s got an adapter", mod.Name)
				}
				if mod.Scale != 16/float64(tc.r) {
					t.Errorf("%s: scale %v, want %v", mod.Name, mod.Scale, 16/float64(tc.r))
				}
			}
			// Exactly the adapter variables are trainable.
			var trainable int64
			for v := range a.Model().Store.IterVariables() {
				if v.Trainable {
					if v.Name() != VarA && v.Name() != VarB {
						t.Errorf("trainable variable %s is not an adapter", v.Path())
					}
					trainable += int64(v.Shape().Size())
				}
			}
			if trainable != a.NumTrainable() {
				t.Errorf("context holds %d trainable values, NumTrainable says %d", trainable, a.NumTrainable())
			}
		})
	}
}

func TestSummary(t *testing.T) {
	m := loadTiny(t, dtypes.Float32)
	a, err := New(m, Config{R: 4, Alpha: 8, TargetModules: DefaultTargetModules})
	if err != nil {
		t.Fatal(err)
	}
	all := m.Config.NumParameters() + 9216
	want := "trainable params: 9,216 || all params: " + groupThousands(all) + " || trainable%: "
	if s := a.Summary(); !strings.HasPrefix(s, want) {
		t.Errorf("Summary() = %q, want prefix %q", s, want)
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 22282240: "22,282,240"} {
		if got := groupThousands(n); got != want {
			t.Errorf("groupThousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"zero rank", Config{R: 0, Alpha: 8, TargetModules: DefaultTargetModules}, "r = 0"},
		{"negative alpha", Config{R: 4, Alpha: -1, TargetModules: DefaultTargetModules}, "lora_alpha"},
		{"dropout one", Config{R: 4, Alpha: 8, Dropout: 1, TargetModules: DefaultTargetModules}, "lora_dropout"},
		{"no targets", Config{R: 4, Alpha: 8}, "at least one module"},
		{"typo", Config{R: 4, Alpha: 8, TargetModules: []string{"q_proj", "q_porj"}}, `"q_porj" selects no linear layer`},
		{"only dead", Config{R: 4, Alpha: 8, TargetModules: []string{`layers\.[45]\.self_attn\.[kv]_proj`}}, "only unused K/V projections"},
		{"bad regex", Config{R: 4, Alpha: 8, TargetModules: []string{"q_proj("}}, "not a valid regular expression"},
		{"duplicate", Config{R: 4, Alpha: 8, TargetModules: []string{"q_proj", "q_proj"}}, "listed twice"},
		{"embedding", Config{R: 4, Alpha: 8, TargetModules: []string{"embed_tokens"}}, "selects no linear layer"},
		{"bad rank pattern", Config{R: 4, Alpha: 8, TargetModules: DefaultTargetModules, RankPattern: map[string]int{"q_proj": 0}}, "rank_pattern"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(loadTiny(t, dtypes.Float32), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: error %v, want one containing %q", err, tc.want)
			}
		})
	}
	t.Run("twice", func(t *testing.T) {
		m := loadTiny(t, dtypes.Float32)
		if _, err := New(m, DefaultConfig()); err != nil {
			t.Fatal(err)
		}
		if _, err := New(m, DefaultConfig()); err == nil || !strings.Contains(err.Error(), "already has adapter variable") {
			t.Errorf("second New: error %v", err)
		}
	})
}

// TestRankPatternAndRSLoRA: per-module ranks and alphas, rsLoRA scaling.
func TestRankPatternAndRSLoRA(t *testing.T) {
	a, err := New(loadTiny(t, dtypes.Float32), Config{
		R: 4, Alpha: 8, TargetModules: []string{"q_proj", "o_proj"}, UseRSLoRA: true,
		RankPattern: map[string]int{`layers\.0\.self_attn\.q_proj`: 16}, AlphaPattern: map[string]float64{"o_proj": 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, mod := range a.Modules() {
		wantR, wantAlpha := 4, 8.0
		if mod.Name == "layers.0.self_attn.q_proj" {
			wantR = 16
		}
		if strings.HasSuffix(mod.Name, "o_proj") {
			wantAlpha = 2
		}
		if mod.Rank != wantR || mod.Alpha != wantAlpha || mod.Scale != wantAlpha/math.Sqrt(float64(wantR)) {
			t.Errorf("%s: r %d alpha %v scale %v, want r %d alpha %v scale α/√r", mod.Name, mod.Rank, mod.Alpha, mod.Scale, wantR, wantAlpha)
		}
	}
}

// TestGradientsOnlyIntoAdapters: the loss of an adapted model has
// gradients for every A and B, and the only trainable variables the graph
// uses (what an optimizer sees) are the adapters.
func TestGradientsOnlyIntoAdapters(t *testing.T) {
	m := loadTiny(t, dtypes.Float32)
	a, err := Load(m, fixtureAdapter)
	if err != nil {
		t.Fatal(err)
	}
	targets, weights := nextTokenTargets(t, tinyIDs)
	var used []*model.Variable
	exec, err := model.NewExec(testutil.Backend(t), m.Store, func(scope *model.Scope, ids, targets, weights *Node) []*Node {
		g := ids.Graph()
		scope.Store().SetTraining(g, true)
		loss := lossOf(scope, m, ids, targets, weights)
		used = used[:0]
		var params []*Node
		for v := range scope.IterVariables() {
			if v.Trainable && v.InUseByGraph(g) {
				used = append(used, v)
				params = append(params, v.NodeValue(g))
			}
		}
		return Gradient(loss, params...)
	})
	if err != nil {
		t.Fatal(err)
	}
	grads, err := exec.Exec(tinyIDs, targets, weights)
	if err != nil {
		t.Fatal(err)
	}
	if len(used) != 2*len(a.Modules()) {
		t.Fatalf("the graph trains %d variables, want the %d adapter matrices", len(used), 2*len(a.Modules()))
	}
	for i, v := range used {
		if v.Name() != VarA && v.Name() != VarB {
			t.Errorf("trainable variable %s is not an adapter", v.Path())
		}
		norm := 0.0
		for _, g := range tensors.MustCopyFlatData[float32](grads[i]) {
			if math.IsNaN(float64(g)) || math.IsInf(float64(g), 0) {
				t.Fatalf("gradient of %s is not finite", v.Path())
			}
			norm += float64(g) * float64(g)
		}
		if norm == 0 {
			t.Errorf("gradient of %s is zero", v.Path())
		}
	}
	for _, spec := range m.Config.Weights() {
		if m.WeightVariable(spec.Name).Trainable {
			t.Errorf("base weight %s is trainable", spec.Name)
		}
	}
}

// TestGradientMatchesFiniteDifference checks the gradients of A and B
// against central differences of the loss along the gradient direction u
// (where the directional derivative is |∇|, large enough to rise above the
// float32 rounding of the loss).
func TestGradientMatchesFiniteDifference(t *testing.T) {
	if testing.Short() {
		t.Skip("finite differences: skipped in -short")
	}
	m := loadTiny(t, dtypes.Float32)
	a, err := Load(m, fixtureAdapter)
	if err != nil {
		t.Fatal(err)
	}
	targets, weights := nextTokenTargets(t, tinyIDs)
	mod := "layers.0.self_attn.v_proj" // its K/V also feed a KV-shared layer
	varA, varB := a.Variables(mod)
	exec, err := model.NewExec(testutil.Backend(t), m.Store, func(scope *model.Scope, ids, targets, weights *Node) []*Node {
		g := ids.Graph()
		loss := lossOf(scope, m, ids, targets, weights)
		return append([]*Node{loss}, Gradient(loss, varA.NodeValue(g), varB.NodeValue(g))...)
	})
	if err != nil {
		t.Fatal(err)
	}
	run := func() []*tensors.Tensor {
		out, err := exec.Exec(tinyIDs, targets, weights)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	out := run()
	for i, v := range []*model.Variable{varA, varB} {
		grad := tensors.MustCopyFlatData[float32](out[1+i])
		norm := 0.0
		for _, g := range grad {
			norm += float64(g) * float64(g)
		}
		norm = math.Sqrt(norm)
		orig := variableData(t, v)
		const eps = 1e-3
		lossAt := func(step float64) float64 {
			vals := slices.Clone(orig)
			for j := range vals {
				vals[j] += float32(step * float64(grad[j]) / norm)
			}
			if err := v.SetValue(tensors.FromFlatDataAndDimensions(vals, v.Shape().Dimensions...)); err != nil {
				t.Fatal(err)
			}
			return float64(tensors.ToScalar[float32](run()[0]))
		}
		fd := (lossAt(eps) - lossAt(-eps)) / (2 * eps)
		if err := v.SetValue(tensors.FromFlatDataAndDimensions(orig, v.Shape().Dimensions...)); err != nil {
			t.Fatal(err)
		}
		if math.Abs(fd-norm) > 0.005*norm {
			t.Errorf("%s: |gradient| %.6g, finite difference along it %.6g", v.Path(), norm, fd)
		} else {
			t.Logf("%s: |gradient| %.6g, finite difference along it %.6g", v.Path(), norm, fd)
		}
	}
}

// TestDropout: dropout acts only in training graphs and changes the output
// there; evaluation is deterministic and equals the dropout-free model.
func TestDropout(t *testing.T) {
	build := func(rate float64) (*Adapter, func(training bool) []float32) {
		m := loadTiny(t, dtypes.Float32)
		a, err := New(m, Config{R: 4, Alpha: 8, Dropout: rate, TargetModules: DefaultTargetModules, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		setB(t, a, 0.5)
		if err := m.Store.SetRNGStateFromSeed(42); err != nil {
			t.Fatal(err)
		}
		return a, func(training bool) []float32 {
			exec, err := model.NewExec(testutil.Backend(t), m.Store, func(scope *model.Scope, ids *Node) *Node {
				scope.Store().SetTraining(ids.Graph(), training)
				return m.Logits(scope, ids, nil, nil)
			})
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Exec(tinyIDs)
			if err != nil {
				t.Fatal(err)
			}
			return tensors.MustCopyFlatData[float32](out[0])
		}
	}
	_, plain := build(0)
	_, dropped := build(0.5)
	evalPlain, evalDropped := plain(false), dropped(false)
	if !slices.Equal(evalPlain, evalDropped) {
		t.Errorf("dropout changed evaluation logits by %.3g", testutil.MaxAbsDiff(evalPlain, evalDropped))
	}
	if !slices.Equal(plain(true), evalPlain) {
		t.Error("rate 0: training logits differ from evaluation")
	}
	train1, train2 := dropped(true), dropped(true)
	if d := testutil.MaxAbsDiff(train1, evalDropped); d < 1e-3 {
		t.Errorf("rate 0.5: training logits differ from evaluation by only %.3g", d)
	}
	if slices.Equal(train1, train2) {
		t.Error("rate 0.5: two training passes drew the same dropout mask (RNG state not advanced)")
	}
}
