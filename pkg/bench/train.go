package bench

import (
	stdcontext "context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // the GoMLX idiom for graph code
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// LoRAOptions are the adapters trained by the benchmarks.
type LoRAOptions struct {
	R       int      `json:"r"`
	Alpha   float64  `json:"alpha"`
	Targets []string `json:"targets"`
}

// TrainOptions configure Train (and the two runs of Numerics).
type TrainOptions struct {
	Size  ModelSize
	DType dtypes.DType
	// Batch rows of Seq tokens per optimizer step (no gradient accumulation).
	Batch, Seq int
	// Warmup steps run first and are not measured (the first one compiles
	// the graphs); Steps are measured.
	Warmup, Steps int
	LoRA          LoRAOptions
	// LearningRate of AdamW (constant schedule, gradient clipping at 1.0, no weight decay).
	LearningRate float64
	// Seed of the weights, the adapters and the data.
	Seed uint64
	// Attention is the model's attention kernel ("" or gemma3n.AttentionFused:
	// fused where it applies; gemma3n.AttentionEager: always explicit).
	Attention gemma3n.AttentionKernel
	// GradientCheckpointing recomputes every decoder layer in the backward
	// pass (gemma3n.Model.GradientCheckpointing).
	GradientCheckpointing bool
	// Data is DataRandom or DataRepeat.
	Data string
	// Progress, if set, logs each phase as it starts and ends (weights,
	// compilation, every step), so a run that is slow or stuck shows where.
	Progress *slog.Logger `json:"-"`
}

// DefaultTrainOptions is the benchmark: E2B in bfloat16, LoRA r=64
// α=128 on q/k/v/o, AdamW, batch 2 × 2048 tokens, 10 measured steps after
// 2 warm-up steps.
func DefaultTrainOptions() TrainOptions {
	return TrainOptions{
		Size:         ModelSize{Preset: DefaultPreset},
		DType:        dtypes.BFloat16,
		Batch:        2,
		Seq:          2048,
		Warmup:       2,
		Steps:        10,
		LoRA:         LoRAOptions{R: 64, Alpha: 128, Targets: slices.Clone(lora.DefaultTargetModules)},
		LearningRate: 2e-4,
		Seed:         42,
		Data:         DataRandom,
	}
}

func (o TrainOptions) validate() error {
	switch {
	case o.DType != dtypes.Float32 && o.DType != dtypes.BFloat16:
		return fmt.Errorf("bench: dtype %s: want float32 or bfloat16", o.DType)
	case o.Batch < 1 || o.Seq < 2:
		return fmt.Errorf("bench: batch %d and seq %d must be ≥ 1 and ≥ 2", o.Batch, o.Seq)
	case o.Warmup < 1:
		return fmt.Errorf("bench: warmup %d must be ≥ 1 (the first step compiles the graphs)", o.Warmup)
	case o.Steps < 1:
		return fmt.Errorf("bench: steps %d must be ≥ 1", o.Steps)
	case !(o.LearningRate >= 0):
		return fmt.Errorf("bench: learning rate %v must be ≥ 0", o.LearningRate)
	}
	return nil
}

// ModelSummary describes the benchmarked architecture.
type ModelSummary struct {
	Preset         string `json:"preset"`
	Layers         int    `json:"layers"`
	Hidden         int    `json:"hidden"`
	Intermediate   int    `json:"intermediate"`
	Heads          int    `json:"heads"`
	KVHeads        int    `json:"kv_heads"`
	HeadDim        int    `json:"head_dim"`
	Vocab          int    `json:"vocab"`
	PLEVocab       int    `json:"ple_vocab"`
	PLEDim         int    `json:"ple_dim"`
	KVShared       int    `json:"kv_shared"`
	SlidingWindow  int    `json:"sliding_window"`
	FullAttnLayers int    `json:"full_attention_layers"`
	Params         int64  `json:"params"`
}

func summarizeModel(preset string, c *gemma3n.Config) ModelSummary {
	if preset == "" {
		preset = DefaultPreset
	}
	full := 0
	for _, t := range c.LayerTypes {
		if t == gemma3n.FullAttention {
			full++
		}
	}
	return ModelSummary{
		Preset: preset, Layers: c.NumHiddenLayers, Hidden: c.HiddenSize, Intermediate: c.IntermediateSize[0],
		Heads: c.NumAttentionHeads, KVHeads: c.NumKeyValueHeads, HeadDim: c.HeadDim,
		Vocab: c.VocabSize, PLEVocab: c.VocabSizePerLayerInput, PLEDim: c.HiddenSizePerLayerInput,
		KVShared: c.NumKVSharedLayers, SlidingWindow: c.SlidingWindow, FullAttnLayers: full,
		Params: c.NumParameters(),
	}
}

// TrainReport is the result of Train.
type TrainReport struct {
	Kind    string       `json:"kind"` // "train"
	Backend string       `json:"backend"`
	Device  string       `json:"device"`
	DType   string       `json:"dtype"`
	Model   ModelSummary `json:"model"`
	Batch   int          `json:"batch"`
	Seq     int          `json:"seq"`
	// TokensPerStep is Batch × Seq (every token is an input and a target).
	TokensPerStep int         `json:"tokens_per_step"`
	Warmup        int         `json:"warmup_steps"`
	Steps         int         `json:"steps"`
	LoRA          LoRAOptions `json:"lora"`
	// Attention kernel and gradient checkpointing of the run.
	Attention             string `json:"attention"`
	GradientCheckpointing bool   `json:"gradient_checkpointing"`
	LoRAModules           int    `json:"lora_modules"`
	// Parameter counts: the frozen base model, the trainable adapters and their sum.
	ParamsBase      int64 `json:"params_base"`
	ParamsTrainable int64 `json:"params_trainable"`
	ParamsTotal     int64 `json:"params_total"`
	// InitSeconds is the time to draw the random weights on the device.
	InitSeconds float64 `json:"init_s"`
	// FirstStepSeconds is the wall time of the first step: building and
	// compiling the training graphs, moving the weights, and one step.
	FirstStepSeconds float64 `json:"first_step_s"`
	// CompileSeconds estimates the compilation: FirstStepSeconds minus the
	// median step.
	CompileSeconds float64 `json:"compile_s"`
	// Step summarises the measured steps (after the warm-up).
	Step        Timing    `json:"step"`
	StepSeconds []float64 `json:"step_times_s"`
	// TokensPerSecond is TokensPerStep / the median step time.
	TokensPerSecond float64 `json:"tokens_per_s"`
	// FLOPsPerToken is TrainFLOPsPerToken of the model at Seq, and
	// ModelTFLOPsPerSecond the rate it implies at TokensPerSecond: compare
	// it with the device's peak to judge utilisation.
	FLOPsPerToken        float64 `json:"flops_per_token"`
	ModelTFLOPsPerSecond float64 `json:"model_tflops_per_s"`
	// Losses of every step, warm-up included.
	Losses []float64 `json:"losses"`
	// Compilations counts the graphs the trainer built (one per batch shape
	// plus the optimizer update): 2 when nothing recompiles.
	Compilations int `json:"compilations"`
	// MemoryAfterInit is read once the random weights exist: its device
	// peak is that of the initialisation (weights plus the generator's
	// temporaries). Memory is read after the last step; its peak covers
	// the whole process, so training set it when it exceeds
	// MemoryAfterInit's peak.
	MemoryAfterInit Memory `json:"memory_after_init"`
	Memory          Memory `json:"memory"`
}

// Train builds the model of opts.Size with random weights on b, installs
// LoRA adapters and runs opts.Warmup + opts.Steps AdamW steps of the SFT
// objective (train.CausalLM) on synthetic data, timing each step.
// backendName is recorded in the report.
func Train(b compute.Backend, backendName string, opts TrainOptions) (*TrainReport, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	cfg, err := opts.Size.Config()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	m, err := randomModel(b, cfg, opts.DType, opts.Seed, opts.Progress)
	if err != nil {
		return nil, err
	}
	defer m.Store.Finalize()
	initSeconds := time.Since(start).Seconds()
	log := orDiscard(opts.Progress)
	log.Info("bench: weights ready; reading device memory", "s", roundSeconds(time.Since(start)))
	afterInit := ReadMemory(b)
	log.Info("bench: memory after init", "device_known", afterInit.DeviceKnown,
		"device_in_use", gib(afterInit.DeviceInUseBytes), "device_peak", gib(afterInit.DevicePeakBytes), "host_peak_rss", gib(afterInit.HostPeakRSS))
	adapter, err := newAdapter(m, opts)
	if err != nil {
		return nil, err
	}
	examples, err := SyntheticExamples(opts.Data, opts.Batch*(opts.Warmup+opts.Steps), opts.Seq, cfg.VocabSize, opts.Seed)
	if err != nil {
		return nil, err
	}
	run, err := runTraining(b, m, opts, examples, false)
	if err != nil {
		return nil, err
	}
	r := &TrainReport{
		Kind: "train", Backend: backendName, Device: b.Description(), DType: stage.DTypeName(opts.DType),
		Model: summarizeModel(opts.Size.Preset, cfg), Batch: opts.Batch, Seq: opts.Seq,
		TokensPerStep: opts.Batch * opts.Seq, Warmup: opts.Warmup, Steps: opts.Steps,
		LoRA: opts.LoRA, LoRAModules: len(adapter.Modules()),
		Attention: attentionName(opts.Attention), GradientCheckpointing: opts.GradientCheckpointing,
		ParamsBase: cfg.NumParameters(), ParamsTrainable: adapter.NumTrainable(),
		InitSeconds: initSeconds, FirstStepSeconds: run.stepSeconds[0],
		StepSeconds: run.stepSeconds[opts.Warmup:], Losses: run.losses,
		Compilations: run.compilations, MemoryAfterInit: afterInit, Memory: ReadMemory(b),
	}
	r.ParamsTotal = r.ParamsBase + r.ParamsTrainable
	r.Step = Summarize(r.StepSeconds)
	r.CompileSeconds = max(0, r.FirstStepSeconds-r.Step.Median)
	if r.Step.Median > 0 {
		r.TokensPerSecond = float64(r.TokensPerStep) / r.Step.Median
	}
	r.FLOPsPerToken = TrainFLOPsPerToken(cfg, opts.Seq)
	r.ModelTFLOPsPerSecond = r.TokensPerSecond * r.FLOPsPerToken / 1e12
	return r, nil
}

// newAdapter installs the LoRA adapters of opts on m.
func newAdapter(m *gemma3n.Model, opts TrainOptions) (*lora.Adapter, error) {
	targets := opts.LoRA.Targets
	if len(targets) == 0 {
		targets = lora.DefaultTargetModules
	}
	return lora.New(m, lora.Config{R: opts.LoRA.R, Alpha: opts.LoRA.Alpha, TargetModules: slices.Clone(targets), Seed: opts.Seed})
}

// trainingRun is what runTraining measured.
type trainingRun struct {
	stepSeconds  []float64 // every step, the first included
	losses       []float64
	evalLoss     float64 // loss on the training data after the last step (with eval)
	compilations int
}

// runTraining trains m's trainable variables for opts.Warmup + opts.Steps
// steps over examples, in a temporary run directory. With eval, it also
// evaluates the loss on the same examples after the last step.
func runTraining(b compute.Backend, m *gemma3n.Model, opts TrainOptions, examples []train.Example, eval bool) (*trainingRun, error) {
	src, err := train.NewLMSource(examples, train.LMSourceConfig{
		BatchSize: opts.Batch, MaxLen: opts.Seq, Buckets: []int{opts.Seq}, PadID: int32(m.Config.PadTokenID),
	})
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	dir, err := os.MkdirTemp("", "gemma3n-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(dir)

	log := orDiscard(opts.Progress)
	run := &trainingRun{}
	last := time.Now()
	cfg := train.Config{
		RunDir:       dir,
		Phase:        "bench",
		Steps:        opts.Warmup + opts.Steps,
		LearningRate: opts.LearningRate,
		Schedule:     train.ScheduleConstant,
		MaxGradNorm:  1.0,
		Seed:         int64(opts.Seed),
		Reporting: train.Reporting{
			NoProgress: true,
			Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
			OnStep: func(s train.StepMetrics) {
				now := time.Now()
				run.stepSeconds = append(run.stepSeconds, now.Sub(last).Seconds())
				run.losses = append(run.losses, s.Loss)
				log.Info("bench: step", "step", fmt.Sprintf("%d/%d", len(run.stepSeconds), opts.Warmup+opts.Steps),
					"s", roundSeconds(now.Sub(last)), "loss", s.Loss, "warmup", len(run.stepSeconds) <= opts.Warmup)
				last = now
			},
		},
	}
	if eval {
		cfg.EvalSets = []train.EvalSet{{Name: "train", Source: src}}
	}
	m.Attention, m.GradientCheckpointing = opts.Attention, opts.GradientCheckpointing
	logits := func(scope *model.Scope, ids, mask *Node) *Node {
		return m.Forward(scope, gemma3n.Inputs{IDs: ids, Mask: mask, RightPadded: true}).Logits
	}
	tr, err := train.New(b, m.Store, train.CausalLM(logits), src, cfg)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer tr.Close()
	log.Info("bench: first step: building and compiling the training graphs, then one step",
		"batch", opts.Batch, "seq", opts.Seq, "dtype", stage.DTypeName(opts.DType))
	last = time.Now()
	res, err := tr.Run(stdcontext.Background())
	if err != nil {
		return nil, fmt.Errorf("bench: training: %w", err)
	}
	if res.SkippedSteps > 0 {
		return nil, fmt.Errorf("bench: %d of %d steps were skipped (non-finite loss or gradient)", res.SkippedSteps, res.Steps)
	}
	if len(run.stepSeconds) != cfg.Steps {
		return nil, fmt.Errorf("bench: %d steps reported, want %d", len(run.stepSeconds), cfg.Steps)
	}
	if eval {
		ev, ok := res.Evals["train"]
		if !ok {
			return nil, errors.New("bench: the final evaluation did not run")
		}
		run.evalLoss = ev.Loss
	}
	run.compilations = res.Compilations
	return run, nil
}

// attentionName is the kernel as reports print it.
func attentionName(k gemma3n.AttentionKernel) string {
	if k == "" {
		return string(gemma3n.AttentionFused)
	}
	return string(k)
}
