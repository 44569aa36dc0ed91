package curriculum

import (
	stdcontext "context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gomlx/compute"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/dpo"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/export"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/runcheck"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/sft"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// File and directory names inside a run directory, beside the ones every
// stage writes (stage.ConfigFileName, stage.DataSummaryFileName,
// stage.AdapterDirName).
const (
	SettingsFileName = "run.json"
	SummaryFileName  = "summary.json"
	MetricsFileName  = train.MetricsFileName
	PhasesDirName    = "phases"
	DPODirName       = "dpo"
	MergedDirName    = "merged"
)

// The pipelines.
const (
	PipelineCurriculum = "curriculum"
	PipelineSequential = "sequential"
)

// runSettings is run.json: what shapes a run besides its configuration,
// kept so that a resumed run repeats it.
type runSettings struct {
	Pipeline        string `json:"pipeline"`
	Debug           bool   `json:"debug"`
	MaxEvalExamples int    `json:"max_eval_examples"`
	DPOMaxSteps     int    `json:"dpo_max_steps"`
	VerifyMerge     bool   `json:"verify_merge"`
}

// RunCurriculum runs the phases of curriculum.yaml, then DPO and the merge
// as configured (curriculum.run_dpo_after, curriculum.merge_final_model),
// writing the run directory described in the package documentation. runCtx
// cancels the run between training steps; Options.Resume continues it. On
// an error the returned Summary holds what was done.
func RunCurriculum(runCtx stdcontext.Context, opts Options) (*Summary, error) {
	return run(runCtx, opts, PipelineCurriculum)
}

// RunSequential runs the original three stages: SFT on CounselChat, SFT on
// AnnoMI from stage 1's adapter, DPO; then the merge when
// curriculum.merge_final_model is set. It writes the same run directory as
// RunCurriculum (its two SFT stages are its phases).
func RunSequential(runCtx stdcontext.Context, opts Options) (*Summary, error) {
	return run(runCtx, opts, PipelineSequential)
}

// runner holds what the stages of one invocation share.
type runner struct {
	opts     Options
	cfg      *config.All
	settings runSettings
	log      *slog.Logger
	backend  compute.Backend
	corpus   *corpus
	summary  *Summary
	start    time.Time
	prevWall float64 // wall time of earlier invocations

	// resumption is the check of a resumed run's configuration (nil for a
	// new run); its Mutable changes also apply to the stages.
	resumption *runcheck.Resumption
}

func run(runCtx stdcontext.Context, opts Options, pipeline string) (*Summary, error) {
	start := time.Now()
	if err := opts.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", pipeline, err)
	}
	r := &runner{opts: opts, log: opts.Log(), start: start}
	if err := r.prepare(pipeline); err != nil {
		return nil, fmt.Errorf("%s: %w", pipeline, err)
	}
	err := r.runStages(runCtx, pipeline)
	if werr := r.writeSummary(); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		return r.summary, fmt.Errorf("%s: %w", pipeline, err)
	}
	return r.summary, nil
}

