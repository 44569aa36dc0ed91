package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/eval"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safety"
)

func init() {
	register("eval", "generate replies to held-out prompts and score them (metrics.json, examples.jsonl); eval compare RUN...", evalUsage, runEval)
	register("eval compare", "put several evaluations side by side (text, --json or --out report.html)", evalCompareUsage, runEvalCompare)
}

const (
	evalUsage        = "--model M [--adapter A] [--split test] [--limit N] [--max-new-tokens N] [--debug] [--backend B] [--no-safety-gate] --out DIR [flags]"
	evalCompareUsage = "RUN_DIR|metrics.json ... [--out report.html] [--json]"
)

func runEval(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "eval", evalUsage,
		"Generate a reply to each held-out CounselChat question and AnnoMI client turn (with its context) and score it\n"+
			"against the counsellor's reply: BLEU, chrF, ROUGE-1/2/L, BERTScore (a hidden layer of the base model; comparable\n"+
			"only between runs with the same encoder), keyword measures of therapeutic quality, the learned MI behaviour\n"+
			"classifier and MITI summaries, for generated and reference replies. DIR receives metrics.json (settings and\n"+
			"aggregates per source and overall) and examples.jsonl (one line per example); a summary table is printed.\n"+
			"Compare runs with 'gemma3n-therapy eval compare DIR1 DIR2 ...'.")
	var o eval.Options
	fs.StringVar(&o.Model, "model", "", "model: a checkpoint directory, a Hugging Face repo id, or a preset: mini, tiny (default: model_config.yaml, mini)")
	fs.StringVar(&o.Adapter, "adapter", "", "PEFT LoRA adapter directory to apply (default: none, the base model)")
	fs.StringVar(&o.ConfigPath, "config", "", "configs directory, one section file or a run's config.yaml: splits, quality filter, windows, debug sizes (default: the shipped defaults)")
	var sets overrideFlags
	fs.Var(&sets, "set", "override a configuration value, e.g. --set data.annomi.quality_filter=all (repeatable)")
	fs.StringVar(&o.Split, "split", "test", "held-out split: test or validation (train for a sanity check)")
	source := fs.String("source", "all", "counselchat, annomi or all")
	fs.StringVar(&o.Data, "data", "", "JSONL file of conversations to evaluate instead of the shipped corpora (its \"split\" field selects --split)")
	fs.IntVar(&o.Limit, "limit", 0, fmt.Sprintf("at most N examples per source, spread evenly (default: all; %d with --debug)", eval.DebugLimit))
	fs.BoolVar(&o.Debug, "debug", false, "data.yaml's debug subsets and max_seq_length, and small defaults for --limit and --max-new-tokens")
	fs.IntVar(&o.MaxNewTokens, "max-new-tokens", 0, fmt.Sprintf("longest reply in tokens (default %d; %d with --debug)", eval.DefaultMaxNewTokens, eval.DebugMaxNewTokens))
	fs.IntVar(&o.MaxPromptTokens, "max-prompt-tokens", 0, "longest prompt; longer ones lose their oldest turns (default: model_config.yaml's max_seq_length)")
	fs.IntVar(&o.BatchSize, "batch-size", 0, fmt.Sprintf("prompts generated together (default %d)", eval.DefaultBatchSize))
	fs.IntVar(&o.Bucket, "bucket", 0, fmt.Sprintf("round prompt lengths up to a multiple of N tokens: fewer graph compilations, more padding (default %d)", eval.DefaultBucket))
	fs.Float64Var(&o.Sampling.Temperature, "temperature", 0, "sampling temperature (0: greedy, the default)")
	fs.IntVar(&o.Sampling.TopK, "top-k", 0, "sample among the K most likely tokens (0: all)")
	fs.Float64Var(&o.Sampling.TopP, "top-p", 0, "nucleus sampling probability mass (0 or 1: all)")
	fs.Float64Var(&o.Sampling.RepetitionPenalty, "repetition-penalty", 0, "penalty > 1 for tokens already in the sequence (0 or 1: none)")
	fs.Uint64Var(&o.Seed, "seed", 0, "random seed for sampling")
	fs.StringVar(&o.DType, "dtype", "", "dtype of the weights and activations: float32 or bfloat16 (default: model_config.yaml)")
	fs.StringVar(&o.Backend, "backend", "", backendHelp)
	fs.BoolVar(&o.NoBERTScore, "no-bertscore", false, "skip BERTScore")
	fs.IntVar(&o.BERTScoreLayer, "bertscore-layer", 0, "hidden layer of the BERTScore encoder, 1..L (default: three fifths of the depth, 18 for E2B)")
	fs.BoolVar(&o.BERTScoreIDF, "bertscore-idf", false, "weight BERTScore tokens by idf over the references")
	fs.BoolVar(&o.NoSafetyGate, "no-safety-gate", false, noGateHelp)
	fs.StringVar(&o.Name, "name", "", "name of the run in comparisons (default: the base name of --out)")
	fs.StringVar(&o.Out, "out", "", "output directory (required)")
	asJSON := fs.Bool("json", false, "print metrics.json instead of the summary tables")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("eval: unexpected argument %q (compare runs with 'eval compare')", fs.Arg(0))
	}
	if o.Out == "" {
		return errors.New("eval: --out is required")
	}
	switch *source {
	case data.All, "":
	case data.SourceCounselChat, data.SourceAnnoMI:
		o.Sources = []string{*source}
	default:
		return fmt.Errorf("eval: --source %q: want counselchat, annomi or all", *source)
	}
	if o.Sampling.Temperature == 0 && (o.Sampling.TopK != 0 || o.Sampling.TopP != 0) {
		return errors.New("eval: --top-k and --top-p need --temperature > 0")
	}
	o.Overrides = sets
	if o.NoSafetyGate {
		fmt.Fprintln(ctx.stderr, safety.GateOffWarning)
	}
	o.Logger = slog.New(slog.NewTextHandler(ctx.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if f, ok := ctx.stderr.(*os.File); ok && isTerminalFile(f) {
		o.Progress = f
	}

	runCtx, stop := stopContext()
	defer stop()
	rep, err := eval.Run(runCtx, o)
	if err != nil {
		return signalled(runCtx, "eval", fmt.Errorf("eval: %w", err))
	}
	if *asJSON {
		data, err := json.MarshalIndent(rep.Metrics, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(ctx.stdout, "%s\n", data)
		return err
	}
	if err := rep.WriteText(ctx.stdout); err != nil {
		return err
	}
	g := rep.Metrics.Safety
	fmt.Fprintf(ctx.stderr, "safety gate on: %v; %d of %d prompts referred without calling the model, %d replies with crisis resources\n",
		g.GateOn, g.Referrals, g.Checked, g.ResourceLines)
	fmt.Fprintf(ctx.stderr, "wrote %s and %s\n", filepath.Join(rep.Dir, eval.MetricsFileName), filepath.Join(rep.Dir, eval.ExamplesFileName))
	return nil
}

func runEvalCompare(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "eval compare", evalCompareUsage,
		"Put evaluations written by 'gemma3n-therapy eval' side by side (base, SFT, curriculum, DPO): one table per scope\n"+
			"(overall and each source), one column per run plus the human references, the best run of each metric marked.\n"+
			"Warns when the runs used different examples, generation settings or BERTScore encoders (BERTScore is then\n"+
			"not comparable). Flags may come before or after the runs.")
	out := fs.String("out", "", "also write a standalone HTML report (tables and charts) to this file")
	asJSON := fs.Bool("json", false, "print the comparison as JSON instead of text tables")
	// Flags may follow the positional arguments: parse, take one run, repeat.
	var runs []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		runs = append(runs, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(runs) == 0 {
		fs.Usage()
		return errors.New("eval compare: give at least one evaluation directory")
	}
	c, err := eval.Compare(runs)
	if err != nil {
		return err
	}
	if *out != "" {
		if err := c.SaveHTML(*out); err != nil {
			return fmt.Errorf("eval compare: %w", err)
		}
		fmt.Fprintf(ctx.stderr, "wrote %s\n", *out)
	}
	if *asJSON {
		data, err := json.MarshalIndent(c, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(ctx.stdout, "%s\n", data)
		return err
	}
	return c.WriteText(ctx.stdout)
}
