package gemma3n

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/logprob"
)

// Loss is the mean next-token cross-entropy (spec §3.9), in float32, of logits
// [B, T, V] (soft-capped, any float dtype) against targets [B, T] (integer
// ids: targets[b, t] is the token position t must predict, i.e. the input
// shifted left by one; see NextTokenTargets), counting only positions where
// weights [B, T] is non-zero (bool, or float weights). It returns a scalar:
// Σ w·CE / Σ w, or 0 when no position counts. The cross-entropy is the
// project's one (pkg/internal/logprob, also behind train.TokenLogProbs).
//
// The labels come already shifted, so the graph needs no slicing of the
// logits and the same targets serve every batch layout (padding, packing).
func Loss(logits, targets, weights *Node) *Node {
	if logits.Rank() != 3 || targets.Rank() != 2 || weights.Rank() != 2 {
		panic(fmt.Sprintf("gemma3n.Loss: want logits [B,T,V], targets and weights [B,T]; got %s, %s, %s",
			logits.Shape(), targets.Shape(), weights.Shape()))
	}
	g := logits.Graph()
	logProbs := logprob.AtLabels(logits, targets) // [B,T], float32
	w := ConvertDType(weights, dtypes.Float32)
	total := ReduceAllSum(w)
	denom := Max(total, ScalarOne(g, dtypes.Float32))
	return Div(Neg(ReduceAllSum(Mul(logProbs, w))), denom)
}

// NextTokenTargets prepares the inputs of Loss on the host from token ids
// [B][T]: targets[b][t] = ids[b][t+1] (0 at the last position) and weight 1
// where position t predicts a supervised token. labelMask, if not nil,
// marks which tokens are supervised (like HF labels ≠ −100); nil
// supervises every token but the first of each row.
func NextTokenTargets(ids [][]int32, labelMask [][]bool) (targets [][]int32, weights [][]float32, err error) {
	if labelMask != nil && len(labelMask) != len(ids) {
		return nil, nil, fmt.Errorf("label mask has %d rows for %d rows of ids", len(labelMask), len(ids))
	}
	targets = make([][]int32, len(ids))
	weights = make([][]float32, len(ids))
	for b, row := range ids {
		if labelMask != nil && len(labelMask[b]) != len(row) {
			return nil, nil, fmt.Errorf("row %d: label mask has %d entries for %d ids", b, len(labelMask[b]), len(row))
		}
		targets[b] = make([]int32, len(row))
		weights[b] = make([]float32, len(row))
		for t := 0; t+1 < len(row); t++ {
			targets[b][t] = row[t+1]
			if labelMask == nil || labelMask[b][t+1] {
				weights[b][t] = 1
			}
		}
	}
	return targets, weights, nil
}
