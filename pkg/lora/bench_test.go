package lora

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkMergeE2BProjection merges one E2B-sized q_proj update
// (2048×2048, r=64) on the host: the E2B model has 100 such-or-smaller
// modules with q/k/v/o targets.
func BenchmarkMergeE2BProjection(b *testing.B) {
	m := Module{Name: "layers.0.self_attn.q_proj", In: 2048, Out: 2048, Rank: 64, Alpha: 128, Scale: 2}
	rng := rand.New(rand.NewPCG(1, 2))
	A, B := make([]float32, m.Rank*m.In), make([]float32, m.Out*m.Rank)
	for i := range A {
		A[i] = float32(rng.NormFloat64())
	}
	for i := range B {
		B[i] = float32(rng.NormFloat64())
	}
	out := make([]float32, m.Out*m.In)
	b.SetBytes(int64(4 * m.Out * m.In))
	for b.Loop() {
		addLowRank(m, A, B, func(i int, d float64) { out[i] = float32(d) })
	}
	b.ReportMetric(float64(2*m.Out*m.In*m.Rank)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
