package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/jsonpos"
)

// parseInputIDs parses the JSON token-id input of the logits and generate
// commands, {"input_ids": [[...], ...]}: at least one row, each non-empty,
// every id in [0, vocabSize). With equalLength, all rows must have the same
// length. Errors name the row and column, counted from 1.
func parseInputIDs(data []byte, vocabSize int, equalLength bool) ([][]int32, error) {
	var doc struct {
		InputIDs [][]json.Number `json:"input_ids"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			pos, _ := jsonpos.Of(data, err)
			return nil, fmt.Errorf("invalid JSON at %v: %v", pos, err)
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
			return nil, fmt.Errorf("input_ids row %d is empty", r+1)
		}
		if equalLength && len(row) != len(doc.InputIDs[0]) {
			return nil, fmt.Errorf("input_ids row %d has %d ids, row 1 has %d (rows must have equal length)", r+1, len(row), len(doc.InputIDs[0]))
		}
		ids[r] = make([]int32, len(row))
		for c, num := range row {
			v, err := num.Int64()
			if err != nil || v < 0 || v >= int64(vocabSize) || v > math.MaxInt32 {
				return nil, fmt.Errorf("input_ids row %d, column %d: %s is not a token id in [0, %d)", r+1, c+1, num, vocabSize)
			}
			ids[r][c] = int32(v)
		}
	}
	return ids, nil
}

// readInputIDs reads and parses a JSON token-id file (see parseInputIDs).
func readInputIDs(path string, vocabSize int, equalLength bool) ([][]int32, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ids, err := parseInputIDs(data, vocabSize, equalLength)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ids, nil
}
