package main

import (
	"errors"
	"fmt"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/sft"
)

func init() {
	register("train full", "train every weight of a small Gemma 3n (pretraining or full fine-tuning)", trainFullUsage, runTrainFull)
}

const trainFullUsage = "--model M --data counselchat|annomi|both|corpus|FILE.jsonl --out RUN_DIR [--from-scratch] [--loss-on assistant|all] [flags]"

func runTrainFull(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "train full", trainFullUsage,
		"Full-parameter training: every weight of the model is trained (float32 master weights, AdamW with weight\n"+
			"decay on matrices only, the schedule, evaluation, checkpoints and exact resume of train sft). RUN_DIR\n"+
			"receives config.yaml, data_summary.json, metrics.jsonl, checkpoints/, model/ and best_model/ (whole model\n"+
			"directories in Hugging Face layout, with tokenizer files; --model takes them) and summary.json; the run\n"+
			"directory is printed on stdout at the end. --from-scratch starts from random weights of the model's\n"+
			"architecture (seed: training.seed); --data corpus and --loss-on all make it language-model pretraining on\n"+
			"the training splits (make pretrain). Meant for small models: the optimizer keeps two more float32 copies\n"+
			"of every weight. Ctrl-C stops after the current step; --resume continues from the last checkpoint.")
	var o sft.Options
	fs.StringVar(&o.Model, "model", "", "model: a preset (tiny, mini, ...), a checkpoint directory or a Hugging Face repo id; with --from-scratch only its config is read (default: model_config.yaml)")
	fs.StringVar(&o.Data, "data", "", "counselchat, annomi, both, corpus (the training splits for pretraining: AnnoMI as whole sessions), or a JSONL file of conversations (required)")
	fs.StringVar(&o.ConfigPath, "config", "", "configs directory, one section file or a resolved config.yaml (default: the repository's configs/, found from the working directory)")
	fs.StringVar(&o.Out, "out", "", "run directory (required)")
	fs.BoolVar(&o.FromScratch, "from-scratch", false, "start from random weights (seed: training.seed) of the model's architecture")
	fs.StringVar(&o.LossOn, "loss-on", sft.LossOnAssistant, "training loss on the assistant turns (assistant) or on every token (all); evaluation always scores the assistant turns")
	fs.StringVar(&o.SaveDType, "save-dtype", "float32", "dtype of the weights written to model/ and best_model/: float32 or bfloat16")
	fs.BoolVar(&o.Debug, "debug", false, "small run: the debug subsets and max_seq_length of data.yaml")
	fs.BoolVar(&o.Resume, "resume", false, "continue the newest checkpoint of RUN_DIR exactly"+resumeHelp)
	fs.StringVar(&o.Backend, "backend", "", `GoMLX backend: "go" or "xla:/abs/path/plugin.so" (default: model_config.yaml, $GOMLX_BACKEND, go)`)
	fs.IntVar(&o.MaxSteps, "max-steps", 0, "stop after N optimizer steps (default: training_config.yaml)")
	fs.IntVar(&o.MaxEvalExamples, "max-eval-examples", 0, "evaluate on the first N validation examples of each source (default: all)")
	var sets overrideFlags
	fs.Var(&sets, "set", "override a configuration value, e.g. --set training.learning_rate=1e-3 (repeatable; wins over the other flags)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("train full: unexpected argument %q", fs.Arg(0))
	}
	if o.Data == "" || o.Out == "" {
		return errors.New("train full: --data and --out are required")
	}
	o.Full = true
	o.Overrides = sets
	o.SaveOnCancel = true
	o.Logger, o.Progress, o.NoProgress = ctx.trainingOutput()

	// Ctrl-C, SIGTERM or SIGHUP stop the run after the current step and
	// save it; --resume continues it.
	runCtx, stop := stopContext()
	defer stop()
	guard := guardRunDir(o.Out)
	res, err := sft.Run(runCtx, o)
	if err != nil {
		removed := guard.cleanUpFailedStart(ctx.stderr)
		if stopped := stoppedRun(runCtx, "train full", o.Out, args, err, removed); stopped != nil {
			return stopped
		}
		return fmt.Errorf("train full: %w", err)
	}
	printTrainSummary(ctx.stderr, res)
	fmt.Fprintln(ctx.stdout, res.Summary.RunDir)
	return nil
}
