package train

import (
	stdcontext "context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Config configures a training run. Zero values of Beta1, Beta2, Epsilon,
// GradAccum, Epochs, MaxBadSteps and LogEvery mean their defaults; see
// DefaultConfig for a complete, sensible configuration.
type Config struct {
	// RunDir holds the metrics log and the checkpoints (required). One run per directory.
	RunDir string
	// Phase names the run in metric records and the progress bar (optional).
	Phase string

	// Steps is the number of optimizer steps; 0 means Epochs passes over the data.
	Steps  int
	Epochs int // default 1
	// GradAccum is the number of micro-batches per optimizer step (default 1).
	GradAccum int

	// LearningRate is the peak learning rate of the Schedule.
	LearningRate float64
	Schedule     string  // ScheduleCosine (default), ScheduleLinear or ScheduleConstant
	WarmupSteps  int     // warmup in steps; wins over WarmupRatio
	WarmupRatio  float64 // warmup as a fraction of all steps
	MinLRRatio   float64 // the decay ends at MinLRRatio·LearningRate (default 0)

	// AdamW: betas (default 0.9, 0.999), epsilon (default 1e-8), decoupled weight
	// decay (default 0) applied to the variables for which NoDecay is false.
	Beta1, Beta2, Epsilon, WeightDecay float64
	NoDecay                            func(scopeAndName string) bool // default DefaultNoDecay
	// MaxGradNorm clips the global gradient norm (0 disables clipping).
	MaxGradNorm float64

	// Seed seeds the model store's random number generator (dropout) of a fresh run.
	Seed int64

	// EvalSets are held-out sets evaluated every EvalEvery steps and at the end.
	EvalSets    []EvalSet
	EvalEvery   int
	EvalAtStart bool // also evaluate before the first step (a baseline; never "best")
	// BestOn names the eval set whose loss selects the best checkpoint and
	// drives early stopping (default: the first set).
	BestOn string
	// EarlyStoppingPatience stops the run after this many evaluations without an
	// improvement of at least EarlyStoppingMinDelta (0 disables early stopping).
	EarlyStoppingPatience int
	EarlyStoppingMinDelta float64

	// CheckpointEvery saves a checkpoint every N steps (0: only at the end and
	// at new best evaluations). KeepLast keeps the newest N checkpoints plus the
	// best one (0 keeps all).
	CheckpointEvery int
	KeepLast        int
	// Resume continues from the newest checkpoint in RunDir (or starts fresh
	// when there is none). Without it, a RunDir with checkpoints is an error.
	Resume bool
	// ResumeFrom continues from this checkpoint of RunDir (a directory
	// RunDir/checkpoints/step-N) instead of the newest one, e.g. the last
	// intact one when the newest is corrupt. It implies Resume. The newer
	// checkpoints are moved aside (renamed discarded-step-N in the
	// checkpoints directory, never deleted), so that a later Resume does
	// not return to them.
	ResumeFrom string
	// OnResume, when set, is called once a resumed run has restored its
	// checkpoint (the directory and its step), before the metrics log is
	// touched or a step runs, e.g. to record the resume; an error stops
	// the run.
	OnResume func(checkpoint string, step int) error
	// SaveOnCancel writes a checkpoint when the run's context is cancelled;
	// without it a cancelled run behaves like a killed one.
	SaveOnCancel bool
	// InitOptimizerFrom is a checkpoint directory of another run (e.g. the
	// previous phase of a curriculum) whose AdamW state starts this run when
	// it starts fresh: the first and second moments of every trainable
	// variable (matched by scope and name; a missing moment or one of
	// another shape is an error naming the variable, moments of variables
	// this run does not train are ignored) and that run's number of
	// updates, so that the bias correction goes on where it stopped, as
	// loading an optimizer state_dict into torch's AdamW does. The
	// learning-rate schedule still starts at its step 0, and the variables
	// themselves are not loaded (the caller installs them, e.g. as an
	// adapter). A run that resumes from a checkpoint of its own RunDir
	// restores its own optimizer state and ignores this.
	InitOptimizerFrom string

	// MaxBadSteps is how many consecutive steps with a non-finite loss or
	// gradient norm are skipped before the run stops with an error (default 5).
	MaxBadSteps int

	// LogEvery writes every Nth step to the metrics log and callbacks (default 1).
	LogEvery int
	// Reporting: the progress bar, the logger and the callbacks.
	Reporting
}

// DefaultConfig returns the defaults of a LoRA fine-tuning run as TRL users
// know them: AdamW lr 2e-4 with cosine decay after 3% warmup, clipping at 1.0.
func DefaultConfig(runDir string) Config {
	return Config{
		RunDir:       runDir,
		Epochs:       1,
		GradAccum:    1,
		LearningRate: 2e-4,
		Schedule:     ScheduleCosine,
		WarmupRatio:  0.03,
		Beta1:        0.9,
		Beta2:        0.999,
		Epsilon:      1e-8,
		MaxGradNorm:  1.0,
		Seed:         42,
		KeepLast:     2,
		MaxBadSteps:  5,
		LogEvery:     1,
	}
}

// EvalSet is a named held-out set.
type EvalSet struct {
	Name   string
	Source Source
}

// Result summarises a run.
type Result struct {
	Steps, Updates, SkippedSteps int
	Examples, Tokens             int64
	FinalLoss                    float64                // loss of the last applied step
	Evals                        map[string]EvalMetrics // the last evaluation of each set
	HasBest                      bool
	BestStep                     int
	BestEvalLoss                 float64
	BestCheckpoint               string
	LastCheckpoint               string
	ResumedFrom                  string // checkpoint the run continued from, if any
	InitOptimizerFrom            string // checkpoint whose AdamW state started the run, if any (Config.InitOptimizerFrom)
	StoppedEarly                 bool
	Compilations                 int // graphs built by this trainer (see Trainer.Compilations)
	Elapsed                      time.Duration
}

// Trainer runs the optimisation loop for one objective over one data source.
// Its graphs: a micro-step graph per batch shape (forward, gradients,
// accumulation), one apply graph (global-norm clipping, AdamW, skipping of
// non-finite steps) and an evaluation graph per eval batch shape.
type Trainer struct {
	backend   compute.Backend
	store     *model.Store
	objective Objective
	data      Source
	cfg       Config
	schedule  Schedule
	log       *slog.Logger

	microExec, applyExec, evalExec *model.Exec
	compilations                   atomic.Int64

	// Fixed by the first graph built: the variables trained and the metric names.
	trainable   []*model.Variable
	metricNames []string

	state    runState
	started  bool
	lastEval map[string]EvalMetrics
	lastCkpt string

	// initMoments are the AdamW moments of Config.InitOptimizerFrom, by
	// scope and name, until the first step installs them.
	initMoments map[string]*tensors.Tensor
}

// New prepares a trainer. store holds the model: variables marked Trainable
// (e.g. LoRA adapters) are optimized, all others are left bitwise unchanged.
// The trainer's own state (AdamW moments, gradient sums) lives in the same
// store under /train.
func New(backend compute.Backend, store *model.Store, objective Objective, data Source, cfg Config) (*Trainer, error) {
	if backend == nil || store == nil || objective == nil || data == nil {
		return nil, errors.New("train: backend, model store, objective and data source are all required")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if data.NumBatches() < 1 {
		return nil, errors.New("train: the training data has no batches")
	}
	total := cfg.Steps
	if total == 0 {
		total = cfg.Epochs * ((data.NumBatches() + cfg.GradAccum - 1) / cfg.GradAccum)
	}
	t := &Trainer{
		backend:   backend,
		store:     store,
		objective: objective,
		data:      data,
		cfg:       cfg,
		log:       cfg.Logger,
		lastEval:  map[string]EvalMetrics{},
		schedule: Schedule{
			Kind: cfg.Schedule, Peak: cfg.LearningRate, TotalSteps: total, MinRatio: cfg.MinLRRatio,
			Warmup: WarmupSteps(cfg.WarmupSteps, cfg.WarmupRatio, total),
		},
	}
	if err := t.schedule.Validate(); err != nil {
		return nil, err
	}
	if t.microExec, err = model.NewExec(backend, t.store, t.microStepGraph); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if t.applyExec, err = model.NewExec(backend, t.store, t.applyGraph); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if t.evalExec, err = model.NewExec(backend, t.store, t.evalGraph); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	// Shapes are bounded by the sources' buckets; never evict a compiled graph.
	t.microExec.SetMaxCache(-1)
	t.evalExec.SetMaxCache(-1)
	return t, nil
}

func (c Config) withDefaults() (Config, error) {
	if c.RunDir == "" {
		return c, errors.New("train: Config.RunDir is required")
	}
	setDefault := func(x *float64, def float64) {
		if *x == 0 {
			*x = def
		}
	}
	setDefault(&c.Beta1, 0.9)
	setDefault(&c.Beta2, 0.999)
	setDefault(&c.Epsilon, 1e-8)
	for _, p := range []*int{&c.Epochs, &c.GradAccum, &c.LogEvery} {
		if *p == 0 {
			*p = 1
		}
	}
	if c.MaxBadSteps == 0 {
		c.MaxBadSteps = 5
	}
	if c.NoDecay == nil {
		c.NoDecay = DefaultNoDecay
	}
	c.Logger = c.Log()
	switch {
	case c.Steps < 0 || c.Epochs < 0 || c.GradAccum < 0 || c.LogEvery < 0 || c.MaxBadSteps < 0:
		return c, errors.New("train: Steps, Epochs, GradAccum, LogEvery and MaxBadSteps must be ≥ 0")
	case c.EvalEvery < 0 || c.CheckpointEvery < 0 || c.KeepLast < 0 || c.EarlyStoppingPatience < 0:
		return c, errors.New("train: EvalEvery, CheckpointEvery, KeepLast and EarlyStoppingPatience must be ≥ 0")
	case c.Beta1 < 0 || c.Beta1 >= 1 || c.Beta2 < 0 || c.Beta2 >= 1 || c.Epsilon < 0:
		return c, fmt.Errorf("train: AdamW betas (%v, %v) must be in [0, 1) and epsilon %v ≥ 0", c.Beta1, c.Beta2, c.Epsilon)
	case c.WeightDecay < 0 || c.MaxGradNorm < 0 || c.WarmupRatio < 0 || c.WarmupRatio > 1:
		return c, errors.New("train: WeightDecay and MaxGradNorm must be ≥ 0 and WarmupRatio in [0, 1]")
	}
	names := map[string]bool{}
	for i, set := range c.EvalSets {
		if set.Name == "" || set.Source == nil || names[set.Name] {
			return c, fmt.Errorf("train: eval set #%d needs a unique name and a source", i)
		}
		if set.Source.NumBatches() < 1 {
			return c, fmt.Errorf("train: eval set %q has no batches", set.Name)
		}
		names[set.Name] = true
	}
	if c.BestOn == "" && len(c.EvalSets) > 0 {
		c.BestOn = c.EvalSets[0].Name
	}
	if c.BestOn != "" && !names[c.BestOn] {
		return c, fmt.Errorf("train: BestOn names %q, which is not an eval set", c.BestOn)
	}
	return c, nil
}

// TotalSteps is the number of optimizer steps of the whole run.
func (t *Trainer) TotalSteps() int { return t.schedule.TotalSteps }

// Step is the number of optimizer steps taken so far.
func (t *Trainer) Step() int { return t.state.Step }

// Schedule is the learning-rate schedule of the run.
func (t *Trainer) Schedule() Schedule { return t.schedule }

// Compilations counts the graphs this trainer built (each is JIT-compiled
// once): one per training batch shape, one apply graph, one per evaluation
// batch shape. Graphs built elsewhere (variable initialisation) are not counted.
func (t *Trainer) Compilations() int { return int(t.compilations.Load()) }

// Close releases the compiled graphs.
func (t *Trainer) Close() {
	for _, e := range []*model.Exec{t.microExec, t.applyExec, t.evalExec} {
		if e != nil {
			e.Finalize()
		}
	}
}

// Run trains until the configured number of steps, early stopping, an error
// or the cancellation of runCtx. With Config.Resume it first continues from
// the newest checkpoint of the run directory.
func (t *Trainer) Run(runCtx stdcontext.Context) (*Result, error) {
	if t.started {
		return nil, errors.New("train: Run may be called once per Trainer")
	}
	t.started = true
	resumedFrom, err := t.prepare()
	if err != nil {
		return nil, err
	}
	if resumedFrom != "" && t.cfg.OnResume != nil {
		if err := t.cfg.OnResume(resumedFrom, t.state.Step); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
	}
	metricsLog, err := openMetricsLog(t.cfg.RunDir, t.keepLogThrough(resumedFrom))
	if err != nil {
		return nil, err
	}
	defer metricsLog.close()

	runStart, elapsedBefore := time.Now(), t.state.Elapsed
	result := func(stoppedEarly bool) *Result {
		t.state.Elapsed = elapsedBefore + time.Since(runStart).Seconds()
		return t.result(resumedFrom, stoppedEarly)
	}
	bar := newProgress(t.progressWriter(), t.TotalSteps(), t.state.Step, t.cfg.Phase)
	defer func() { bar.finish(t.state.Step == t.TotalSteps()) }()

	if t.cfg.EvalAtStart && t.state.Step == 0 {
		if _, err := t.evaluateAll(metricsLog, false); err != nil {
			return result(false), err
		}
	}
	for t.state.Step < t.TotalSteps() {
		if err := runCtx.Err(); err != nil {
			if t.cfg.SaveOnCancel && t.state.Step > 0 {
				t.state.Elapsed = elapsedBefore + time.Since(runStart).Seconds()
				if _, saveErr := t.saveCheckpoint(); saveErr != nil {
					return result(false), errors.Join(err, saveErr)
				}
			}
			return result(false), fmt.Errorf("train: stopped after step %d: %w", t.state.Step, err)
		}
		m, err := t.trainStep()
		if err != nil {
			return result(false), err
		}
		t.state.Elapsed = elapsedBefore + time.Since(runStart).Seconds()
		m.Elapsed = t.state.Elapsed
		if m.Skipped {
			t.log.Warn("train: step skipped", "step", m.Step, "reason", m.SkipReason, "loss", m.Loss, "grad_norm", m.GradNorm)
		}
		if m.Skipped || m.Step%t.cfg.LogEvery == 0 || m.Step == t.TotalSteps() {
			if err := metricsLog.write(m); err != nil {
				return result(false), err
			}
			if t.cfg.OnStep != nil {
				t.cfg.OnStep(m)
			}
		}
		bar.update(m)
		if t.state.BadStreak > t.cfg.MaxBadSteps {
			last := t.lastCkpt
			if last == "" {
				last = "none yet"
			}
			return result(false), fmt.Errorf("train: %d consecutive steps (%d to %d) had a non-finite loss or gradient norm (more than MaxBadSteps=%d); stopped with the variables of step %d (last checkpoint: %s)",
				t.state.BadStreak, m.Step-t.state.BadStreak+1, m.Step, t.cfg.MaxBadSteps, m.Step-t.state.BadStreak, last)
		}

		step, final := t.state.Step, t.state.Step == t.TotalSteps()
		savedAt := -1
		stopEarly := false
		if len(t.cfg.EvalSets) > 0 && (final || (t.cfg.EvalEvery > 0 && step%t.cfg.EvalEvery == 0)) {
			improved, err := t.evaluateAll(metricsLog, true)
			if err != nil {
				return result(false), err
			}
			if improved {
				if _, err := t.saveCheckpoint(); err != nil {
					return result(false), err
				}
				savedAt = step
				if err := t.writeBest(); err != nil {
					return result(false), err
				}
			}
			stopEarly = !improved && t.cfg.EarlyStoppingPatience > 0 && t.state.EvalsWithoutImprovement >= t.cfg.EarlyStoppingPatience
		}
		if savedAt != step && (final || stopEarly || (t.cfg.CheckpointEvery > 0 && step%t.cfg.CheckpointEvery == 0)) {
			if _, err := t.saveCheckpoint(); err != nil {
				return result(false), err
			}
		}
		if stopEarly {
			t.log.Info("train: early stopping", "step", step, "evals_without_improvement", t.state.EvalsWithoutImprovement)
			return result(true), nil
		}
	}
	return result(false), nil
}

// keepLogThrough is the last step whose metric records stay in the log.
func (t *Trainer) keepLogThrough(resumedFrom string) int {
	if resumedFrom == "" {
		return -1
	}
	return t.state.Step
}

func (t *Trainer) progressWriter() io.Writer {
	switch {
	case t.cfg.NoProgress:
		return nil
	case t.cfg.Progress != nil:
		return t.cfg.Progress
	case isTerminal(os.Stderr):
		return os.Stderr
	}
	return nil
}

// prepare creates the run directory, and restores the newest checkpoint
// when resuming or seeds a fresh run. It returns the checkpoint resumed from.
func (t *Trainer) prepare() (string, error) {
	if err := os.MkdirAll(t.cfg.RunDir, 0o755); err != nil {
		return "", fmt.Errorf("train: %w", err)
	}
	removeTempDirs(t.cfg.RunDir)
	latest, err := LatestCheckpoint(t.cfg.RunDir)
	if err != nil {
		return "", err
	}
	if t.cfg.ResumeFrom != "" && latest == "" {
		return "", fmt.Errorf("train: cannot resume from %s: run directory %s has no checkpoint", t.cfg.ResumeFrom, t.cfg.RunDir)
	}
	if latest == "" {
		if err := t.store.SetRNGStateFromSeed(t.cfg.Seed); err != nil {
			return "", fmt.Errorf("train: seeding: %w", err)
		}
		if t.cfg.InitOptimizerFrom != "" {
			if err := t.loadInitOptimizer(t.cfg.InitOptimizerFrom); err != nil {
				return "", err
			}
		}
		return "", nil
	}
	if !t.cfg.Resume && t.cfg.ResumeFrom == "" {
		return "", fmt.Errorf("train: run directory %s already has checkpoints (newest %s): set Resume to continue it, or use a new directory", t.cfg.RunDir, filepath.Base(latest))
	}
	from := latest
	if t.cfg.ResumeFrom != "" {
		if from, err = t.resumeFromDir(); err != nil {
			return "", err
		}
	}
	ckpt, err := LoadCheckpoint(from)
	var corrupt *CorruptCheckpointError
	if errors.As(err, &corrupt) && t.cfg.ResumeFrom == "" {
		return "", corruptNewestError(t.cfg.RunDir, latest, corrupt)
	}
	if err != nil {
		return "", err
	}
	for _, w := range ckpt.Warnings {
		t.log.Warn("train: " + w)
	}
	latest = from
	if n := t.data.NumBatches(); ckpt.meta.BatchesPerEpoch != n || ckpt.meta.GradAccum != t.cfg.GradAccum {
		return "", fmt.Errorf("train: cannot resume from %s: it was written with %d batches per epoch and gradient accumulation %d, this run has %d and %d (the data or batching changed)",
			latest, ckpt.meta.BatchesPerEpoch, ckpt.meta.GradAccum, n, t.cfg.GradAccum)
	}
	if ckpt.meta.TotalSteps != t.TotalSteps() {
		t.log.Warn("train: resuming with a different number of total steps; the learning-rate schedule changes", "was", ckpt.meta.TotalSteps, "now", t.TotalSteps())
	}
	if err := ckpt.Restore(t.store, false); err != nil {
		return "", err
	}
	t.state = ckpt.meta.State
	t.lastCkpt = latest
	if t.cfg.ResumeFrom != "" {
		if err := t.discardNewerCheckpoints(ckpt.Step); err != nil {
			return "", err
		}
	}
	t.log.Info("train: resumed", "checkpoint", latest, "step", t.state.Step, "epoch", t.state.Position.Epoch, "batch", t.state.Position.Index)
	return latest, nil
}

// trainStep runs GradAccum micro-batches and one optimizer update.
func (t *Trainer) trainStep() (StepMetrics, error) {
	start := time.Now()
	n := t.data.NumBatches()
	var tokens, examples int
	for range t.cfg.GradAccum {
		pos := t.state.Position
		batch, err := t.data.Batch(pos.Epoch, pos.Index)
		if err != nil {
			return StepMetrics{}, fmt.Errorf("train: step %d: %w", t.state.Step+1, err)
		}
		if _, err := Execute(t.microExec, batch.Inputs); err != nil {
			return StepMetrics{}, fmt.Errorf("train: step %d, batch (epoch %d, index %d): %w", t.state.Step+1, pos.Epoch, pos.Index, err)
		}
		tokens += batch.Tokens
		examples += batch.Examples
		t.state.Position = pos.advance(n)
	}
	if t.initMoments != nil {
		// The first micro-step fixed the trainable variables; their moments
		// must exist before the optimizer graph is built.
		if err := t.installInitMoments(); err != nil {
			return StepMetrics{}, err
		}
	}
	lr := t.schedule.LR(t.state.Step)
	adamStep := float64(t.state.OptimizerUpdatesBefore + t.state.Updates + 1)
	outs, err := Execute(t.applyExec, []*tensors.Tensor{
		tensors.FromScalar(float32(lr)),
		tensors.FromScalar(float32(1 / (1 - math.Pow(t.cfg.Beta1, adamStep)))),
		tensors.FromScalar(float32(1 / (1 - math.Pow(t.cfg.Beta2, adamStep)))),
	})
	if err != nil {
		return StepMetrics{}, fmt.Errorf("train: step %d, optimizer update: %w", t.state.Step+1, err)
	}
	values, err := scalars(outs)
	if err != nil {
		return StepMetrics{}, fmt.Errorf("train: step %d: %w", t.state.Step+1, err)
	}
	loss, weight, norm, ok := values[0], values[1], values[2], values[3] == 1

	t.state.Step++
	t.state.Tokens += int64(tokens)
	t.state.Examples += int64(examples)
	m := StepMetrics{
		Phase: t.cfg.Phase, Step: t.state.Step, TotalSteps: t.TotalSteps(),
		Epoch: float64(t.state.Position.Epoch) + float64(t.state.Position.Index)/float64(n),
		Loss:  loss, LR: lr, GradNorm: norm, StepTokens: tokens, StepWeight: weight,
		Examples: t.state.Examples, Tokens: t.state.Tokens,
		Metrics: t.namedMetrics(values[4:]),
	}
	switch {
	case ok:
		t.state.Updates++
		t.state.BadStreak = 0
		m.Loss = loss
		t.state.LastLoss = &m.Loss
	case weight == 0:
		m.Skipped, m.SkipReason = true, "no target tokens in the step's batches"
		t.state.SkippedSteps++
	default:
		m.Skipped, m.SkipReason = true, "non-finite loss or gradient norm"
		t.state.SkippedSteps++
		t.state.BadStreak++
	}
	if secs := time.Since(start).Seconds(); secs > 0 {
		m.TokensPerSec = float64(tokens) / secs
	}
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	m.HeapBytes = mem.HeapAlloc
	return m, nil
}

func (t *Trainer) namedMetrics(values []float64) map[string]float64 {
	if len(t.metricNames) == 0 {
		return nil
	}
	m := make(map[string]float64, len(t.metricNames))
	for i, name := range t.metricNames {
		m[name] = values[i]
	}
	return m
}

// Evaluate computes the loss of a held-out set with the current variables
// (all batches of epoch 0, no dropout).
func (t *Trainer) Evaluate(set EvalSet) (EvalMetrics, error) {
	start := time.Now()
	var sum, weight float64
	var metricSums []float64
	em := EvalMetrics{Phase: t.cfg.Phase, Step: t.state.Step, Set: set.Name}
	for i := range set.Source.NumBatches() {
		batch, err := set.Source.Batch(0, i)
		if err != nil {
			return em, fmt.Errorf("train: eval set %q: %w", set.Name, err)
		}
		outs, err := Execute(t.evalExec, batch.Inputs)
		if err != nil {
			return em, fmt.Errorf("train: eval set %q, batch %d: %w", set.Name, i, err)
		}
		values, err := scalars(outs)
		if err != nil {
			return em, fmt.Errorf("train: eval set %q: %w", set.Name, err)
		}
		sum += values[0]
		weight += values[1]
		if metricSums == nil {
			metricSums = make([]float64, len(values)-2)
		}
		for j, v := range values[2:] {
			metricSums[j] += v
		}
		em.Tokens += int64(batch.Tokens)
		em.Examples += int64(batch.Examples)
	}
	em.Weight = weight
	em.Loss = sum / weight
	em.Perplexity = math.Exp(em.Loss)
	for j := range metricSums {
		metricSums[j] /= weight
	}
	em.Metrics = t.namedMetrics(metricSums)
	em.Seconds = time.Since(start).Seconds()
	return em, nil
}

// evaluateAll evaluates every set, logs the results and updates the best
// and early-stopping state when track is set. It reports a new best.
func (t *Trainer) evaluateAll(metricsLog *metricsLog, track bool) (improved bool, err error) {
	for _, set := range t.cfg.EvalSets {
		em, err := t.Evaluate(set)
		if err != nil {
			return false, err
		}
		if track && set.Name == t.cfg.BestOn {
			if !math.IsNaN(em.Loss) && (!t.state.HasBest || em.Loss < t.state.BestEvalLoss-t.cfg.EarlyStoppingMinDelta) {
				t.state.HasBest, t.state.BestStep, t.state.BestEvalLoss = true, t.state.Step, em.Loss
				t.state.EvalsWithoutImprovement = 0
				em.Best, improved = true, true
			} else {
				t.state.EvalsWithoutImprovement++
			}
		}
		t.lastEval[set.Name] = em
		t.log.Info("train: evaluation", "step", em.Step, "set", em.Set, "loss", em.Loss, "perplexity", em.Perplexity)
		if err := metricsLog.write(em); err != nil {
			return false, err
		}
		if t.cfg.OnEval != nil {
			t.cfg.OnEval(em)
		}
	}
	return improved, nil
}

// SaveCheckpoint writes a checkpoint of the current step now (the loop does
// so on its own schedule; this is for callers that stop a run themselves).
func (t *Trainer) SaveCheckpoint() (string, error) { return t.saveCheckpoint() }

func (t *Trainer) saveCheckpoint() (string, error) {
	if len(t.trainable) == 0 {
		return "", errors.New("train: nothing to checkpoint before the first training step")
	}
	vars := slices.Clone(t.trainable)
	for _, v := range t.trainable {
		m, second := t.moments(v)
		if m == nil || second == nil {
			return "", fmt.Errorf("train: optimizer state of %s missing", v.Path())
		}
		vars = append(vars, m, second)
	}
	if rng := t.store.GetVariable(model.RNGStateVariableName); rng != nil && rng.HasValue() {
		vars = append(vars, rng)
	}
	dir, err := writeCheckpoint(t.cfg.RunDir, checkpointMeta{
		State: t.state, BatchesPerEpoch: t.data.NumBatches(), GradAccum: t.cfg.GradAccum, TotalSteps: t.TotalSteps(),
	}, vars)
	if err != nil {
		return "", err
	}
	t.lastCkpt = dir
	t.log.Info("train: checkpoint", "dir", dir, "step", t.state.Step)
	if err := pruneCheckpoints(t.cfg.RunDir, t.cfg.KeepLast, t.state.BestStep, t.state.HasBest); err != nil {
		return dir, err
	}
	return dir, nil
}

func (t *Trainer) writeBest() error {
	data, err := json.MarshalIndent(bestRecord{
		Dir: checkpointDirName(t.state.BestStep), Step: t.state.BestStep, EvalSet: t.cfg.BestOn, EvalLoss: t.state.BestEvalLoss,
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return writeFileAtomic(filepath.Join(t.cfg.RunDir, checkpointsDirName, bestFileName), data)
}

func (t *Trainer) result(resumedFrom string, stoppedEarly bool) *Result {
	r := &Result{
		Steps: t.state.Step, Updates: t.state.Updates, SkippedSteps: t.state.SkippedSteps,
		Examples: t.state.Examples, Tokens: t.state.Tokens, FinalLoss: math.NaN(),
		Evals: maps.Clone(t.lastEval), HasBest: t.state.HasBest, BestStep: t.state.BestStep, BestEvalLoss: t.state.BestEvalLoss,
		LastCheckpoint: t.lastCkpt, ResumedFrom: resumedFrom, InitOptimizerFrom: t.state.OptimizerInitFrom, StoppedEarly: stoppedEarly,
		Compilations: t.Compilations(), Elapsed: time.Duration(t.state.Elapsed * float64(time.Second)),
	}
	if t.state.LastLoss != nil {
		r.FinalLoss = *t.state.LastLoss
	}
	if t.state.HasBest {
		if best, err := BestCheckpoint(t.cfg.RunDir); err == nil {
			r.BestCheckpoint = best
		}
	}
	return r
}

// Execute runs a graph on inputs, turning panics of graph building into
// errors.
func Execute(exec *model.Exec, inputs []*tensors.Tensor) (outs []*tensors.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	args := make([]any, len(inputs))
	for i, x := range inputs {
		args[i] = x
	}
	return exec.Exec(args...)
}

// scalars reads float scalar outputs.
func scalars(outs []*tensors.Tensor) ([]float64, error) {
	values := make([]float64, len(outs))
	for i, out := range outs {
		switch v := out.Value().(type) {
		case float32:
			values[i] = float64(v)
		case float64:
			values[i] = v
		default:
			return nil, fmt.Errorf("output #%d is %s, want a float scalar", i, out.Shape())
		}
	}
	return values, nil
}
