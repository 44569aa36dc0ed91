package main

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/backend"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/dpo"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

func init() {
	register("dpo", "preference tuning (DPO) on top of an SFT adapter", dpoUsage, runDPO)
}

const dpoUsage = "--model M [--adapter SFT_ADAPTER] --config configs/dpo.yaml --out RUN_DIR [--debug] [--resume | --resume-from CHECKPOINT] [--max-steps N] [--set key=value ...] [--dtype float32|bfloat16] [--backend CONFIG]"

// dpoSettings collects repeated --set flags.
type dpoSettings []string

func (s *dpoSettings) String() string     { return strings.Join(*s, " ") }
func (s *dpoSettings) Set(v string) error { *s = append(*s, v); return nil }

func runDPO(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "dpo", dpoUsage,
		"Train the SFT adapter further on CounselChat preference pairs (more vs less upvoted answers, plus dpo.extra_pairs)\n"+
			"with the DPO, IPO or hinge loss of dpo.yaml. RUN_DIR receives config.yaml, metrics.jsonl, checkpoints/,\n"+
			"adapter/ (PEFT layout), best_adapter/ and dpo_summary.json. Ctrl-C, SIGTERM or SIGHUP save the last finished\n"+
			"step and exit with 128 + the signal number; --resume continues it.")
	model := fs.String("model", "", "base model: a checkpoint directory, a Hugging Face repo id (downloaded as $HF_ENDPOINT, $HF_TOKEN and $HF_HUB_OFFLINE say), or a preset: mini, tiny, e2b")
	adapter := fs.String("adapter", "", "SFT adapter directory (PEFT layout) to start from; empty: a fresh adapter from lora_config.yaml")
	configPath := fs.String("config", "", "configs directory, dpo.yaml (other sections: shipped defaults) or a resolved config file; empty: the shipped defaults")
	out := fs.String("out", "", "run directory")
	debug := fs.Bool("debug", false, "small subset: data.yaml's debug sizes and token budgets")
	resume := fs.Bool("resume", false, "continue the newest checkpoint in the run directory"+resumeHelp)
	resumeFrom := fs.String("resume-from", "", "continue from this checkpoint of the run directory (RUN_DIR/checkpoints/step-N, e.g. the intact one before a corrupt newest one; newer ones are moved aside); implies --resume")
	maxSteps := fs.Int("max-steps", 0, "stop after N optimizer steps (0: dpo.yaml's num_train_epochs)")
	dtypeName := fs.String("dtype", "", "weight dtype: float32 or bfloat16 (default: training.bf16 of the config)")
	tokenizerPath := fs.String("tokenizer", "", "tokenizer.json or a directory holding it (default: the model directory's, else the embedded Gemma 3 tokenizer)")
	backendFlag := fs.String("backend", "", backendHelp)
	var settings dpoSettings
	fs.Var(&settings, "set", "override a configuration value, e.g. dpo.beta=0.2 or training.seed=7 (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("dpo: unexpected argument %q", fs.Arg(0))
	}
	if *model == "" || *out == "" {
		return errors.New("dpo: --model and --out are required")
	}
	if *maxSteps < 0 {
		return errors.New("dpo: --max-steps must be ≥ 0")
	}
	cfg := config.BuiltIn("no --config")
	if *configPath != "" {
		var err error
		if cfg, err = config.LoadPath(*configPath); err != nil {
			return fmt.Errorf("dpo: %w", err)
		}
	}
	for _, note := range cfg.Notes() {
		fmt.Fprintf(ctx.stderr, "dpo: configuration: %s\n", note)
	}
	if err := cfg.Apply(settings...); err != nil {
		return fmt.Errorf("dpo: %w", err)
	}
	opts := dpo.Options{
		Config: cfg, Model: *model, Adapter: *adapter, RunDir: *out, Debug: *debug,
		Resume: *resume || *resumeFrom != "", ResumeFrom: *resumeFrom, SaveOnCancel: true, MaxSteps: *maxSteps,
		Reporting: train.Reporting{Logger: slog.New(slog.NewTextHandler(ctx.stderr, nil))},
	}
	if *dtypeName != "" {
		dtype, err := parseModelDType(*dtypeName)
		if err != nil {
			return fmt.Errorf("dpo: %w", err)
		}
		opts.DType = dtype
	}
	if *tokenizerPath != "" {
		tok, err := loadTokenizer(*tokenizerPath)
		if err != nil {
			return fmt.Errorf("dpo: %w", err)
		}
		opts.Tokenizer = tok
	}
	var err error
	if opts.Backend, err = backend.New(*backendFlag); err != nil {
		return fmt.Errorf("dpo: %w", err)
	}

	// Ctrl-C, SIGTERM or SIGHUP stop the run after the current step and
	// save it; --resume continues it.
	runCtx, stop := stopContext()
	defer stop()
	guard := guardRunDir(*out)
	res, err := dpo.Run(runCtx, opts)
	if err != nil {
		removed := guard.cleanUpFailedStart(ctx.stderr) // a failed start leaves no half-made run directory
		if stopped := stoppedRun(runCtx, "dpo", *out, args, err, removed); stopped != nil {
			return stopped
		}
		return fmt.Errorf("dpo: %w", err)
	}
	printDPOResult(ctx, res)
	return nil
}

// printDPOResult prints the outcome of a run, one fact per line.
func printDPOResult(ctx *runContext, res *dpo.Result) {
	w := ctx.stdout
	fmt.Fprintf(w, "adapter: %s\n", res.AdapterSummary)
	fmt.Fprintf(w, "pairs: %d train, %d eval (skipped %d; prompts cut %d, answers cut %d)\n",
		res.TrainPairs.Pairs, res.EvalPairs.Pairs, res.TrainEncoding.Skipped+res.EvalEncoding.Skipped,
		res.TrainEncoding.PromptsTruncated+res.EvalEncoding.PromptsTruncated,
		res.TrainEncoding.AnswersTruncated+res.EvalEncoding.AnswersTruncated)
	mode := "in the training graph"
	if res.PrecomputedRef {
		mode = fmt.Sprintf("precomputed in %.1fs", res.ReferenceSeconds)
	}
	fmt.Fprintf(w, "loss: %s, beta %g; reference: %s, %s\n", dpoLossName(res.Params), res.Params.Beta, res.Reference, mode)
	tr := res.Train
	fmt.Fprintf(w, "steps: %d (%d skipped), final loss %.4f, %.1fs\n", tr.Steps, tr.SkippedSteps, tr.FinalLoss, tr.Elapsed.Seconds())
	names := make([]string, 0, len(tr.Evals))
	for name := range tr.Evals {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		e := tr.Evals[name]
		fmt.Fprintf(w, "eval %s: loss %.4f, accuracy %.3f, margin %.4f\n", name, e.Loss, e.Metrics[dpo.MetricAccuracy], e.Metrics[dpo.MetricMargin])
	}
	fmt.Fprintf(w, "wrote %s\n", res.Adapter)
	if res.BestAdapter != "" {
		fmt.Fprintf(w, "wrote %s (step %d)\n", res.BestAdapter, tr.BestStep)
	}
}

func dpoLossName(p dpo.Params) string {
	name := p.LossType
	if p.LabelSmoothing > 0 {
		name += fmt.Sprintf(", label smoothing %g", p.LabelSmoothing)
	}
	if p.RPOAlpha > 0 {
		name += fmt.Sprintf(", rpo_alpha %g", p.RPOAlpha)
	}
	return name
}
