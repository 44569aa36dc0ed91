package bench

import (
	"math"
	"testing"
)

func TestTrainFLOPsPerToken(t *testing.T) {
	cfg, err := ModelSize{Preset: DefaultPreset}.Config()
	if err != nil {
		t.Fatal(err)
	}
	perToken := TrainFLOPsPerToken(cfg, 2048)
	// E2B runs about 1.9 B weights per token in products (the 2.1 B of
	// embedding tables are lookups) plus the 0.54 B LM head: ~2 × 2 × 2.4 B.
	if perToken < 8e9 || perToken > 1.2e10 {
		t.Errorf("E2B at 2048 tokens: %.3g FLOPs per training token, want 8e9…1.2e10", perToken)
	}
	// A larger vocabulary adds exactly its LM-head products, forward and backward.
	bigger := cfg.Clone()
	bigger.VocabSize += 1000
	if d := TrainFLOPsPerToken(bigger, 2048) - perToken; math.Abs(d-4*1000*float64(cfg.HiddenSize)) > 1 {
		t.Errorf("1000 more vocabulary rows add %.6g FLOPs, want %d", d, 4*1000*cfg.HiddenSize)
	}
	// Sliding layers stop growing at the window; full layers keep growing.
	short, long := TrainFLOPsPerToken(cfg, 512), TrainFLOPsPerToken(cfg, 4096)
	if !(short < perToken && perToken < long) {
		t.Errorf("FLOPs per token at 512, 2048, 4096: %.4g, %.4g, %.4g: want increasing", short, perToken, long)
	}
	for _, tc := range []struct {
		seq, window int
		want        float64
	}{{4, 4, 2.5}, {4, 2, 1.75}, {1, 8, 1}, {0, 8, 0}} {
		if got := meanVisibleKeys(tc.seq, tc.window); got != tc.want {
			t.Errorf("meanVisibleKeys(%d, %d) = %v, want %v", tc.seq, tc.window, got, tc.want)
		}
	}
}
