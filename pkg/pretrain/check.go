package pretrain

import (
	"bytes"
	stdcontext "context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/gomlx/compute"
)

// CheckOptions describe Check.
type CheckOptions struct {
	// Run is a finished rebuild (`train full` with the shipped model's
	// command); it is shipped into Out (default: Run/shipped) to be measured.
	Run, Out string
	// Shipped is the shipped model directory (card.json) to compare with.
	Shipped string
	// Preset and Command as in ShipOptions.
	Preset, Command string
	// Tolerance is the largest accepted difference of validation loss per
	// source (default DefaultTolerance).
	Tolerance float64
	// Record writes the result into the shipped card (card.json and
	// README.md); the weights are not touched.
	Record bool

	BackendInstance compute.Backend
	Logger          *slog.Logger
}

// ErrNotReproduced is returned (wrapped) when a rebuild's validation loss
// is further from the shipped model's than the tolerance.
var ErrNotReproduced = errors.New("the rebuild does not reproduce the shipped model")

// Check measures a rebuild of the shipped model the way Ship measured the
// shipped one and compares their validation losses source by source.
func Check(ctx stdcontext.Context, opts CheckOptions) (*Reproduction, error) {
	if opts.Run == "" || opts.Shipped == "" {
		return nil, errors.New("pretrain: check: a run directory and the shipped model directory are required")
	}
	tol := opts.Tolerance
	if tol == 0 {
		tol = DefaultTolerance
	}
	if tol < 0 || math.IsNaN(tol) {
		return nil, fmt.Errorf("pretrain: check: tolerance %v must be ≥ 0", tol)
	}
	shippedCard, err := ReadCard(opts.Shipped)
	if err != nil {
		return nil, fmt.Errorf("pretrain: check: %w", err)
	}
	out := opts.Out
	if out == "" {
		out = filepath.Join(opts.Run, "shipped")
	}
	rebuilt, err := Ship(ctx, ShipOptions{
		Run: opts.Run, Out: out, Preset: opts.Preset, Command: opts.Command, Samples: -1,
		TrainLimit: shippedCard.TrainLimit, HeldOutLimit: shippedCard.HeldOutLimit, BackendInstance: opts.BackendInstance, Logger: opts.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("pretrain: check: %w", err)
	}
	r := &Reproduction{
		Created: time.Now().UTC().Format(time.RFC3339), Run: opts.Run, Command: rebuilt.Training.Command,
		Shipped: validationLosses(shippedCard), Rebuilt: validationLosses(rebuilt), Tolerance: tol,
		Seconds: rebuilt.Training.TrainSeconds, Machine: rebuilt.Training.Machine,
	}
	if len(r.Shipped) == 0 {
		return nil, fmt.Errorf("pretrain: check: %s has no validation loss", filepath.Join(opts.Shipped, CardFileName))
	}
	r.Passed = true
	for src, want := range r.Shipped {
		got, ok := r.Rebuilt[src]
		if !ok {
			return nil, fmt.Errorf("pretrain: check: the rebuild has no validation loss on %s", src)
		}
		r.MaxDelta = max(r.MaxDelta, math.Abs(got-want))
	}
	r.Passed = r.MaxDelta <= tol
	r.Identical = sameFile(filepath.Join(opts.Shipped, WeightsFileName), filepath.Join(out, WeightsFileName))
	if opts.Record {
		shippedCard.Reproduction = r
		if err := writeCard(opts.Shipped, shippedCard); err != nil {
			return r, fmt.Errorf("pretrain: check: recording: %w", err)
		}
	}
	if !r.Passed {
		return r, fmt.Errorf("pretrain: check: %w: validation losses differ by up to %.4f nats (tolerance %g)", ErrNotReproduced, r.MaxDelta, tol)
	}
	return r, nil
}

// sameFile reports whether two files have the same bytes.
func sameFile(a, b string) bool {
	x, err := os.ReadFile(a)
	if err != nil {
		return false
	}
	y, err := os.ReadFile(b)
	return err == nil && bytes.Equal(x, y)
}
