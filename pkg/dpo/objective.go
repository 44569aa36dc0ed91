package dpo

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// Model is what DPO trains and compares against.
type Model struct {
	// Policy computes the next-token logits of the model being trained.
	Policy train.LogitsFn
	// Reference computes the reference model's logits in the same graph,
	// without dropout and without gradient. It may be nil when every batch
	// carries precomputed reference log-probabilities (PairSource.SetReference).
	Reference train.LogitsFn
}

// Metric names, as TRL logs them. Each is summed over the pairs of a step
// and divided by their number by the trainer, so it reads as a mean per pair.
const (
	MetricRewardsChosen   = "rewards/chosen"     // β·(log π(c) − log ref(c))
	MetricRewardsRejected = "rewards/rejected"   // β·(log π(r) − log ref(r))
	MetricMargin          = "rewards/margins"    // rewards/chosen − rewards/rejected
	MetricAccuracy        = "rewards/accuracies" // share of pairs whose chosen reward is the larger
	MetricLogPChosen      = "logps/chosen"       // policy log-probability of the chosen answer (per token for IPO)
	MetricLogPRejected    = "logps/rejected"     // policy log-probability of the rejected answer (per token for IPO)
	MetricNLL             = "nll"                // chosen NLL per token (with RPOAlpha > 0 only)
)

// Objective returns the train.Objective of DPO for batches of a PairSource:
// Loss.Sum is the sum of the pair losses (plus the RPO term), Loss.Weight the
// number of real pairs, and the metrics are sums over the pairs. The
// reference log-probabilities come from the batch when it carries them, else
// from m.Reference in the same graph.
func Objective(m Model, p Params) (train.Objective, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if m.Policy == nil {
		return nil, fmt.Errorf("dpo: the model has no policy")
	}
	return func(scope *model.Scope, inputs []*Node) train.Loss {
		return objectiveLoss(scope, m, p, inputs)
	}, nil
}

func objectiveLoss(scope *model.Scope, m Model, p Params, inputs []*Node) train.Loss {
	if len(inputs) != numInputs-1 && len(inputs) != numInputs {
		panic(fmt.Errorf("dpo: want %d or %d inputs (ids, labels, weights, attention, pair mask[, reference log-probs]), got %d",
			numInputs-1, numInputs, len(inputs)))
	}
	ids, labels, attention := inputs[InputIDs], inputs[Labels], inputs[AttentionMask]
	weights := ConvertDType(inputs[LossWeights], dtypes.Float32)
	pairMask := ConvertDType(inputs[PairMask], dtypes.Float32)

	policy, counts := SequenceLogProbs(m.Policy(scope, ids, attention), labels, weights)
	var ref *Node
	if len(inputs) == numInputs {
		ref = ConvertDType(inputs[RefLogProbs], dtypes.Float32)
	} else {
		if m.Reference == nil {
			panic(fmt.Errorf("dpo: the batch carries no reference log-probabilities and the model has no reference"))
		}
		ref = referenceLogProbs(scope, m.Reference, ids, labels, weights, attention)
	}
	ref = StopGradient(ref)
	return pairLoss(p, policy, ref, counts, pairMask)
}

// SequenceLogProbs returns, per row, the float32 sum of log p(label) over the
// positions where weights is 1, and the number of those positions.
func SequenceLogProbs(logits, labels, weights *Node) (logProbs, counts *Node) {
	tokens, _ := train.TokenLogProbs(logits, labels)
	// Where, not a product: a non-finite value on a padding position must not
	// leak into the sum.
	picked := Where(GreaterThan(weights, ZerosLike(weights)), Mul(tokens, weights), ZerosLike(tokens))
	return ReduceSum(picked, -1), ReduceSum(weights, -1)
}

// referenceLogProbs runs the reference model in evaluation mode (no dropout)
// in the graph being built, and restores the graph's training flag.
func referenceLogProbs(scope *model.Scope, reference train.LogitsFn, ids, labels, weights, attention *Node) *Node {
	g := ids.Graph()
	training := scope.IsTraining(g)
	scope.Store().SetTraining(g, false)
	defer scope.Store().SetTraining(g, training)
	logProbs, _ := SequenceLogProbs(reference(scope, ids, attention), labels, weights)
	return logProbs
}

// pairLoss computes the loss and metric sums from the sequence
// log-probabilities [2B] (chosen rows first) of the policy and the
// reference, the answer lengths [2B] and the pair mask [B].
func pairLoss(p Params, policy, ref, counts, pairMask *Node) train.Loss {
	chosen, rejected := splitRows(policy)
	refChosen, refRejected := splitRows(ref)
	lenChosen, lenRejected := splitRows(counts)
	// A padding pair has no tokens: divide by at least 1.
	lenChosen = Max(lenChosen, OnesLike(lenChosen))
	lenRejected = Max(lenRejected, OnesLike(lenRejected))

	c, r, rc, rr := chosen, rejected, refChosen, refRejected
	if p.AveragesLogProbs() {
		c, r, rc, rr = Div(c, lenChosen), Div(r, lenRejected), Div(rc, lenChosen), Div(rr, lenRejected)
	}
	losses := PairLosses(p, c, r, rc, rr)
	nll := Div(Neg(chosen), lenChosen) // per token
	if p.RPOAlpha > 0 {
		losses = Add(losses, MulScalar(nll, p.RPOAlpha))
	}

	rewardsChosen := StopGradient(MulScalar(Sub(c, rc), p.Beta))
	rewardsRejected := StopGradient(MulScalar(Sub(r, rr), p.Beta))
	correct := ConvertDType(GreaterThan(rewardsChosen, rewardsRejected), dtypes.Float32)
	sum := func(x *Node) *Node { return ReduceAllSum(Mul(x, pairMask)) }
	metrics := map[string]*Node{
		MetricRewardsChosen:   sum(rewardsChosen),
		MetricRewardsRejected: sum(rewardsRejected),
		MetricMargin:          sum(Sub(rewardsChosen, rewardsRejected)),
		MetricAccuracy:        sum(correct),
		MetricLogPChosen:      sum(StopGradient(c)),
		MetricLogPRejected:    sum(StopGradient(r)),
	}
	if p.RPOAlpha > 0 {
		metrics[MetricNLL] = sum(StopGradient(nll))
	}
	return train.Loss{Sum: sum(losses), Weight: ReduceAllSum(pairMask), Metrics: metrics}
}

// splitRows splits x [2B] into its first (chosen) and second (rejected)
// halves [B].
func splitRows(x *Node) (first, second *Node) {
	halves := Split(x, 0, 2)
	return halves[0], halves[1]
}
