package dpo

import (
	stdcontext "context"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// BenchmarkTinyDPOStep measures optimizer steps of the tiny fixture Gemma 3n
// (2 pairs of up to 32 tokens per step, one bucket) with the reference
// either computed in the training graph (a second forward pass) or
// precomputed, and reports pairs and tokens per second.
func BenchmarkTinyDPOStep(b *testing.B) {
	for _, precompute := range []bool{false, true} {
		name := map[bool]string{false: "in-graph", true: "precomputed"}[precompute]
		b.Run(name, func(b *testing.B) {
			cfg := tinySourceConfig()
			cfg.Buckets = []int{32}
			src := mustPairSource(b, tinyPairs(16, 5), cfg)
			m, a := loadTinyWithAdapter(b)
			model, err := NewLoRAModel(m, a, ReferenceSFT)
			if err != nil {
				b.Fatal(err)
			}
			if precompute {
				chosen, rejected, err := ComputeReference(testutil.Backend(b), m.Store, Logits(m), src, nil)
				if err != nil {
					b.Fatal(err)
				}
				if err := src.SetReference(chosen, rejected); err != nil {
					b.Fatal(err)
				}
			}
			tc := testTrainConfig(b.TempDir())
			tc.Steps = b.N + 1
			var pairs, tokens int
			tc.OnStep = func(s train.StepMetrics) {
				if s.Step == 1 {
					b.ResetTimer() // the first step compiles the graphs
					return
				}
				pairs += int(s.StepWeight)
				tokens += s.StepTokens
			}
			tr, err := train.New(testutil.Backend(b), m.Store, mustObjective(b, model, Params{Beta: 0.1}), src, tc)
			if err != nil {
				b.Fatal(err)
			}
			defer tr.Close()
			if _, err := tr.Run(stdcontext.Background()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(pairs)/b.Elapsed().Seconds(), "pairs/s")
			b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
