package train

import (
	"io"
	"log/slog"
)

// Reporting says where a run reports what it does: its progress bar, its
// log and its callbacks. Config embeds it, and so do the options of the
// stages built on the trainer (sft.Options, dpo.Options, curriculum.Options),
// which hand it down as it is: a Reporting set on a pipeline reaches every
// trainer the pipeline runs.
type Reporting struct {
	// Progress receives the progress bar (nil: stderr when it is a
	// terminal); NoProgress disables it.
	Progress   io.Writer
	NoProgress bool
	// Logger receives what the run reports: skipped steps, checkpoints and
	// evaluations, and the stages' own messages (adapter size, skipped data;
	// nil: slog.Default()).
	Logger *slog.Logger
	// OnStep and OnEval are called synchronously after each logged step
	// (every Config.LogEvery steps) and each evaluation, e.g. by notebooks
	// to redraw live charts. Their Phase field names the run (the stage of a
	// pipeline).
	OnStep func(StepMetrics)
	OnEval func(EvalMetrics)
}

// Log returns Logger, or slog.Default() when it is nil.
func (r Reporting) Log() *slog.Logger {
	if r.Logger == nil {
		return slog.Default()
	}
	return r.Logger
}
