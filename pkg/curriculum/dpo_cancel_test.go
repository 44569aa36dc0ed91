package curriculum

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// TestDPOStageSavesOnCancel: a run stopped (Ctrl-C, SIGTERM, SIGHUP) in the
// curriculum's DPO stage saves the last finished DPO step, as the phases
// do, so that --resume loses nothing.
func TestDPOStageSavesOnCancel(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a phase and a DPO step")
	}
	out := t.TempDir()
	o := smallOptions(t, "tiny", out,
		"curriculum.phases=[{name: only, mix: {counselchat: 50, annomi: 50}, learning_rate: 1e-4, size: 4, epochs: 1}]",
		"curriculum.run_dpo_after=true", "curriculum.merge_final_model=false", "training.save_steps=100")
	o.DPOMaxSteps = 3
	runCtx, cancel := context.WithCancel(t.Context())
	defer cancel()
	o.OnStep = func(m train.StepMetrics) {
		if m.Phase == "dpo" && m.Step == 1 {
			cancel()
		}
	}
	_, err := RunCurriculum(runCtx, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want a cancellation", err)
	}
	if last, err := train.LatestCheckpoint(filepath.Join(out, DPODirName)); err != nil || filepath.Base(last) != "step-00000001" {
		t.Errorf("DPO checkpoint after the cancellation: %q (%v), want step-00000001", last, err)
	}
}
