package gemma3n

import (
	"errors"
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Score runs the model on rows of equal length and returns the float32
// logits [B, T, V] and the mean next-token cross-entropy with the inputs as
// labels (every position but the last of each row predicts the next id).
func (m *Model) Score(b compute.Backend, ids [][]int32) (logits *tensors.Tensor, loss float32, err error) {
	if len(ids) == 0 {
		return nil, 0, errors.New("gemma3n: score: no rows")
	}
	for r, row := range ids {
		if len(row) != len(ids[0]) || len(row) == 0 {
			return nil, 0, fmt.Errorf("gemma3n: score: row %d has %d ids, row 0 has %d", r, len(row), len(ids[0]))
		}
		for c, id := range row {
			if id < 0 || int(id) >= m.Config.VocabSize {
				return nil, 0, fmt.Errorf("gemma3n: score: row %d, column %d: id %d outside the vocabulary [0, %d)", r, c, id, m.Config.VocabSize)
			}
		}
	}
	targets, weights, err := NextTokenTargets(ids, nil)
	if err != nil {
		return nil, 0, err
	}
	exec, err := model.NewExec(b, m.Store, func(scope *model.Scope, ids, targets, weights *Node) (*Node, *Node) {
		logits := m.Logits(scope, ids, nil, nil)
		return ConvertDType(logits, dtypes.Float32), Loss(logits, targets, weights)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("gemma3n: score: %w", err)
	}
	defer exec.Finalize()
	out, err := exec.Exec(ids, targets, weights)
	if err != nil {
		return nil, 0, fmt.Errorf("gemma3n: score: %w", err)
	}
	return out[0], tensors.ToScalar[float32](out[1]), nil
}
