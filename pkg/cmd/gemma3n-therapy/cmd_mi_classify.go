package main

import (
	"fmt"
	"os"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/metrics"
)

func init() {
	register("mi-classify", "label therapist utterances with MI behaviours", "[--in FILE.jsonl] [--model FILE]", runMIClassify)
}

func runMIClassify(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "mi-classify", "[--in FILE.jsonl] [--model FILE]",
		"Read JSON lines {\"text\": ..., \"context\": ...} (context: the preceding client turn, optional)\n"+
			"and write {\"behaviour\", \"subtype\", \"scores\"} per line: question (open/closed),\n"+
			"reflection (simple/complex), therapist_input or other, from the classifier trained on AnnoMI.")
	in := fs.String("in", "-", "input file; - reads standard input")
	modelPath := fs.String("model", "", "classifier file (gzip-compressed gob); default: the shipped model")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("mi-classify: unexpected argument %q", fs.Arg(0))
	}
	model, err := loadMIClassifier(*modelPath)
	if err != nil {
		return err
	}
	r, name, closeIn, err := openMetricsInput(ctx, *in)
	if err != nil {
		return err
	}
	defer closeIn()
	return metrics.ClassifyMIJSONL(model, r, name, ctx.stdout)
}

func loadMIClassifier(path string) (*metrics.MIClassifier, error) {
	if path == "" {
		return metrics.DefaultMIClassifier()
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return metrics.ReadMIClassifier(f, path)
}
