package main

import (
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/curriculum"
)

func init() {
	register("train curriculum", "the phased curriculum from CounselChat to AnnoMI, then DPO and merge", trainCurriculumUsage, runTrainCurriculum)
	register("train sequential", "SFT on CounselChat, then on AnnoMI, then DPO (the three original stages)", trainSequentialUsage, runTrainSequential)
}

const (
	trainCurriculumUsage = "--model M [--out RUN_DIR] [--debug] [--config DIR] [--run-dpo-after=BOOL] [--merge-final-model=BOOL] [--resume] [flags]"
	trainSequentialUsage = "--model M [--out RUN_DIR] [--debug] [--config DIR] [--merge-final-model=BOOL] [--resume] [flags]"
)

// pipelineSets collects the repeatable --set flag.
type pipelineSets []string

func (l *pipelineSets) String() string     { return strings.Join(*l, " ") }
func (l *pipelineSets) Set(v string) error { *l = append(*l, v); return nil }

func runTrainCurriculum(ctx *runContext, args []string) error {
	return runPipeline(ctx, args, curriculum.PipelineCurriculum, trainCurriculumUsage,
		"Run the phases of curriculum.yaml (by default 100:0 → 0:100 CounselChat:AnnoMI with falling learning rates),\n"+
			"each from the previous phase's adapter and evaluated on both held-out sets; then DPO and the merge as\n"+
			"configured. RUN_DIR (default runs/curriculum-YYYYmmdd-HHMMSS) receives config.yaml, data_summary.json,\n"+
			"metrics.jsonl, phases/NN-name/, dpo/, adapter/, merged/ and summary.json. The last line of stdout is RUN_DIR.\n"+
			"Ctrl-C, SIGTERM or SIGHUP stop after the current step and save it (exit status 128 + the signal number);\n"+
			"--resume continues from the last checkpoint of the current stage.")
}

func runTrainSequential(ctx *runContext, args []string) error {
	return runPipeline(ctx, args, curriculum.PipelineSequential, trainSequentialUsage,
		"Stage 1: SFT on CounselChat; stage 2: SFT on AnnoMI from stage 1's adapter; stage 3: DPO; then the merge when\n"+
			"curriculum.merge_final_model is set. Both SFT stages evaluate on both held-out sets. RUN_DIR (default\n"+
			"runs/sequential-YYYYmmdd-HHMMSS) is laid out as for train curriculum; the last line of stdout is RUN_DIR.")
}

func runPipeline(ctx *runContext, args []string, pipeline, usage, summary string) error {
	name := "train " + pipeline
	fs := newFlagSet(ctx, name, usage, summary)
	var o curriculum.Options
	fs.StringVar(&o.Model, "model", "", "base model: a preset (mini, tiny), a checkpoint directory or a Hugging Face repo id (default: model_config.yaml, mini)")
	fs.StringVar(&o.ConfigPath, "config", "", "configs directory, one section file or a resolved config.yaml (default: the shipped defaults)")
	fs.StringVar(&o.Out, "out", "", "run directory (default: runs/"+pipeline+"-YYYYmmdd-HHMMSS; required with --resume)")
	fs.BoolVar(&o.Debug, "debug", false, "small run: the debug subsets, max_seq_length and target_dataset_size of data.yaml")
	fs.BoolVar(&o.Resume, "resume", false, "continue RUN_DIR: skip the complete stages, continue the current one from its last checkpoint"+resumeHelp)
	fs.StringVar(&o.DType, "dtype", "", "dtype of the base weights and activations: float32 or bfloat16 (default: model_config.yaml)")
	fs.StringVar(&o.Backend, "backend", "", `GoMLX backend: "go" or "xla:/abs/path/plugin.so" (default: model_config.yaml, $GOMLX_BACKEND, go)`)
	fs.Float64Var(&o.LRScale, "lr-scale", 0, "multiply every learning rate (phases, training, DPO) by this factor, e.g. 100 for the random-init tiny preset")
	fs.IntVar(&o.Epochs, "epochs", 0, "epochs of every phase (default: each phase's in curriculum.yaml; sequential: training_config.yaml's)")
	fs.IntVar(&o.MaxEvalExamples, "max-eval-examples", 0, "evaluate on the first N examples of each held-out set and N DPO pairs (default: all)")
	fs.IntVar(&o.DPOMaxSteps, "dpo-max-steps", 0, "stop DPO after N optimizer steps (default: dpo.yaml's epochs)")
	fs.BoolVar(&o.VerifyMerge, "verify-merge", false, "reload the merged model and check its logits against the base model with the adapter")
	runDPO := fs.Bool("run-dpo-after", false, "run DPO after the last phase (default: curriculum.run_dpo_after)")
	merge := fs.Bool("merge-final-model", false, "merge the final adapter into the base model (default: curriculum.merge_final_model)")
	var sets pipelineSets
	fs.Var(&sets, "set", "override a configuration value, e.g. --set curriculum.phases.0.size=200 (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", name, fs.Arg(0))
	}
	var named []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "run-dpo-after":
			named = append(named, "curriculum.run_dpo_after="+strconv.FormatBool(*runDPO))
		case "merge-final-model":
			named = append(named, "curriculum.merge_final_model="+strconv.FormatBool(*merge))
		}
	})
	if pipeline == curriculum.PipelineSequential && assignsKey(named, "curriculum.run_dpo_after") {
		return fmt.Errorf("%s: --run-dpo-after applies to train curriculum (the sequential pipeline always runs DPO)", name)
	}
	o.Overrides = append(named, sets...)
	if o.Out == "" {
		if o.Resume {
			return fmt.Errorf("%s: --resume needs --out RUN_DIR", name)
		}
		o.Out = filepath.Join("runs", pipeline+"-"+time.Now().Format("20060102-150405"))
	}
	o.Reporting = ctx.trainingOutput()

	// Ctrl-C, SIGTERM or SIGHUP stop the run after the current step and
	// save it; --resume continues it.
	runCtx, stop := stopContext()
	defer stop()
	run := curriculum.RunCurriculum
	if pipeline == curriculum.PipelineSequential {
		run = curriculum.RunSequential
	}
	guard := guardRunDir(o.Out)
	s, err := run(runCtx, o)
	if err != nil {
		removed := guard.cleanUpFailedStart(ctx.stderr) // a failed start leaves no half-made run directory
		if !removed && !slices.Contains(args, "--out") && !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--out=") }) {
			args = append(slices.Clip(args), "--out", o.Out) // the default run directory, named for --resume
		}
		if stopped := stoppedRun(runCtx, name, o.Out, args, err, removed); stopped != nil {
			return stopped
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	s.Table(ctx.stdout)
	fmt.Fprintln(ctx.stdout, s.RunDir)
	return nil
}

// assignsKey reports whether one of the assignments sets key.
func assignsKey(assignments []string, key string) bool {
	for _, a := range assignments {
		if strings.HasPrefix(a, key+"=") {
			return true
		}
	}
	return false
}
