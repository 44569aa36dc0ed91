package gemma3n

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// ParseInputIDs parses the JSON token-id input of the logits and generate
// commands, {"input_ids": [[...], ...]}: at least one row, each non-empty,
// every id in [0, vocabSize). With equalLength, all rows must have the same
// length. Errors name the row and column.
func ParseInputIDs(data []byte, vocabSize int, equalLength bool) ([][]int32, error) {
	var doc struct {
		InputIDs [][]json.Number `json:"input_ids"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			line, col := lineCol(data, syn.Offset)
			return nil, fmt.Errorf("invalid JSON at line %d, column %d: %v", line, col, err)
		}
		return nil, fmt.Errorf(`want {"input_ids": [[ids...], ...]}: %v`, err)
	}
	if dec.More() {
		return nil, errors.New("unexpected data after the JSON object")
	}
	if len(doc.InputIDs) == 0 {
		return nil, errors.New(`"input_ids" is missing or has no rows`)
	}
	ids := make([][]int32, len(doc.InputIDs))
	for r, row := range doc.InputIDs {
		if len(row) == 0 {
			return nil, fmt.Errorf("input_ids row %d is empty", r)
		}
		if equalLength && len(row) != len(doc.InputIDs[0]) {
			return nil, fmt.Errorf("input_ids row %d has %d ids, row 0 has %d (rows must have equal length)", r, len(row), len(doc.InputIDs[0]))
		}
		ids[r] = make([]int32, len(row))
		for c, num := range row {
			v, err := num.Int64()
			if err != nil || v < 0 || v >= int64(vocabSize) || v > math.MaxInt32 {
				return nil, fmt.Errorf("input_ids row %d, column %d: %s is not a token id in [0, %d)", r, c, num, vocabSize)
			}
			ids[r][c] = int32(v)
		}
	}
	return ids, nil
}

// ReadInputIDs reads and parses a JSON token-id file (see ParseInputIDs).
func ReadInputIDs(path string, vocabSize int, equalLength bool) ([][]int32, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ids, err := ParseInputIDs(data, vocabSize, equalLength)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ids, nil
}

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
