package dpo

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph-building code reads best unqualified, as in GoMLX itself

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
)

// Loss types, with TRL's names.
const (
	LossSigmoid = config.LossSigmoid // standard DPO
	LossIPO     = config.LossIPO     // identity preference optimisation
	LossHinge   = config.LossHinge   // SLiC's hinge
)

// Params are the loss settings of a DPO run.
type Params struct {
	// Beta scales the implicit reward β·(log π − log ref); larger values keep
	// the policy closer to the reference.
	Beta float64 `json:"beta"`
	// LossType is LossSigmoid (the default when empty), LossIPO or LossHinge.
	LossType string `json:"loss_type"`
	// LabelSmoothing is the assumed probability ε ∈ [0, 0.5) that a
	// preference label is flipped (robust DPO); sigmoid loss only.
	LabelSmoothing float64 `json:"label_smoothing"`
	// RPOAlpha weights the negative log-likelihood per token of the chosen
	// answer, added to each pair's loss; 0 disables it.
	RPOAlpha float64 `json:"rpo_alpha"`
}

// ParamsFromConfig takes the loss settings of dpo.yaml.
func ParamsFromConfig(c config.DPO) Params {
	return Params{Beta: c.Beta, LossType: c.LossType, LabelSmoothing: c.LabelSmoothing, RPOAlpha: c.RPOAlpha}
}

// lossType returns the loss type with its default.
func (p Params) lossType() string {
	if p.LossType == "" {
		return LossSigmoid
	}
	return p.LossType
}

// Validate checks the ranges of the settings.
func (p Params) Validate() error {
	switch {
	case !(p.Beta > 0) || math.IsInf(p.Beta, 0):
		return fmt.Errorf("dpo: beta %v must be a finite number > 0", p.Beta)
	case p.lossType() != LossSigmoid && p.lossType() != LossIPO && p.lossType() != LossHinge:
		return fmt.Errorf("dpo: unknown loss type %q (want %s, %s or %s)", p.LossType, LossSigmoid, LossIPO, LossHinge)
	case !(p.LabelSmoothing >= 0 && p.LabelSmoothing < 0.5):
		return fmt.Errorf("dpo: label smoothing %v must be in [0, 0.5)", p.LabelSmoothing)
	case p.LabelSmoothing > 0 && p.lossType() != LossSigmoid:
		return fmt.Errorf("dpo: label smoothing applies to the %s loss only, not %s", LossSigmoid, p.lossType())
	case !(p.RPOAlpha >= 0) || math.IsInf(p.RPOAlpha, 0):
		return fmt.Errorf("dpo: rpo_alpha %v must be a finite number ≥ 0", p.RPOAlpha)
	}
	return nil
}

// AveragesLogProbs reports whether the loss compares log-probabilities
// averaged per answer token rather than summed: TRL does so for IPO, whose
// target margin 1/(2β) would otherwise depend on the answers' lengths.
func (p Params) AveragesLogProbs() bool { return p.lossType() == LossIPO }

// PairLosses returns the loss of each pair [B] (float32) from the sequence
// log-probabilities [B] of the chosen and rejected answers under the policy
// and the reference (summed, or averaged for IPO, by the caller). The RPO
// term is not included (see Objective).
func PairLosses(p Params, policyChosen, policyRejected, refChosen, refRejected *Node) *Node {
	h := Sub(Sub(policyChosen, policyRejected), Sub(refChosen, refRejected))
	h = ConvertDType(h, dtypes.Float32)
	switch p.lossType() {
	case LossIPO:
		return Square(AddScalar(h, -1/(2*p.Beta)))
	case LossHinge:
		margin := OneMinus(MulScalar(h, p.Beta))
		return Max(margin, ZerosLike(margin))
	}
	bh := MulScalar(h, p.Beta)
	loss := MulScalar(LogSigmoid(bh), -(1 - p.LabelSmoothing))
	if p.LabelSmoothing > 0 {
		loss = Sub(loss, MulScalar(LogSigmoid(Neg(bh)), p.LabelSmoothing))
	}
	return loss
}

// LogSigmoid is log σ(x) = −softplus(−x), computed without overflow for
// large |x|.
func LogSigmoid(x *Node) *Node { return Neg(Softplus(Neg(x))) }
