package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/sft"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

func init() {
	register("train sft", "fine-tune a LoRA adapter on counselling conversations (SFT)", trainSFTUsage, runTrainSFT)
}

const trainSFTUsage = "--model M --data counselchat|annomi|both|FILE.jsonl --out RUN_DIR [flags]"

// resumeHelp ends the help of every --resume flag: what must not differ.
const resumeHelp = "; the configuration, model, adapter and data must be the run's " +
	"(only the backend, max_steps and the logging, eval and save frequencies may change; see README)"

// overrideFlags collects the repeatable --set flag.
type overrideFlags []string

func (l *overrideFlags) String() string     { return strings.Join(*l, " ") }
func (l *overrideFlags) Set(v string) error { *l = append(*l, v); return nil }

func runTrainSFT(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "train sft", trainSFTUsage,
		"Supervised fine-tuning of a LoRA adapter on the base model: the configuration of --config, overridden by the\n"+
			"flags, trains on the train split and evaluates on the validation split of each source. RUN_DIR receives\n"+
			"config.yaml, data_summary.json, metrics.jsonl, checkpoints/, adapter/ and best_adapter/ (PEFT layout) and\n"+
			"summary.json; the run directory is printed on stdout at the end. Ctrl-C, SIGTERM or SIGHUP stop after the\n"+
			"current step and save it (exit status 128 + the signal number);\n"+
			"--resume continues from the last checkpoint.")
	var o sft.Options
	fs.StringVar(&o.Model, "model", "", "base model: a checkpoint directory, a Hugging Face repo id, or a preset: mini, tiny (default: model_config.yaml, mini)")
	fs.StringVar(&o.Data, "data", "", "counselchat, annomi, both, or a JSONL file of {\"messages\": [...]} conversations (required)")
	fs.StringVar(&o.InitAdapter, "adapter", "", "PEFT adapter directory to continue training (default: a new adapter from lora_config.yaml)")
	fs.StringVar(&o.ResumeFrom, "resume-from", "", "continue from this checkpoint of RUN_DIR (RUN_DIR/checkpoints/step-N, e.g. the intact one before a corrupt newest one; newer ones are moved aside); implies --resume")
	fs.StringVar(&o.DType, "dtype", "", "dtype of the base weights and activations: float32 or bfloat16 (default: model_config.yaml)")
	sets := addRunFlags(fs, &o, "1e-4")
	return runSFTCommand(ctx, fs, "train sft", args, &o, sets)
}

// addRunFlags registers the flags that train sft and train full share on
// o; lr is the learning rate of the --set example.
func addRunFlags(fs *flag.FlagSet, o *sft.Options, lr string) *overrideFlags {
	fs.StringVar(&o.ConfigPath, "config", "", "configs directory, one section file or a resolved config.yaml (default: the repository's configs/, found from the working directory)")
	fs.StringVar(&o.Out, "out", "", "run directory (required)")
	fs.BoolVar(&o.Debug, "debug", false, "small run: the debug subsets and max_seq_length of data.yaml")
	fs.BoolVar(&o.Resume, "resume", false, "continue the newest checkpoint of RUN_DIR exactly"+resumeHelp)
	fs.StringVar(&o.Backend, "backend", "", `GoMLX backend: "go" or "xla:/abs/path/plugin.so" (default: model_config.yaml, $GOMLX_BACKEND, go)`)
	fs.IntVar(&o.MaxSteps, "max-steps", 0, "stop after N optimizer steps (default: training_config.yaml)")
	fs.IntVar(&o.MaxEvalExamples, "max-eval-examples", 0, "evaluate on the first N validation examples of each source (default: all)")
	var sets overrideFlags
	fs.Var(&sets, "set", "override a configuration value, e.g. --set training.learning_rate="+lr+" (repeatable; wins over the other flags)")
	return &sets
}

// runSFTCommand parses the flags of train sft or train full (name) into o
// and runs it: a stop signal saves the last finished step for --resume, a
// failed start leaves no half-made run directory, and the run directory is
// printed on stdout at the end.
func runSFTCommand(ctx *runContext, fs *flag.FlagSet, name string, args []string, o *sft.Options, sets *overrideFlags) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", name, fs.Arg(0))
	}
	if o.Data == "" || o.Out == "" {
		return fmt.Errorf("%s: --data and --out are required", name)
	}
	o.Overrides = *sets
	o.Resume = o.Resume || o.ResumeFrom != ""
	o.SaveOnCancel = true // a stop signal keeps every finished step for --resume
	o.Reporting = ctx.trainingOutput()

	// Ctrl-C, SIGTERM or SIGHUP stop the run after the current step and
	// save it; --resume continues it.
	runCtx, stop := stopContext()
	defer stop()
	guard := guardRunDir(o.Out)
	res, err := sft.Run(runCtx, *o)
	if err != nil {
		removed := guard.cleanUpFailedStart(ctx.stderr) // a failed start leaves no half-made run directory
		if stopped := stoppedRun(runCtx, name, o.Out, args, err, removed); stopped != nil {
			return stopped
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	printTrainSummary(ctx.stderr, res)
	fmt.Fprintln(ctx.stdout, res.Summary.RunDir)
	return nil
}

// printTrainSummary writes a few human lines about a finished run.
func printTrainSummary(w io.Writer, res *sft.Result) {
	s := res.Summary
	fmt.Fprintf(w, "trained %d of %d steps on %d examples (%d tokens) in %.1fs: %.1f tokens/s, %d graph compilations\n",
		s.Steps, s.TotalSteps, s.Examples, s.Tokens, s.TrainSeconds, s.TokensPerSec, s.Compilations)
	if s.FinalTrainLoss != nil {
		fmt.Fprintf(w, "final train loss %.4f\n", *s.FinalTrainLoss)
	}
	names := make([]string, 0, len(s.FinalEvalLoss))
	for name := range s.FinalEvalLoss {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "eval loss %s %.4f\n", name, s.FinalEvalLoss[name])
	}
	if s.Full {
		fmt.Fprintf(w, "model: %s (%s)\n", s.SavedModel, s.SaveDType)
		if s.BestSavedModel != "" && s.BestStep != nil && s.BestEvalLoss != nil {
			fmt.Fprintf(w, "best model: %s (step %d, %s loss %.4f)\n", s.BestSavedModel, *s.BestStep, s.BestEvalSet, *s.BestEvalLoss)
		}
		return
	}
	fmt.Fprintf(w, "adapter: %s\n", s.Adapter)
	if s.BestAdapter != "" && s.BestStep != nil && s.BestEvalLoss != nil {
		fmt.Fprintf(w, "best adapter: %s (step %d, %s loss %.4f)\n", s.BestAdapter, *s.BestStep, s.BestEvalSet, *s.BestEvalLoss)
	}
}

// trainingOutput is where a training run reports: its log (info and above)
// on stderr, and its progress bars there too when stderr is a terminal;
// otherwise NoProgress turns them off.
func (ctx *runContext) trainingOutput() train.Reporting {
	logger := slog.New(slog.NewTextHandler(ctx.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if f, ok := ctx.stderr.(*os.File); ok && isTerminalFile(f) {
		return train.Reporting{Logger: logger, Progress: f}
	}
	return train.Reporting{Logger: logger, NoProgress: true}
}

// isTerminalFile reports whether f is a character device (a terminal).
func isTerminalFile(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
