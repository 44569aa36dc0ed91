package dpo

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// ComputeReference runs reference once over every pair of src, in
// evaluation mode, and returns the log-probabilities of the chosen and
// rejected answers (float32 sums over the answer tokens) in the order of
// src.Pairs — the values SetReference expects. Pairs are batched by length
// (BatchSize pairs at a time), so the graphs compiled are those of src's
// buckets. progress, if not nil, is called after each batch.
func ComputeReference(b compute.Backend, store *model.Store, reference train.LogitsFn, src *PairSource,
	progress func(done, total int)) (chosen, rejected []float32, err error) {
	if b == nil || store == nil || reference == nil || src == nil {
		return nil, nil, fmt.Errorf("dpo: ComputeReference needs a backend, a model store, a reference model and a source")
	}
	exec, err := model.NewExec(b, store, func(scope *model.Scope, inputs []*Node) *Node {
		g := inputs[0].Graph()
		scope.Store().SetTraining(g, false)
		weights := ConvertDType(inputs[LossWeights], dtypes.Float32)
		logProbs, _ := SequenceLogProbs(reference(scope, inputs[InputIDs], inputs[AttentionMask]), inputs[Labels], weights)
		return logProbs
	})
	if err != nil {
		return nil, nil, fmt.Errorf("dpo: reference graph: %w", err)
	}
	defer exec.Finalize()
	exec.SetMaxCache(-1)

	n, bs := src.NumPairs(), src.cfg.BatchSize
	chosen, rejected = make([]float32, n), make([]float32, n)
	done := 0
	for _, rows := range src.lengthOrder() {
		batch := src.pad(rows, false)
		values, err := execLogProbs(exec, batch.Inputs[:AttentionMask+1])
		if err != nil {
			return nil, nil, fmt.Errorf("dpo: reference log-probabilities of pairs %v: %w", rows, err)
		}
		for b, r := range rows {
			chosen[r], rejected[r] = values[b], values[bs+b]
			if !isFinite32(chosen[r]) || !isFinite32(rejected[r]) {
				return nil, nil, fmt.Errorf("dpo: pair %d: the reference log-probabilities (%v, %v) are not finite", r, chosen[r], rejected[r])
			}
		}
		done += len(rows)
		if progress != nil {
			progress(done, n)
		}
	}
	return chosen, rejected, nil
}

// execLogProbs runs the reference graph (train.Execute) and reads its
// log-probabilities.
func execLogProbs(exec *model.Exec, inputs []*tensors.Tensor) ([]float32, error) {
	outs, err := train.Execute(exec, inputs)
	if err != nil {
		return nil, err
	}
	return tensors.CopyFlatData[float32](outs[0])
}