// prepare resolves (or reloads) the configuration and settings, loads the
// corpus, and starts the summary.
func (r *runner) prepare(pipeline string) error {
	set, err := r.runSettings(pipeline)
	if err != nil {
		return err
	}
	r.settings = set
	if r.cfg, r.resumption, err = runConfig(&r.opts); err != nil {
		return err
	}
	for _, note := range r.cfg.Notes() {
		r.log.Warn(pipeline + ": configuration: " + note)
	}
	if r.resumption == nil {
		// run.json first: config.yaml marks a run directory as started.
		if err := os.MkdirAll(r.opts.Out, 0o755); err != nil {
			return err
		}
		if err := writeJSON(filepath.Join(r.opts.Out, SettingsFileName), set); err != nil {
			return err
		}
		if err := r.cfg.WriteYAML(filepath.Join(r.opts.Out, stage.ConfigFileName)); err != nil {
			return fmt.Errorf("writing the resolved configuration: %w", err)
		}
	}
	if r.corpus, err = loadCorpus(r.cfg, set.Debug); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	r.summary = &Summary{
		Pipeline: pipeline, RunDir: r.opts.Out, Model: r.cfg.Model.NameOrPath, DType: stage.ModelDType(r.cfg),
		Debug: set.Debug, OptimizerState: r.cfg.Curriculum.OptimizerState, Invocations: 1,
	}
	var prev Summary
	if err := atomicfile.ReadJSON(filepath.Join(r.opts.Out, SummaryFileName), &prev); err == nil {
		r.summary.Invocations = prev.Invocations + 1
		r.prevWall = prev.TotalWallSeconds
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if r.backend = r.opts.BackendInstance; r.backend == nil {
		if r.backend, err = stage.NewBackend(r.cfg.Model.Backend); err != nil {
			return err
		}
	}
	if r.resumption != nil {
		return r.resumption.Record("", 0) // the stages record the checkpoints they continue
	}
	return nil
}

// runSettings returns the settings of this run: those of the options, or,
// when resuming, those of run.json, checked against the options.
func (r *runner) runSettings(pipeline string) (runSettings, error) {
	o := &r.opts
	set := runSettings{Pipeline: pipeline, Debug: o.Debug, MaxEvalExamples: o.MaxEvalExamples, DPOMaxSteps: o.DPOMaxSteps, VerifyMerge: o.VerifyMerge}
	_, cfgErr := os.Stat(filepath.Join(o.Out, stage.ConfigFileName))
	if o.Resume && errors.Is(cfgErr, os.ErrNotExist) {
		return set, runcheck.NothingToResume(o.Out, "there is no run in it (no "+filepath.Join(o.Out, stage.ConfigFileName)+")")
	}
	if o.Resume && cfgErr == nil {
		var saved runSettings
		if err := atomicfile.ReadJSON(filepath.Join(o.Out, SettingsFileName), &saved); err != nil {
			return set, fmt.Errorf("resuming: %w", err)
		}
		switch {
		case saved.Pipeline != pipeline:
			return set, fmt.Errorf("cannot resume %s: it is a %s run, not a %s run", o.Out, saved.Pipeline, pipeline)
		case o.Debug && !saved.Debug:
			return set, fmt.Errorf("cannot resume %s with --debug: it was started without", o.Out)
		case o.MaxEvalExamples != 0 && o.MaxEvalExamples != saved.MaxEvalExamples:
			return set, fmt.Errorf("cannot resume %s with max eval examples %d: it was started with %d", o.Out, o.MaxEvalExamples, saved.MaxEvalExamples)
		case o.DPOMaxSteps != 0 && o.DPOMaxSteps != saved.DPOMaxSteps:
			return set, fmt.Errorf("cannot resume %s with DPO max steps %d: it was started with %d", o.Out, o.DPOMaxSteps, saved.DPOMaxSteps)
		}
		saved.VerifyMerge = saved.VerifyMerge || o.VerifyMerge
		if saved.Debug && !o.Debug && o.configOptionsSet() {
			// The resolved configuration must equal the saved one, which
			// has the debug sizes applied.
			o.Debug = true
		}
		return saved, nil
	}
	if cfgErr == nil {
		return set, fmt.Errorf("run directory %s already holds a run (%s): resume it, or use a new directory", o.Out, stage.ConfigFileName)
	}
	return set, nil
}

// runStages runs (or skips, when already complete) every stage in order.
func (r *runner) runStages(runCtx stdcontext.Context, pipeline string) error {
	var stages []sftStage
	var err error
	withDPO := r.cfg.Curriculum.RunDPOAfter
	if pipeline == PipelineSequential {
		stages, err = sequentialStages(r.cfg, r.corpus)
		withDPO = true
	} else {
		stages, err = curriculumStages(r.cfg, r.corpus)
	}
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	ds := newDataSummary(pipeline, r.cfg, &r.settings, r.corpus, stages, withDPO)
	if err := writeJSON(filepath.Join(r.opts.Out, stage.DataSummaryFileName), ds); err != nil {
		return err
	}
	r.log.Info(pipeline+": data", "stages", len(stages), "eval_counselchat", ds.EvalSets[data.SourceCounselChat], "eval_annomi", ds.EvalSets[data.SourceAnnoMI])
	if err := r.writeSummary(); err != nil {
		return err
	}

	adapter, prevDir := "", ""
	var metricsFiles []string
	for _, st := range stages {
		ps, err := r.runPhase(runCtx, st, adapter, prevDir)
		if ps != nil {
			r.summary.Phases = append(r.summary.Phases, *ps)
		}
		if err != nil {
			return err
		}
		adapter, prevDir = ps.Adapter, st.Dir
		metricsFiles = append(metricsFiles, filepath.Join(r.opts.Out, st.Dir, MetricsFileName))
		if err := r.stageDone(ps.Name, metricsFiles); err != nil {
			return err
		}
	}
	if withDPO {
		ds, err := r.runDPO(runCtx, adapter)
		r.summary.DPO = ds
		if err != nil {
			return err
		}
		adapter = ds.Adapter
		metricsFiles = append(metricsFiles, filepath.Join(r.opts.Out, DPODirName, MetricsFileName))
		if err := r.stageDone("dpo", metricsFiles); err != nil {
			return err
		}
	}
	final := filepath.Join(r.opts.Out, stage.AdapterDirName)
	if err := copyDir(filepath.Join(r.opts.Out, adapter), final); err != nil {
		return fmt.Errorf("final adapter: %w", err)
	}
	r.summary.Adapter = stage.AdapterDirName
	if r.cfg.Curriculum.MergeFinalModel {
		mr, err := r.merge(runCtx, final)
		r.summary.Merge = mr
		if err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		if err := r.stageDone("merge", nil); err != nil {
			return err
		}
	}
	r.summary.Complete = true
	return nil
}

// stageDone refreshes the combined metrics log and the summary after a
// stage, and tells the caller.
func (r *runner) stageDone(name string, metricsFiles []string) error {
	if metricsFiles != nil {
		if err := concatFiles(filepath.Join(r.opts.Out, MetricsFileName), metricsFiles); err != nil {
			return fmt.Errorf("metrics log: %w", err)
		}
	}
	if err := r.writeSummary(); err != nil {
		return err
	}
	if r.opts.OnStage != nil {
		r.opts.OnStage(name, r.summary)
	}
	return nil
}

// runPhase runs one SFT stage from the previous stage's adapter (a path
// relative to the run directory; "" for a new adapter), or reads it back
// when an earlier invocation completed it. With curriculum.optimizer_state
// "carry" the stage's AdamW state starts from the final checkpoint of the
// previous stage (prevDir, relative to the run directory; "" for none).
func (r *runner) runPhase(runCtx stdcontext.Context, st sftStage, initAdapter, prevDir string) (*PhaseSummary, error) {
	dir := filepath.Join(r.opts.Out, st.Dir)
	if _, err := os.Stat(filepath.Join(dir, sft.SummaryFileName)); err == nil {
		r.log.Info("phase already complete", "phase", st.Name)
		ps, err := phaseSummary(r.opts.Out, st, initAdapter)
		if ps != nil {
			ps.Reused = true
		}
		return ps, err
	}
	resume, err := hasCheckpoint(dir)
	if err != nil {
		return nil, fmt.Errorf("phase %s: %w", st.Name, err)
	}
	o := sft.Options{
		ConfigOptions: stage.ConfigOptions{
			ConfigPath: filepath.Join(r.opts.Out, stage.ConfigFileName),
			Overrides: append(r.changedSettings(),
				"training.learning_rate="+strconv.FormatFloat(st.LearningRate, 'g', -1, 64),
				"training.num_train_epochs="+strconv.Itoa(st.Epochs),
				"training.max_steps="+strconv.Itoa(st.MaxSteps),
			),
		},
		Conversations:   r.phaseConversations(st),
		MaxEvalExamples: r.settings.MaxEvalExamples,
		Out:             dir,
		Resume:          resume, // a stage without a checkpoint starts
		SaveOnCancel:    true,
		Phase:           st.Name,
		BackendInstance: r.backend, Hub: r.opts.Hub,
		Reporting: r.opts.Reporting,
	}
	if initAdapter != "" {
		o.InitAdapter = filepath.Join(r.opts.Out, initAdapter)
	}
	if r.cfg.Curriculum.OptimizerState == config.OptimizerCarry && prevDir != "" {
		// The previous stage's newest checkpoint is its final step (the
		// trainer always saves the last one and prunes older ones only).
		// Resuming this stage from its own checkpoint ignores it.
		ckpt, err := train.LatestCheckpoint(filepath.Join(r.opts.Out, prevDir))
		if err != nil {
			return nil, fmt.Errorf("phase %s: %w", st.Name, err)
		}
		if ckpt == "" {
			return nil, fmt.Errorf("phase %s: curriculum.optimizer_state is carry, but the previous stage (%s) has no checkpoint to take the optimizer state from", st.Name, prevDir)
		}
		o.InitOptimizer = ckpt
	}
	r.log.Info("phase", "phase", st.Name, "examples", len(st.train), "learning_rate", st.LearningRate, "epochs", st.Epochs,
		"init_adapter", o.InitAdapter, "init_optimizer", o.InitOptimizer)
	if _, err := sft.Run(runCtx, o); err != nil {
		return nil, fmt.Errorf("phase %s: %w", st.Name, err)
	}
	return phaseSummary(r.opts.Out, st, initAdapter)
}

// changedSettings are the assignments of the runcheck.Mutable settings
// that this invocation changes from the run's config.yaml, which the SFT
// stages read (the DPO stage gets the configuration itself).
func (r *runner) changedSettings() []string {
	var out []string
	if r.resumption != nil {
		for _, c := range r.resumption.Changes() {
			out = append(out, c.Assignment())
		}
	}
	return out
}

// hasCheckpoint reports whether a stage's run directory has a checkpoint to
// resume.
func hasCheckpoint(dir string) (bool, error) {
	latest, err := train.LatestCheckpoint(dir)
	return latest != "", err
}

// phaseConversations are the stage's training conversations and the shared
// held-out sets, labelled by split for package sft.
func (r *runner) phaseConversations(st sftStage) []data.Conversation {
	out := make([]data.Conversation, 0, len(st.train)+len(r.corpus.eval))
	for _, c := range st.train {
		c.Split = string(data.SplitTrain)
		out = append(out, c)
	}
	for _, c := range r.corpus.eval {
		c.Split = string(data.SplitValidation)
		out = append(out, c)
	}
	return out
}

// runDPO runs preference tuning from the last SFT adapter (relative to the
// run directory), or reads it back when an earlier invocation completed it.
func (r *runner) runDPO(runCtx stdcontext.Context, sftAdapter string) (*DPOSummary, error) {
	dir := filepath.Join(r.opts.Out, DPODirName)
	if _, err := os.Stat(filepath.Join(dir, dpo.SummaryFileName)); err == nil {
		r.log.Info("DPO already complete")
		ds, err := dpoSummary(r.opts.Out, sftAdapter)
		if ds != nil {
			ds.Reused = true
		}
		return ds, err
	}
	model, err := export.ResolveBase(runCtx, r.cfg.Model.NameOrPath, r.opts.Hub)
	if err != nil {
		return nil, fmt.Errorf("DPO: %w", err)
	}
	tok, err := model.Tokenizer()
	if err != nil {
		return nil, fmt.Errorf("DPO: %w", err)
	}
	trainPairs, evalPairs := dpoPairs(r.cfg, r.corpus, r.settings.DPOMaxSteps, r.settings.MaxEvalExamples)
	if len(trainPairs) == 0 {
		return nil, errors.New("DPO: no preference pairs in the train split")
	}
	dtype, err := stage.ParseDType(stage.ModelDType(r.cfg))
	if err != nil {
		return nil, fmt.Errorf("DPO: %w", err)
	}
	resume, err := hasCheckpoint(dir)
	if err != nil {
		return nil, fmt.Errorf("DPO: %w", err)
	}
	o := dpo.Options{
		Config: r.cfg, Model: model.Path, Adapter: filepath.Join(r.opts.Out, sftAdapter), RunDir: dir,
		Resume: resume, SaveOnCancel: true, MaxSteps: r.settings.DPOMaxSteps, DType: dtype, Backend: r.backend,
		Tokenizer: tok, TrainPairs: trainPairs, EvalPairs: evalPairs,
		Reporting: r.opts.Reporting,
	}
	if len(evalPairs) == 0 {
		o.EvalPairs = nil
	}
	r.log.Info("DPO", "train_pairs", len(trainPairs), "eval_pairs", len(evalPairs), "adapter", o.Adapter)
	if _, err := dpo.Run(runCtx, o); err != nil {
		return nil, fmt.Errorf("DPO: %w", err)
	}
	return dpoSummary(r.opts.Out, sftAdapter)
}

// merge merges the final adapter into the base model as merged/, or reads
// back the result of an earlier invocation.
func (r *runner) merge(runCtx stdcontext.Context, adapter string) (*export.MergeResult, error) {
	dir := filepath.Join(r.opts.Out, MergedDirName)
	var mr export.MergeResult
	if err := atomicfile.ReadJSON(filepath.Join(dir, export.MergeInfoFileName), &mr); err == nil {
		r.log.Info("merged model already written", "dir", dir)
		mr.Reused = true
		return &mr, nil
	}
	dtype := ""
	if export.IsPreset(r.cfg.Model.NameOrPath) {
		dtype = stage.ModelDType(r.cfg)
	}
	res, err := export.Merge(runCtx, export.MergeOptions{
		Model: r.cfg.Model.NameOrPath, Adapter: adapter, Out: dir, DType: dtype,
		Verify: r.settings.VerifyMerge, Backend: r.backend, Hub: r.opts.Hub, Logger: r.log,
	})
	if err != nil {
		return nil, err
	}
	res.Dir = MergedDirName
	return res, nil
}

// writeSummary writes summary.json with the times of this invocation.
func (r *runner) writeSummary() error {
	if r.summary == nil {
		return nil
	}
	s := r.summary
	s.WallSeconds = time.Since(r.start).Seconds()
	s.TotalWallSeconds = r.prevWall + s.WallSeconds
	s.TrainSeconds = 0
	for _, p := range s.Phases {
		s.TrainSeconds += p.TrainSeconds
	}
	if s.DPO != nil {
		s.TrainSeconds += s.DPO.TrainSeconds
	}
	return writeJSON(filepath.Join(r.opts.Out, SummaryFileName), s)
}
