package train

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph-building code reads best unqualified, as in GoMLX itself
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/logprob"
)

// Loss is what an Objective computes for one micro-batch. The loss the
// trainer minimises is ΣSum / ΣWeight over all micro-batches of an optimizer
// step (and over a whole evaluation set), so that gradient accumulation of
// N micro-batches equals one batch N times larger, padding included.
type Loss struct {
	// Sum is a float scalar: the sum of the per-unit losses of the batch
	// (for causal LM: the negative log-likelihood summed over target tokens).
	Sum *Node
	// Weight is a float scalar: the number of units in Sum (target tokens, pairs).
	Weight *Node
	// Metrics are optional float scalars, summed like Sum and reported divided
	// by the total Weight (e.g. a count of correct predictions gives accuracy).
	// Every graph of one run must return the same metric names.
	Metrics map[string]*Node
}

// Objective builds the loss graph of one micro-batch: inputs are the batch's
// tensors in the order the Source produced them. Model variables live in the
// scope's store:
// the trainable ones (Variable.Trainable) are optimized, the others stay
// bitwise unchanged. scope.IsTraining(g) tells training from evaluation graphs.
type Objective func(scope *model.Scope, inputs []*Node) Loss

// LogitsFn is a causal language model: token ids [B,L] int32 and attention
// mask [B,L] float32 (0 on padding, else the number of the token's example
// within its row: all 1 unless LMSource packs; a model must not let one
// example attend to another) to next-token logits [B,L,V].
type LogitsFn func(scope *model.Scope, inputIDs, attentionMask *Node) (logits *Node)

// CausalLM is the supervised fine-tuning objective for a batch of LMSource:
// the cross-entropy of the next token, summed over target tokens (Weight is
// their count), computed in float32 whatever the logits dtype. It also
// reports the metric "accuracy" (share of targets that are the arg-max).
func CausalLM(lm LogitsFn) Objective {
	return func(scope *model.Scope, inputs []*Node) Loss {
		if len(inputs) < numLMInputs {
			panic(fmt.Errorf("train.CausalLM: want %d inputs (ids, labels, weights, attention), got %d", numLMInputs, len(inputs)))
		}
		logits := lm(scope, inputs[InputIDs], inputs[AttentionMask])
		logProbs, correct := TokenLogProbs(logits, inputs[Labels])
		weights := ConvertDType(inputs[LossWeights], dtypes.Float32)
		return Loss{
			Sum:     Neg(ReduceAllSum(Mul(logProbs, weights))),
			Weight:  ReduceAllSum(weights),
			Metrics: map[string]*Node{"accuracy": ReduceAllSum(Mul(correct, weights))},
		}
	}
}

// TokenLogProbs returns, in float32, log p(labels) under logits [..., V]
// (labels have the shape of logits without its last axis), and a 0/1 float32
// tensor that is 1 where the label is the arg-max of the logits. DPO uses the
// log-probabilities to score sequences. It is the project's one
// cross-entropy (pkg/internal/logprob), shared with gemma3n.Loss.
func TokenLogProbs(logits, labels *Node) (logProbs, correct *Node) {
	return logprob.AtLabelsWithArgMax(logits, labels)
}
