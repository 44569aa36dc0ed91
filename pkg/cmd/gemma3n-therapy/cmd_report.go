package main

import (
	"errors"
	"fmt"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/report"
)

func init() {
	register("report", "render a run directory as a standalone HTML report with charts", "--run RUN_DIR --out report.html", runReport)
}

func runReport(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "report", "--run RUN_DIR --out report.html",
		"Render a training run (sft, dpo, sequential or curriculum) as one offline HTML page: loss curves with\n"+
			"the phases marked, held-out losses, the dataset mix per phase, DPO rewards and a summary table.")
	run := fs.String("run", "", "run directory (holds metrics.jsonl)")
	out := fs.String("out", "", "HTML file to write (atomically)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *run == "" || *out == "" {
		return errors.New("report: --run and --out are required")
	}
	if err := report.Write(*run, *out); err != nil {
		return err
	}
	fmt.Fprintln(ctx.stdout, *out)
	return nil
}
