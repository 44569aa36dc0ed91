// Package logprob is the project's one cross-entropy: the log-probability
// of each label under the logits of a language model, as a GoMLX graph. The
// model's loss (gemma3n.Loss), the trainer's causal-LM objective and DPO's
// sequence scores (train.TokenLogProbs) all compute it here.
package logprob

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive,staticcheck // graph-building code reads best unqualified, as in GoMLX itself
)

// AtLabels returns, in float32, log p(labels) under logits [..., V]
// (any float dtype; labels are integer ids with the shape of logits without
// its last axis): the log-softmax at the label only, logit[label] −
// max − log Σ exp(logits − max), stabilised by the row maximum (a
// constant for the gradient).
func AtLabels(logits, labels *Node) *Node {
	logProbs, _, _ := atLabels(logits, labels)
	return logProbs
}

// AtLabelsWithArgMax is AtLabels plus a 0/1 float32 tensor of the labels'
// shape that is 1 where the label is the arg-max of the logits (for an
// accuracy metric; no gradient flows through it).
func AtLabelsWithArgMax(logits, labels *Node) (logProbs, isArgMax *Node) {
	logProbs, picked, shifted := atLabels(logits, labels)
	// The label is the arg-max when its logit equals the maximum.
	best := Reshape(StopGradient(ReduceMax(shifted, -1)), labels.Shape().Dimensions...)
	isArgMax = ConvertDType(GreaterOrEqual(StopGradient(picked), best), dtypes.Float32)
	return logProbs, isArgMax
}

// atLabels returns the log-probabilities, the shifted logit at each label
// and the shifted logits (logits − row maximum).
func atLabels(logits, labels *Node) (logProbs, picked, shifted *Node) {
	if logits.Rank() != labels.Rank()+1 {
		panic(fmt.Errorf("logprob: logits %s must have one axis more than labels %s", logits.Shape(), labels.Shape()))
	}
	g := logits.Graph()
	logits = ConvertDType(logits, dtypes.Float32)
	vocab := logits.Shape().Dim(-1)
	outer := labels.Shape().Dimensions
	n := labels.Shape().Size()

	maxLogit := StopGradient(ReduceAndKeep(logits, ReduceMax, -1))
	shifted = Sub(logits, maxLogit)
	logSumExp := Log(ReduceSum(Exp(shifted), -1))

	// Gather logit[row, label] from the flattened [n, V] logits; a gather
	// avoids materialising an [n, V] one-hot tensor for large vocabularies.
	flat := Reshape(shifted, n, vocab)
	rows := Iota(g, shapes.Make(dtypes.Int32, n, 1), 0)
	cols := Reshape(ConvertDType(labels, dtypes.Int32), n, 1)
	picked = Reshape(Gather(flat, Concatenate([]*Node{rows, cols}, 1)), outer...)
	return Sub(picked, logSumExp), picked, shifted
}
