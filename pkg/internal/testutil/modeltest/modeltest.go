// Package modeltest holds the test helpers that need package gemma3n and
// package lora, which package testutil cannot import (their own tests use
// it). It is imported only by _test.go files.
package modeltest

import (
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
)

// Logits returns the float32 logits of m on one sequence of ids, on the
// test backend.
func Logits(tb testing.TB, m *gemma3n.Model, ids []int32) []float32 {
	tb.Helper()
	logits, _, err := m.Score(testutil.Backend(tb), [][]int32{ids})
	if err != nil {
		tb.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](logits)
}

// AdapterLogits returns the float32 logits on ids of the model in
// directory (or preset) model, loaded in dtype, with the LoRA adapter in
// adapterDir installed.
func AdapterLogits(tb testing.TB, model, adapterDir string, dtype dtypes.DType, ids []int32) []float32 {
	tb.Helper()
	m, err := gemma3n.Open(model, dtype)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := lora.Load(m, adapterDir); err != nil {
		tb.Fatal(err)
	}
	return Logits(tb, m, ids)
}
