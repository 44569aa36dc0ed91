package main

import (
	"fmt"
	"io"
	"os"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/metrics"
)

func init() {
	register("metrics", "score hypotheses against references (BLEU, chrF, ROUGE)", "[--corpus] [--in FILE.jsonl]", runMetrics)
}

func runMetrics(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "metrics", "[--corpus] [--in FILE.jsonl]",
		"Read JSON lines {\"hyp\": ..., \"ref\": ...} and write one line\n"+
			"{\"bleu\", \"chrf\", \"rouge1\", \"rouge2\", \"rougeL\"} per pair: sentence BLEU and chrF as\n"+
			"sacreBLEU 2.x computes them (0-100), ROUGE F-measures as rouge-score/torchmetrics (0-1).")
	corpus := fs.Bool("corpus", false, "add a final line {\"corpus_bleu\": x} (sacreBLEU corpus BLEU of all pairs)")
	in := fs.String("in", "-", "input file; - reads standard input")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("metrics: unexpected argument %q", fs.Arg(0))
	}
	r, name, closeIn, err := openMetricsInput(ctx, *in)
	if err != nil {
		return err
	}
	defer closeIn()
	return metrics.ScoreTextJSONL(r, name, ctx.stdout, *corpus)
}

// openMetricsInput opens a file, or standard input for "-".
func openMetricsInput(ctx *runContext, path string) (io.Reader, string, func(), error) {
	if path == "-" || path == "" {
		return ctx.stdin, "stdin", func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", nil, err
	}
	return f, path, func() { f.Close() }, nil
}
