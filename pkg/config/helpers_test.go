package config

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestStepsPerEpoch(t *testing.T) {
	tests := []struct{ n, batch, accum, want int }{
		{100, 2, 8, 7}, // 50 micro-batches → 6 full steps + 1 partial
		{96, 2, 8, 6},
		{1, 2, 8, 1},
		{0, 2, 8, 0},
		{10, 0, 1, 0},
	}
	for _, tc := range tests {
		if got := StepsPerEpoch(tc.n, tc.batch, tc.accum); got != tc.want {
			t.Errorf("StepsPerEpoch(%d, %d, %d) = %d, want %d", tc.n, tc.batch, tc.accum, got, tc.want)
		}
	}
}

// TestWarmupRatioNeverInvalidatesAShortRun: warmup_ratio rounds to 0 steps
// below one step and leaves at least one step after the warmup, so that
// --max-steps 1 with the shipped configuration is a valid run.
func TestWarmupRatioNeverInvalidatesAShortRun(t *testing.T) {
	// The rounding rule itself is package warmup's, tested there.
	shipped, err := LoadPath(shippedDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := shipped.Apply("training.max_steps=1"); err != nil {
		t.Fatal(err)
	}
	total, warmup, err := shipped.Training.Schedule(1000)
	if err != nil || total != 1 || warmup != 0 {
		t.Errorf("--max-steps 1 with the shipped configuration: Schedule = %d, %d, %v; want 1 step without warmup", total, warmup, err)
	}
}

func TestSchedule(t *testing.T) {
	tr := DefaultTraining() // 3 epochs, batch 2 × 8, warmup ratio 0.03
	total, warmup, err := tr.Schedule(1600)
	if err != nil || total != 300 || warmup != 9 { // 100 steps per epoch; ceil(0.03 × 300) = 9
		t.Errorf("Schedule(1600) = %d, %d, %v", total, warmup, err)
	}
	tr.WarmupSteps = 10
	if _, warmup, _ = tr.Schedule(1600); warmup != 10 {
		t.Errorf("warmup_steps should take precedence, got %d", warmup)
	}
	tr.MaxSteps = 10
	if _, _, err = tr.Schedule(1600); err == nil || !strings.Contains(err.Error(), "warmup_steps (10) must be less than the run's 10 optimizer steps") {
		t.Errorf("got %v", err)
	}
	if _, _, err = DefaultTraining().Schedule(0); err == nil {
		t.Error("no error for an empty training set")
	}
}

func TestLoRAScale(t *testing.T) {
	l := DefaultLoRA()
	if l.Scale() != 2 {
		t.Errorf("alpha/r = %v, want 2", l.Scale())
	}
	l.UseRSLoRA = true
	if l.Scale() != 16 { // 128 / sqrt(64)
		t.Errorf("rsLoRA scale = %v, want 16", l.Scale())
	}
}

func TestStageTraining(t *testing.T) {
	a := Default()
	a.Training.MaxSteps = 7
	p := a.PhaseTraining(3)
	if p.LearningRate != 4e-5 || p.NumTrainEpochs != 1 || p.MaxSteps != 0 || p.WeightDecay != a.Training.WeightDecay {
		t.Errorf("PhaseTraining(3) = %+v", p)
	}
	d := a.DPOTraining()
	if d.LearningRate != 5e-6 || d.WarmupRatio != 0.1 || d.PerDeviceTrainBatchSize != 2 || d.MaxGradNorm != 1 || d.MaxSteps != 0 {
		t.Errorf("DPOTraining() = %+v", d)
	}
	if err := d.Validate(); err != nil {
		t.Error(err)
	}
}

func TestApplyDebug(t *testing.T) {
	a := Default()
	a.ApplyDebug()
	if a.Model.MaxSeqLength != 256 || a.Curriculum.TargetDatasetSize != 100 || a.DPO.MaxLength != 256 || a.DPO.MaxPromptLength != 128 {
		t.Errorf("got model %d, target %d, dpo %d/%d", a.Model.MaxSeqLength, a.Curriculum.TargetDatasetSize, a.DPO.MaxPromptLength, a.DPO.MaxLength)
	}
	if err := a.Validate(); err != nil {
		t.Errorf("debug configuration does not validate: %v", err)
	}
	if got := a.Curriculum.PhaseSize(0, a.Curriculum.TargetDatasetSize); got != 20 {
		t.Errorf("debug phase size %d, want 20", got)
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{{"", "", 0}, {"r", "", 1}, {"lerning_rate", "learning_rate", 1}, {"kitten", "sitting", 3}}
	for _, tc := range tests {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	if !math.IsNaN(math.NaN()) || finite(math.Inf(1)) || finite(math.NaN()) || !finite(1) {
		t.Error("finite")
	}
}

func TestErrorCountIsBounded(t *testing.T) {
	_, err := loadBytes("f.yaml", []byte(strings.Repeat("x: 1\n", 10000)), DefaultLoRA(), LoRA.check)
	var list Errors
	if !errors.As(err, &list) || len(list) != maxErrors+1 || !strings.Contains(list[maxErrors].Msg, "too many errors") {
		t.Errorf("got %d errors: %v", len(list), err)
	}
}
