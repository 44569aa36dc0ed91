package curriculum

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// TestCurriculumOptimizerState runs a two-phase curriculum (two steps, then
// one) with curriculum.optimizer_state carry and with reset. Both second
// phases start from the same adapter and take the same first gradient g,
// so after their first step the moments are m = β1·m0 + (1−β1)·g and
// v = β2·v0 + (1−β2)·g², where m0, v0 are the moments they started with.
// Hence carry − reset = β·(start of carry − start of reset) for either
// moment, and with zero starts v = (1−β2)/(1−β1)²·m². The test finds the
// latter in reset's moments (reset started from zeros) and the former equal
// to β times the first phase's final moments (carry started from them).
func TestCurriculumOptimizerState(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a two-phase curriculum twice (about 15 s)")
	}
	const beta1, beta2 = 0.8, 0.95
	run := func(state string) (*Summary, string) {
		out := t.TempDir()
		o := smallOptions(t, "tiny", out,
			"curriculum.phases=[{name: first, mix: {counselchat: 50, annomi: 50}, learning_rate: 1e-4, size: 4, epochs: 2},"+
				" {name: second, mix: {counselchat: 25, annomi: 75}, learning_rate: 5e-5, size: 4, epochs: 1}]",
			"curriculum.run_dpo_after=false", "curriculum.merge_final_model=false",
			"curriculum.optimizer_state="+state,
			"training.adam_beta1=0.8", "training.adam_beta2=0.95", "training.weight_decay=0.01")
		o.Epochs = 0 // keep each phase's own
		o.MaxEvalExamples = 1
		s, err := RunCurriculum(t.Context(), o)
		if err != nil {
			t.Fatalf("%s: %v", state, err)
		}
		if len(s.Phases) != 2 || s.Phases[0].Steps != 2 || s.Phases[1].Steps != 1 || s.OptimizerState != state {
			t.Fatalf("%s: %+v", state, s)
		}
		return s, out
	}
	carry, carryOut := run(config.OptimizerCarry)
	reset, resetOut := run(config.OptimizerReset)

	first := filepath.Join(carry.Phases[0].Dir, "checkpoints", "step-00000002")
	if carry.Phases[0].InitOptimizer != "" || carry.Phases[1].InitOptimizer != first {
		t.Errorf("carry: phases started their optimizer from %q and %q, want none and %q", carry.Phases[0].InitOptimizer, carry.Phases[1].InitOptimizer, first)
	}
	if reset.Phases[1].InitOptimizer != "" {
		t.Errorf("reset: the second phase started its optimizer from %q", reset.Phases[1].InitOptimizer)
	}
	moments := func(dir string) map[string][]float32 {
		t.Helper()
		ckpt, err := train.LoadCheckpoint(dir)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]float32{}
		for key, value := range ckpt.Variables {
			if strings.HasPrefix(key, train.OptimizerScope+"/") {
				out[key] = tensors.MustCopyFlatData[float32](value)
			}
		}
		if len(out) == 0 {
			t.Fatalf("%s holds no optimizer moments", dir)
		}
		return out
	}
	m0 := moments(filepath.Join(carryOut, first))
	if d := momentsDiff(t, m0, moments(filepath.Join(resetOut, first))); d != 0 {
		t.Fatalf("the first phases differ (by %g): the comparison needs identical ones", d)
	}
	secondCarry := moments(filepath.Join(carryOut, carry.Phases[1].Dir, "checkpoints", "step-00000001"))
	secondReset := moments(filepath.Join(resetOut, reset.Phases[1].Dir, "checkpoints", "step-00000001"))
	if len(secondCarry) != len(m0) || len(secondReset) != len(m0) {
		t.Fatalf("%d, %d and %d moments", len(m0), len(secondCarry), len(secondReset))
	}
	var worst, scale float64
	for key, mr := range secondReset {
		if !strings.HasSuffix(key, "_m") {
			continue
		}
		vr := secondReset[strings.TrimSuffix(key, "_m")+"_v"]
		for i := range mr {
			want := (1 - beta2) / ((1 - beta1) * (1 - beta1)) * float64(mr[i]) * float64(mr[i])
			worst = math.Max(worst, math.Abs(float64(vr[i])-want))
			scale = math.Max(scale, want)
		}
	}
	t.Logf("reset, after its first step: |v − (1−β2)/(1−β1)²·m²| ≤ %.3g (largest v %.3g)", worst, scale)
	if scale == 0 || worst > 1e-4*scale {
		t.Errorf("reset's second phase did not start from zero moments: v − (1−β2)/(1−β1)²·m² up to %g (scale %g)", worst, scale)
	}

	worst, scale = 0, 0
	for key, start := range m0 {
		beta := beta1
		if strings.HasSuffix(key, "_v") {
			beta = beta2
		}
		c, r := secondCarry[key], secondReset[key]
		for i := range start {
			want := beta * float64(start[i])
			worst = math.Max(worst, math.Abs(float64(c[i])-float64(r[i])-want))
			scale = math.Max(scale, math.Abs(want))
		}
	}
	t.Logf("second phase, after its first step: |carry − reset − β·(first phase's final moments)| ≤ %.3g (largest β·moment %.3g)", worst, scale)
	if scale == 0 || worst > 1e-5*scale {
		t.Errorf("carry − reset differs from β × the first phase's final moments by %g (scale %g)", worst, scale)
	}
}

// momentsDiff is the largest |Δ| between two sets of the same moments.
func momentsDiff(t *testing.T, a, b map[string][]float32) float64 {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d and %d moments", len(a), len(b))
	}
	worst := 0.0
	for key, x := range a {
		y := b[key]
		if len(x) != len(y) {
			t.Fatalf("moment %s: %d and %d values", key, len(x), len(y))
		}
		for i := range x {
			worst = math.Max(worst, math.Abs(float64(x[i])-float64(y[i])))
		}
	}
	return worst
}
