// Command trainmi trains the MI behaviour classifier shipped in
// pkg/metrics/assets from the shipped AnnoMI files, deterministically.
// Run it through `go generate ./pkg/metrics`; with -cv it also prints the
// 5-fold cross-validation over transcripts.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/metrics"
)

func main() {
	dir := flag.String("annomi", "datasets/annomi", "folder with AnnoMI-simple.csv and AnnoMI-full.csv")
	out := flag.String("out", "", "where to write the model (gzip-compressed gob); empty: do not write")
	cv := flag.Bool("cv", false, "print 5-fold cross-validation over transcripts as JSON")
	flag.Parse()
	if err := run(*dir, *out, *cv); err != nil {
		fmt.Fprintln(os.Stderr, "trainmi:", err)
		os.Exit(1)
	}
}

func run(dir, out string, cv bool) error {
	a, err := data.LoadAnnoMI(filepath.Join(dir, "AnnoMI-simple.csv"), filepath.Join(dir, "AnnoMI-full.csv"))
	if err != nil {
		return err
	}
	examples := metrics.MIExamplesFromAnnoMI(a)
	opts := metrics.DefaultMITrainOptions()
	if cv {
		res, err := metrics.CrossValidateMI(examples, 5, metrics.MIFoldSeed, opts)
		if err != nil {
			return err
		}
		predicted := make([]metrics.MICode, len(examples))
		keyword := make([]metrics.MICode, len(examples))
		for i, p := range res.Predictions {
			predicted[i] = p.Code()
			keyword[i] = metrics.KeywordBehaviour(examples[i].Text)
		}
		report := map[string]any{"cross_validation": res}
		for name, codes := range map[string][]metrics.MICode{
			"gold": metrics.GoldMICodes(examples), "classifier_out_of_fold": predicted, "keyword": keyword,
		} {
			report["miti_"+name] = map[string]any{
				"by_quality":      metrics.MITIByQuality(examples, codes),
				"auc_high_vs_low": metrics.MITISeparation(examples, codes),
			}
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return err
		}
	}
	if out == "" {
		return nil
	}
	model, err := metrics.TrainMIClassifier(examples, opts)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := model.WriteTo(&buf); err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(out, buf.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "trainmi: wrote %s (%d bytes, %d features, %d examples)\n", out, buf.Len(), len(model.Vocab), len(examples))
	return nil
}
