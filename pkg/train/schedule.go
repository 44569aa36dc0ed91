package train

import (
	"fmt"
	"math"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/warmup"
)

// Schedule kinds: the shape of the learning rate after warmup.
const (
	ScheduleCosine   = "cosine"
	ScheduleLinear   = "linear"
	ScheduleConstant = "constant"
)

// Schedule is a learning-rate schedule with the formulas of Hugging Face
// transformers (get_{cosine,linear,constant}_schedule_with_warmup): linear
// warmup from 0, then cosine or linear decay to MinRatio·peak at TotalSteps,
// or constant.
type Schedule struct {
	Kind       string  // ScheduleCosine (default), ScheduleLinear or ScheduleConstant
	Peak       float64 // the learning rate after warmup
	Warmup     int     // warmup steps
	TotalSteps int     // optimizer steps of the whole run
	MinRatio   float64 // floor of the decay as a fraction of Peak (0 as in HF)
}

// WarmupSteps resolves a warmup given as steps or as a ratio of the total
// steps; steps win when both are set. A ratio is rounded up, as HF does,
// except that it never makes a short run invalid: below one step it gives
// no warmup, and it leaves at least one step after the warmup.
func WarmupSteps(steps int, ratio float64, total int) int { return warmup.Steps(steps, ratio, total) }

// Validate reports a schedule that cannot be computed.
func (s Schedule) Validate() error {
	switch s.Kind {
	case "", ScheduleCosine, ScheduleLinear, ScheduleConstant:
	default:
		return fmt.Errorf("train: unknown learning-rate schedule %q (want %s, %s or %s)", s.Kind, ScheduleCosine, ScheduleLinear, ScheduleConstant)
	}
	if s.Peak < 0 || math.IsNaN(s.Peak) || math.IsInf(s.Peak, 0) {
		return fmt.Errorf("train: learning rate %v must be a finite number ≥ 0", s.Peak)
	}
	if s.Warmup < 0 || s.TotalSteps < 0 {
		return fmt.Errorf("train: warmup %d and total steps %d must be ≥ 0", s.Warmup, s.TotalSteps)
	}
	if s.MinRatio < 0 || s.MinRatio > 1 {
		return fmt.Errorf("train: minimum learning-rate ratio %v must be in [0, 1]", s.MinRatio)
	}
	return nil
}

// LR returns the learning rate of the optimizer step with 0-based index step.
// As in HF, step 0 of a warmup has learning rate 0.
func (s Schedule) LR(step int) float64 {
	if step < s.Warmup {
		return s.Peak * float64(step) / float64(max(1, s.Warmup))
	}
	progress := float64(step-s.Warmup) / float64(max(1, s.TotalSteps-s.Warmup))
	progress = min(progress, 1)
	var factor float64
	switch s.Kind {
	case ScheduleConstant:
		return s.Peak
	case ScheduleLinear:
		factor = 1 - progress
	default: // cosine, half a period
		factor = 0.5 * (1 + math.Cos(math.Pi*progress))
	}
	return s.Peak * (s.MinRatio + (1-s.MinRatio)*max(0, factor))
}
