package bench

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func tinyTrainOptions() TrainOptions {
	opts := DefaultTrainOptions()
	opts.Size = tinySize
	opts.Batch, opts.Seq, opts.Warmup, opts.Steps = 2, 32, 1, 3
	return opts
}

func TestTrainTiny(t *testing.T) {
	opts := tinyTrainOptions()
	r, err := Train(testBackend(t), "go", opts)
	if err != nil {
		t.Fatal(err)
	}
	cfg := tinyConfig(t)
	// q/k/v/o of 4 layers, minus k/v of the 2 KV-shared layers; r·(in+out) each.
	wantTrainable := int64(0)
	for l := range 4 {
		wantTrainable += 64 * (64 + 64) * 2 // q_proj and o_proj: 64 ↔ 4 heads × 16
		if l < 2 {
			wantTrainable += 64 * (64 + 32) * 2 // k_proj and v_proj: 64 → 2 heads × 16
		}
	}
	switch {
	case r.Kind != "train" || r.Backend != "go" || r.DType != "bfloat16" || r.Device == "":
		t.Errorf("header: %+v", r)
	case r.ParamsBase != cfg.NumParameters() || r.ParamsTrainable != wantTrainable || r.ParamsTotal != r.ParamsBase+r.ParamsTrainable:
		t.Errorf("params base %d trainable %d total %d; want %d, %d", r.ParamsBase, r.ParamsTrainable, r.ParamsTotal, cfg.NumParameters(), wantTrainable)
	case r.LoRAModules != 12 || r.LoRA.R != 64 || r.LoRA.Alpha != 128:
		t.Errorf("LoRA %+v, %d modules", r.LoRA, r.LoRAModules)
	case r.TokensPerStep != 64 || r.Step.N != 3 || len(r.StepSeconds) != 3 || len(r.Losses) != 4:
		t.Errorf("steps: %+v", r)
	case r.Compilations != 2:
		t.Errorf("%d graphs compiled, want 2 (one step shape, one update)", r.Compilations)
	case !(r.Step.Min > 0 && r.Step.Min <= r.Step.Median && r.Step.Median <= r.Step.Max):
		t.Errorf("step timing %+v", r.Step)
	case math.Abs(r.TokensPerSecond-64/r.Step.Median) > 1e-9:
		t.Errorf("tokens/s %v, want %v", r.TokensPerSecond, 64/r.Step.Median)
	case r.FirstStepSeconds <= 0 || r.InitSeconds <= 0:
		t.Errorf("first step %v, init %v", r.FirstStepSeconds, r.InitSeconds)
	case r.Memory.DeviceKnown || r.Memory.DeviceNote == "":
		t.Errorf("memory %+v: SimpleGo has no device statistics", r.Memory)
	}
	for i, l := range r.Losses {
		// Random tokens under random weights: about ln(vocab).
		if math.IsNaN(l) || math.Abs(l-math.Log(512)) > 1 {
			t.Errorf("loss of step %d = %v, want ≈ ln 512", i+1, l)
		}
	}
	var buf bytes.Buffer
	if err := r.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"bench train: go", "throughput:", "tokens/s", "step time:", "device memory: unknown", "trainable"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestTrainOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*TrainOptions)
		want   string
	}{
		{"no warm-up", func(o *TrainOptions) { o.Warmup = 0 }, "warmup 0"},
		{"no steps", func(o *TrainOptions) { o.Steps = 0 }, "steps 0"},
		{"short sequence", func(o *TrainOptions) { o.Seq = 1 }, "seq 1"},
		{"bad rank", func(o *TrainOptions) { o.LoRA.R = 0 }, "r = 0"},
		{"bad target", func(o *TrainOptions) { o.LoRA.Targets = []string{"nope"} }, "selects no linear layer"},
		{"bad data", func(o *TrainOptions) { o.Data = "zipf" }, "unknown data kind"},
		{"bad size", func(o *TrainOptions) { o.Size.Heads = 3 }, "not a multiple"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tinyTrainOptions()
			tc.change(&opts)
			_, err := Train(testBackend(t), "go", opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// BenchmarkTrainTiny reports the training throughput of the tiny model on
// the test backend.
func BenchmarkTrainTiny(b *testing.B) {
	opts := tinyTrainOptions()
	opts.Steps = max(b.N, 1)
	r, err := Train(testBackend(b), "go", opts)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.TokensPerSecond, "tokens/s")
	b.ReportMetric(r.Step.Median*1e3, "ms/step")
}
