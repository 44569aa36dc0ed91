package train

import (
	stdcontext "context"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
)

// BenchmarkTrainStep measures optimizer steps of the toy model (batch 8 of
// up to 64 tokens, one bucket) and reports training tokens per second.
func BenchmarkTrainStep(b *testing.B) {
	src := mustLMSource(b, toyExamples(64, 30, 48, 64), LMSourceConfig{BatchSize: 8, MaxLen: 64, Buckets: []int{64}, Shuffle: true})
	cfg := testConfig(b.TempDir())
	cfg.Steps = b.N + 1
	var tokens int
	cfg.OnStep = func(m StepMetrics) {
		if m.Step == 1 {
			b.ResetTimer() // the first step compiles the graphs
			return
		}
		tokens += m.StepTokens
	}
	tr, err := New(testutil.Backend(b), newToyModel(30), CausalLM(toyLogits), src, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	if _, err := tr.Run(stdcontext.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}
