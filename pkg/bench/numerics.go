package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/floats"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
)

// DefaultNumericsTolerance is the bound on the relative difference
// of the bfloat16 and float32 losses after 20 steps.
const DefaultNumericsTolerance = 0.02

// DefaultNumericsOptions trains E2B for 20 steps on one fixed batch of
// 2 × 1024 learnable (repeating) tokens — two sliding windows, so the
// block-wise sliding attention runs — at a learning rate high enough for
// the loss to move.
func DefaultNumericsOptions() TrainOptions {
	o := DefaultTrainOptions()
	o.Seq = 1024
	o.Warmup = 1
	o.Steps = 19 // 20 optimizer steps in all
	o.LearningRate = 1e-3
	o.Data = DataRepeat
	return o
}

// NumericsRun is one of the two trainings of Numerics.
type NumericsRun struct {
	DType string `json:"dtype"`
	// Losses of every step (each on the fixed batch, before its update).
	Losses []float64 `json:"losses"`
	// FinalLoss is the loss on the fixed batch after the last update.
	FinalLoss float64 `json:"final_loss"`
	Seconds   float64 `json:"seconds"`
}

// MarshalJSON writes non-finite losses as null.
func (r NumericsRun) MarshalJSON() ([]byte, error) {
	losses := make([]any, len(r.Losses))
	for i, l := range r.Losses {
		losses[i] = floats.FiniteOrNil(l)
	}
	type plain NumericsRun
	return json.Marshal(struct {
		plain
		Losses    []any `json:"losses"`
		FinalLoss any   `json:"final_loss"`
	}{plain(r), losses, floats.FiniteOrNil(r.FinalLoss)})
}

// NumericsReport is the result of Numerics.
type NumericsReport struct {
	Kind    string       `json:"kind"` // "numerics"
	Backend string       `json:"backend"`
	Device  string       `json:"device"`
	Model   ModelSummary `json:"model"`
	Batch   int          `json:"batch"`
	Seq     int          `json:"seq"`
	Steps   int          `json:"steps"`
	Data    string       `json:"data"`
	LR      float64      `json:"learning_rate"`
	// Float32 and BFloat16 are the runs from the same seed.
	Float32  NumericsRun `json:"float32"`
	BFloat16 NumericsRun `json:"bfloat16"`
	// RelDiff is |final bf16 − final f32| / |final f32|.
	RelDiff   float64 `json:"rel_diff"`
	Tolerance float64 `json:"tolerance"`
	OK        bool    `json:"ok"`
	Memory    Memory  `json:"memory"`
}

// MarshalJSON writes a non-finite RelDiff as null.
func (r NumericsReport) MarshalJSON() ([]byte, error) {
	type plain NumericsReport
	return json.Marshal(struct {
		plain
		RelDiff any `json:"rel_diff"`
	}{plain(r), floats.FiniteOrNil(r.RelDiff)})
}

// Numerics trains the model of opts.Size twice from the same seed — with
// float32 and with bfloat16 weights and activations — on one fixed batch
// for opts.Warmup + opts.Steps steps, and compares the losses after the
// last step. opts.DType is ignored.
func Numerics(b compute.Backend, backendName string, opts TrainOptions, tolerance float64) (*NumericsReport, error) {
	opts.DType = dtypes.Float32
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if !(tolerance > 0) {
		return nil, fmt.Errorf("bench: numerics tolerance %v must be positive", tolerance)
	}
	cfg, err := opts.Size.Config()
	if err != nil {
		return nil, err
	}
	// One batch, the same at every step: "fixed data".
	examples, err := SyntheticExamples(opts.Data, opts.Batch, opts.Seq, cfg.VocabSize, opts.Seed)
	if err != nil {
		return nil, err
	}
	r := &NumericsReport{
		Kind: "numerics", Backend: backendName, Device: b.Description(), Model: summarizeModel(opts.Size.Preset, cfg),
		Batch: opts.Batch, Seq: opts.Seq, Steps: opts.Warmup + opts.Steps, Data: opts.Data, LR: opts.LearningRate,
		Tolerance: tolerance,
	}
	for _, run := range []struct {
		dtype dtypes.DType
		out   *NumericsRun
	}{{dtypes.Float32, &r.Float32}, {dtypes.BFloat16, &r.BFloat16}} {
		o := opts
		o.DType = run.dtype
		start := time.Now()
		orDiscard(opts.Progress).Info("bench: numerics run", "dtype", stage.DTypeName(run.dtype))
		m, err := randomModel(b, cfg, run.dtype, opts.Seed, opts.Progress)
		if err != nil {
			return nil, err
		}
		if _, err := newAdapter(m, o); err != nil {
			m.Store.Finalize()
			return nil, err
		}
		res, err := runTraining(b, m, o, examples, true)
		m.Store.Finalize() // free the device memory before the next run
		if err != nil {
			return nil, fmt.Errorf("bench: numerics, %s run: %w", stage.DTypeName(run.dtype), err)
		}
		*run.out = NumericsRun{DType: stage.DTypeName(run.dtype), Losses: res.losses, FinalLoss: res.evalLoss, Seconds: time.Since(start).Seconds()}
	}
	r.RelDiff = math.Abs(r.BFloat16.FinalLoss-r.Float32.FinalLoss) / math.Abs(r.Float32.FinalLoss)
	r.OK = r.RelDiff <= tolerance
	r.Memory = ReadMemory(b)
	return r, nil
}
