// Command trainscreen trains the learned layer of the crisis screen on the
// labelled set (the shipped parts and the train part of datasets/safety),
// chooses its two thresholds by cross-validation, prints the
// cross-validation and writes the model that package safety embeds:
//
//	go generate ./pkg/safety
//
// Training is deterministic: the same data and options give the same file,
// byte for byte.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safety"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "trainscreen:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("trainscreen", flag.ContinueOnError)
	set := fs.String("set", "datasets/safety", "the labelled set's directory")
	out := fs.String("out", "", "where to write the model (nothing is written when empty)")
	parts := fs.String("parts", strings.Join(safety.TrainParts, ","), "parts to train on")
	lpo := fs.Bool("leave-part-out", false, "also predict each part from a model trained on the others (a minute more; recorded in the model)")
	asJSON := fs.Bool("json", false, "print the cross-validation as JSON")
	opts := safety.DefaultLearnedOptions()
	l2 := fs.Float64("l2", opts.L2, "L2 penalty")
	minCount := fs.Int("min-count", opts.MinCount, "minimum document frequency of a feature")
	window := fs.Int("window", opts.Window, "sentences per extra window scored (0: the whole text only)")
	blocks := fs.String("blocks", "", "block weights word,bigram,char,cue (default: the shipped ones)")
	budgetHigh := fs.Float64("budget-high", opts.BudgetNoneHigh, "share of non-crisis items screened high, at most, in cross-validation")
	budgetFlagged := fs.Float64("budget-flagged", opts.BudgetNoneFlagged, "share of non-crisis items screened at least concern, at most")
	riskWord := fs.Bool("require-risk-word", opts.RequireRiskWord, "flag only texts with a word of a risk class")
	highVsNone := fs.Bool("high-vs-none", opts.HighVsNone, "train the high head on high against none items only")
	realNegatives := fs.Bool("real-negatives", true, "also train on AnnoMI client turns as non-crisis (safety.RealNegatives; the datasets directory is the one above -set)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts.L2, opts.MinCount, opts.Window = *l2, *minCount, *window
	opts.RequireRiskWord, opts.HighVsNone = *riskWord, *highVsNone
	opts.BudgetNoneHigh, opts.BudgetNoneFlagged = *budgetHigh, *budgetFlagged
	if *blocks != "" {
		f := strings.Split(*blocks, ",")
		if len(f) != len(opts.BlockWeight) {
			return fmt.Errorf("-blocks: want %d weights", len(opts.BlockWeight))
		}
		for i, s := range f {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return fmt.Errorf("-blocks: %w", err)
			}
			opts.BlockWeight[i] = v
		}
	}
	datasets := ""
	if *realNegatives {
		datasets = filepath.Dir(filepath.Clean(*set))
	}
	data, err := safety.LoadTrainingParts(*set, strings.Split(*parts, ","), datasets)
	if err != nil {
		return err
	}
	start := time.Now()
	m, err := safety.TrainShippedLearned(data, opts, *lpo)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "trained in %s: %d features\n", time.Since(start).Round(time.Millisecond), len(m.Vocab))
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(m.CV); err != nil {
			return err
		}
	} else if err := writeCV(stdout, m.CV); err != nil {
		return err
	}
	if *out == "" {
		return nil
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s (%d bytes)\n", *out, buf.Len())
	return nil
}

// writeCV prints the cross-validation as tables.
func writeCV(w io.Writer, cv *safety.LearnedCV) error {
	fmt.Fprintf(w, "%d-fold cross-validation (seed %d); thresholds: concern P(≥concern) ≥ %.3f, high P(high) ≥ %.3f\n",
		cv.Folds, cv.Seed, cv.Thresholds.Concern, cv.Thresholds.High)
	table := func(title string, rows []safety.LearnedPartRates) {
		fmt.Fprintf(w, "\n%s\n", title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "part\tscreen\titems\thigh≥concern\thigh→high\tconcern≥concern\tconcern→high\tnone→high\tnone≥concern\thard→high\thard≥concern\t")
		for _, r := range rows {
			for _, s := range []struct {
				name string
				r    safety.LearnedRates
			}{{"learned", r.Learned}, {"rules", r.Rules}, {"combined", r.Combined}} {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t\n", r.Part, s.name, s.r.Items,
					s.r.HighFlagged, s.r.HighHigh, s.r.ConcernFlagged, s.r.ConcernHigh, s.r.NoneHigh, s.r.NoneFlagged, s.r.HardHigh, s.r.HardFlagged)
			}
		}
		tw.Flush()
	}
	table("out of fold", append([]safety.LearnedPartRates{cv.All}, cv.ByPart...))
	if len(cv.LeavePartOut) > 0 {
		table("leave one part out (each part predicted by a model trained on the others)", cv.LeavePartOut)
	}
	return nil
}
