package main

import (
	"errors"
	"fmt"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/pretrain"
)

func init() {
	register("pretrain ship", "turn a finished train full run into the shipped default model (bfloat16 weights, model card)", pretrainShipUsage, runPretrainShip)
	register("pretrain check", "compare a rebuild of the shipped default model with it (make pretrain-check)", pretrainCheckUsage, runPretrainCheck)
}

const (
	pretrainShipUsage  = "--run RUN_DIR --out DIR [--preset mini] [--command TEXT]"
	pretrainCheckUsage = "--run RUN_DIR --shipped DIR [--out DIR] [--tolerance 0.05] [--record] [--command TEXT]"
)

func runPretrainShip(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "pretrain ship", pretrainShipUsage,
		"Write the final weights of a finished `train full` run to DIR in bfloat16 (config.json, model.safetensors),\n"+
			"measure them (next-token loss on the assistant tokens of the train, validation and test splits of both\n"+
			"corpora; sample replies to validation prompts through the safety gate) and write the model card (card.json,\n"+
			"README.md) from the measurements and the run. DIR is replaced as a whole. `make pretrain` ships into\n"+
			"pkg/gemma3n/assets/mini, which the next build embeds.")
	var o pretrain.ShipOptions
	fs.StringVar(&o.Run, "run", "", "directory of a finished train full run (required)")
	fs.StringVar(&o.Out, "out", "", "directory to write (required)")
	fs.StringVar(&o.Preset, "preset", "mini", "preset the model ships as: the run's architecture must be its")
	fs.StringVar(&o.Command, "command", "", "how the run was made, for the model card")
	fs.IntVar(&o.TrainLimit, "train-examples", pretrain.DefaultTrainLimit, "training examples per source scored for the card")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("pretrain ship: unexpected argument %q", fs.Arg(0))
	}
	if o.Run == "" || o.Out == "" {
		return errors.New("pretrain ship: --run and --out are required")
	}
	o.Logger = ctx.trainingOutput().Logger
	runCtx, stop := stopContext()
	defer stop()
	card, err := pretrain.Ship(runCtx, o)
	if err != nil {
		return signalled(runCtx, "pretrain ship", err)
	}
	for _, l := range card.Losses {
		fmt.Fprintf(ctx.stderr, "%-10s %-12s %5d examples  loss %.4f\n", l.Split, l.Source, l.Examples, l.Loss)
	}
	fmt.Fprintln(ctx.stdout, o.Out)
	return nil
}

func runPretrainCheck(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "pretrain check", pretrainCheckUsage,
		"Ship a rebuild of the default model (a finished train full run made with the shipped model's command) into\n"+
			"--out (default RUN_DIR/shipped), measure it as `pretrain ship` does, and compare its validation loss with the\n"+
			"shipped model's (card.json of --shipped), source by source. Fails when they differ by more than the\n"+
			"tolerance; --record writes the comparison into the shipped model card (not the weights).")
	var o pretrain.CheckOptions
	fs.StringVar(&o.Run, "run", "", "directory of the finished rebuild (required)")
	fs.StringVar(&o.Shipped, "shipped", "", "the shipped model directory, e.g. pkg/gemma3n/assets/mini (required)")
	fs.StringVar(&o.Out, "out", "", "where to ship the rebuild (default: RUN_DIR/shipped)")
	fs.StringVar(&o.Preset, "preset", "mini", "preset the model ships as")
	fs.StringVar(&o.Command, "command", "", "how the rebuild was made")
	fs.Float64Var(&o.Tolerance, "tolerance", pretrain.DefaultTolerance, "largest accepted difference of validation loss (nats)")
	fs.BoolVar(&o.Record, "record", false, "record the result in the shipped model card")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("pretrain check: unexpected argument %q", fs.Arg(0))
	}
	if o.Run == "" || o.Shipped == "" {
		return errors.New("pretrain check: --run and --shipped are required")
	}
	o.Logger = ctx.trainingOutput().Logger
	runCtx, stop := stopContext()
	defer stop()
	r, err := pretrain.Check(runCtx, o)
	if r != nil {
		for src, want := range r.Shipped {
			fmt.Fprintf(ctx.stderr, "validation %-12s shipped %.4f  rebuilt %.4f  Δ %+.4f\n", src, want, r.Rebuilt[src], r.Rebuilt[src]-want)
		}
		fmt.Fprintf(ctx.stderr, "largest difference %.4f nats (tolerance %g), weights bitwise identical: %v\n", r.MaxDelta, r.Tolerance, r.Identical)
	}
	return signalled(runCtx, "pretrain check", err)
}
