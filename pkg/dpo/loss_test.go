package dpo

import (
	"math"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
)

// logSigmoid is log σ(x) in float64, for the expected values.
func logSigmoid(x float64) float64 {
	if x > 0 {
		return -math.Log1p(math.Exp(-x))
	}
	return x - math.Log1p(math.Exp(x))
}

// formulaLoss is the loss of one pair written out from the definitions.
func formulaLoss(p Params, pc, pr, rc, rr float64) float64 {
	h := (pc - pr) - (rc - rr)
	switch p.lossType() {
	case LossIPO:
		return (h - 1/(2*p.Beta)) * (h - 1/(2*p.Beta))
	case LossHinge:
		return math.Max(0, 1-p.Beta*h)
	}
	eps := p.LabelSmoothing
	return -(1-eps)*logSigmoid(p.Beta*h) - eps*logSigmoid(-p.Beta*h)
}

func runPairLosses(t *testing.T, p Params, pc, pr, rc, rr []float32) []float32 {
	t.Helper()
	exec, err := NewExec(testutil.Backend(t), func(pc, pr, rc, rr *Node) *Node { return PairLosses(p, pc, pr, rc, rr) })
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	out, err := exec.Exec(pc, pr, rc, rr)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](out[0])
}

// The loss of known log-probabilities equals the formula of each loss type:
// first on a hand-computed pair (h = (−10 + 14) − (−11 + 13) = 2), then on
// pairs with large and negative h, where a naive log(sigmoid) would overflow.
func TestPairLossesFormula(t *testing.T) {
	pc := []float32{-10, -30, -200, -5}
	pr := []float32{-14, -10, -400, -50}
	rc := []float32{-11, -30, -150, -5}
	rr := []float32{-13, -30, -900, -5}
	for _, tc := range []struct {
		name string
		p    Params
		hand float64 // expected loss of pair 0, computed by hand
	}{
		{"sigmoid", Params{Beta: 0.1}, 0.5981388693815918}, // −log σ(0.2)
		{"sigmoid default type", Params{Beta: 0.1, LossType: ""}, 0.5981388693815918},
		{"sigmoid beta 0.5", Params{Beta: 0.5, LossType: LossSigmoid}, 0.31326168751822286}, // −log σ(1)
		{"robust", Params{Beta: 0.1, LossType: LossSigmoid, LabelSmoothing: 0.1}, 0.6181388693815918},
		{"ipo", Params{Beta: 0.1, LossType: LossIPO}, 9},       // (2 − 5)²
		{"hinge", Params{Beta: 0.1, LossType: LossHinge}, 0.8}, // 1 − 0.2
		{"hinge inactive", Params{Beta: 0.5, LossType: LossHinge}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := runPairLosses(t, tc.p, pc, pr, rc, rr)
			if math.Abs(float64(got[0])-tc.hand) > 1e-5 {
				t.Errorf("pair 0: loss %.7f, hand-computed %.7f", got[0], tc.hand)
			}
			for i := range got {
				want := formulaLoss(tc.p, float64(pc[i]), float64(pr[i]), float64(rc[i]), float64(rr[i]))
				if math.IsNaN(float64(got[i])) || math.Abs(float64(got[i])-want) > 1e-5*math.Max(1, math.Abs(want)) {
					t.Errorf("pair %d: loss %v, formula %v", i, got[i], want)
				}
			}
		})
	}
}

// With the policy equal to the reference (h = 0) the sigmoid loss is log 2
// whatever β, with or without label smoothing.
func TestPairLossesAtReference(t *testing.T) {
	logps := []float32{-3, -40, -7.5}
	for _, p := range []Params{{Beta: 0.1}, {Beta: 2}, {Beta: 0.1, LabelSmoothing: 0.2}} {
		for i, v := range runPairLosses(t, p, logps, logps, logps, logps) {
			if math.Abs(float64(v)-math.Ln2) > 1e-6 {
				t.Errorf("%+v pair %d: loss %v, want log 2", p, i, v)
			}
		}
	}
}

func TestParamsValidate(t *testing.T) {
	for _, tc := range []struct {
		p    Params
		want string // "" for valid
	}{
		{Params{Beta: 0.1}, ""},
		{Params{Beta: 0.1, LossType: LossIPO, RPOAlpha: 1}, ""},
		{Params{Beta: 0}, "beta"},
		{Params{Beta: math.Inf(1)}, "beta"},
		{Params{Beta: math.NaN()}, "beta"},
		{Params{Beta: 0.1, LossType: "kto"}, `unknown loss type "kto"`},
		{Params{Beta: 0.1, LabelSmoothing: 0.5}, "label smoothing"},
		{Params{Beta: 0.1, LabelSmoothing: -0.1}, "label smoothing"},
		{Params{Beta: 0.1, LossType: LossHinge, LabelSmoothing: 0.1}, "sigmoid loss only"},
		{Params{Beta: 0.1, RPOAlpha: -1}, "rpo_alpha"},
	} {
		err := tc.p.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: unexpected error %v", tc.p, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: error %v, want one mentioning %q", tc.p, err, tc.want)
		}
	}
}
