package bench

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func TestNumericsTiny(t *testing.T) {
	opts := DefaultNumericsOptions()
	opts.Size = tinySize
	opts.Batch, opts.Seq, opts.Warmup, opts.Steps = 2, 32, 1, 5
	r, err := Numerics(testBackend(t), "go", opts, DefaultNumericsTolerance)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + buf.String())
	if r.Float32.DType != "float32" || r.BFloat16.DType != "bfloat16" || len(r.Float32.Losses) != 6 || len(r.BFloat16.Losses) != 6 || r.Steps != 6 {
		t.Fatalf("report %+v", r)
	}
	// The first step sees the same weights (up to bfloat16 rounding) and the same batch.
	if d := math.Abs(r.Float32.Losses[0]-r.BFloat16.Losses[0]) / r.Float32.Losses[0]; d > 0.02 {
		t.Errorf("first-step losses %v and %v differ by %.3g", r.Float32.Losses[0], r.BFloat16.Losses[0], d)
	}
	// The repeating data is learnable: six steps at lr 1e-3 lower the loss.
	if r.Float32.FinalLoss >= r.Float32.Losses[0] {
		t.Errorf("float32 loss did not decrease: %v → %v", r.Float32.Losses[0], r.Float32.FinalLoss)
	}
	want := math.Abs(r.BFloat16.FinalLoss-r.Float32.FinalLoss) / r.Float32.FinalLoss
	if math.Abs(r.RelDiff-want) > 1e-12 || r.OK != (r.RelDiff <= r.Tolerance) {
		t.Errorf("rel diff %v (ok %t), want %v", r.RelDiff, r.OK, want)
	}
	if !r.OK {
		t.Errorf("bfloat16 and float32 diverge on the tiny model:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), "relative difference of the final losses") {
		t.Errorf("text report:\n%s", buf.String())
	}
	if _, err := Numerics(testBackend(t), "go", opts, 0); err == nil {
		t.Error("tolerance 0 accepted")
	}
}
