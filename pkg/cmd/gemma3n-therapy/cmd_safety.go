package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safety"
)

func init() {
	register("safety", "crisis screening: screen, eval, corpus", "", nil)
	register("safety screen", "screen JSON lines of messages or conversations for crisis signs", safetyScreenUsage, runSafetyScreen)
	register("safety eval", "precision and recall of the screen on the labelled set (datasets/safety)", safetyEvalUsage, runSafetyEval)
	register("safety corpus", "how many CounselChat questions and AnnoMI client turns the screen flags, with a sample", safetyCorpusUsage, runSafetyCorpus)
}

const (
	safetyScreenUsage = "[--in FILE.jsonl] [--explain]"
	safetyEvalUsage   = "[--part " + "dev|test|holdout|holdout2|holdout3|holdout4|all | --file FILE.jsonl] [--rules-only] [--data-dir DIR] [--json] [--misses]"
	safetyCorpusUsage = "[--data-dir DIR] [--sample N] [--json]"
	// noGateHelp documents the one way to turn the gate off.
	noGateHelp = "turn the safety gate off: crisis messages reach the model and replies carry no crisis resources (prints a warning)"
	// safetyConfigHelp documents where the gate's resources come from.
	safetyConfigHelp = "configs directory, safety.yaml or a run's config.yaml with the gate's crisis resources (default: the repository's configs/, else the built-in defaults)"
)

func runSafetyScreen(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "safety screen", safetyScreenUsage,
		"Read JSON lines {\"id\", \"text\"} (one message) or {\"id\", \"messages\": [{\"role\",\"content\"}, ...]} (a\n"+
			"conversation, screened as it stands after its last user turn) and write one line per input:\n"+
			"{\"id\", \"level\": none|concern|high, \"categories\", \"subject\", \"evidence\": [{\"message\", \"start\", \"end\",\n"+
			"\"text\", \"rule\", ...}], \"explanation\"}. Offsets are bytes of the message. Nothing is written when a line\n"+
			"is bad; the error names it.")
	in := fs.String("in", "-", "input file; - reads standard input")
	explain := fs.Bool("explain", false, "also list the matches that do not count, with the reason (negated, hyperbole, ...)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("safety screen: unexpected argument %q", fs.Arg(0))
	}
	r, name, closeIn, err := openMetricsInput(ctx, *in)
	if err != nil {
		return fmt.Errorf("safety screen: %w", err)
	}
	defer closeIn()
	if err := safety.ScreenJSONL(r, name, ctx.stdout, *explain); err != nil {
		return fmt.Errorf("safety screen: %w", err)
	}
	return nil
}

func runSafetyEval(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "safety eval", safetyEvalUsage,
		"Screen the labelled set of datasets/safety and print, per part and for all parts together, precision and\n"+
			"recall per level and per category, the confusion of levels, and the issue's targets. The parts and what\n"+
			"was tuned on are described in datasets/safety/README.md. --file scores a labelled file instead (the same\n"+
			"format), such as a fresh part measured once before it joins the set. The screen is the rules and the\n"+
			"learned screen together, as the gate runs it; --rules-only scores the rules alone.")
	part := fs.String("part", "all", "one part of the set ("+strings.Join(safety.Parts, ", ")+"), or all: each part, then all together")
	file := fs.String("file", "", "a labelled JSON-lines file to score instead of the shipped parts (not with --part)")
	dir := fs.String("data-dir", "", dataDirHelp)
	asJSON := fs.Bool("json", false, "print the reports as JSON")
	misses := fs.Bool("misses", false, "list the items the screen gets wrong")
	rulesOnly := fs.Bool("rules-only", false, "score the rules alone, without the learned screen")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("safety eval: unexpected argument %q", fs.Arg(0))
	}
	screen := (*safety.Item).Screen
	if *rulesOnly {
		screen = (*safety.Item).ScreenRules
	}
	partSet := false
	fs.Visit(func(f *flag.Flag) { partSet = partSet || f.Name == "part" })
	var reports []*safety.Report
	if *file != "" {
		if partSet {
			return errors.New("safety eval: --file and --part exclude each other")
		}
		items, err := safety.LoadLabelled(*file)
		if err != nil {
			return fmt.Errorf("safety eval: %w", err)
		}
		name := strings.TrimSuffix(filepath.Base(*file), ".jsonl")
		reports = append(reports, safety.EvaluateWith(name, items, screen))
		return writeSafetyReports(ctx, reports, *asJSON, *misses)
	}
	parts := safety.Parts
	if *part != "all" {
		if !slices.Contains(safety.Parts, *part) {
			return fmt.Errorf("safety eval: --part %q: want one of %s or all", *part, strings.Join(safety.Parts, ", "))
		}
		parts = []string{*part}
	}
	setDir, err := safety.FindSetDir(*dir)
	if err != nil {
		return fmt.Errorf("safety eval: %w", err)
	}
	sets, err := safety.LoadShipped(setDir, parts...)
	if err != nil {
		return fmt.Errorf("safety eval: %w", err)
	}
	var all []safety.Item
	for _, p := range parts {
		reports = append(reports, safety.EvaluateWith(p, sets[p], screen))
		all = append(all, sets[p]...)
	}
	if len(parts) > 1 {
		reports = append(reports, safety.EvaluateWith("all", all, screen))
	}
	return writeSafetyReports(ctx, reports, *asJSON, *misses)
}

// writeSafetyReports prints evaluation reports as text or JSON, with or
// without the misses.
func writeSafetyReports(ctx *runContext, reports []*safety.Report, asJSON, misses bool) error {
	if asJSON {
		if !misses {
			for _, r := range reports {
				r.Misses = nil
			}
		}
		enc := json.NewEncoder(ctx.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(reports)
	}
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(ctx.stdout)
		}
		if err := r.WriteText(ctx.stdout, misses); err != nil {
			return err
		}
	}
	return nil
}

func runSafetyCorpus(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "safety corpus", safetyCorpusUsage,
		"Screen every CounselChat question and every AnnoMI client turn and print how many are flagged, by topic and\n"+
			"category, with a sample of flagged texts and their evidence to read.")
	dir := fs.String("data-dir", "", dataDirHelp)
	sample := fs.Int("sample", 10, "flagged texts to show per corpus (high ones first)")
	asJSON := fs.Bool("json", false, "print the scan as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("safety corpus: unexpected argument %q", fs.Arg(0))
	}
	if *sample < 0 {
		return errors.New("safety corpus: --sample must not be negative")
	}
	corpus, err := data.LoadCorpus(*dir)
	if err != nil {
		return fmt.Errorf("safety corpus: %w", err)
	}
	scan := safety.ScanCorpus(corpus.CounselChat, corpus.AnnoMI, *sample)
	if *asJSON {
		enc := json.NewEncoder(ctx.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(scan)
	}
	return scan.WriteText(ctx.stdout)
}

// newGate builds the safety gate of a command that lets the model talk to a
// person: resources from configPath (see safetyConfigHelp) and, when off,
// the warning on standard error.
func newGate(ctx *runContext, configPath string, off bool) (*safety.Gate, error) {
	res, err := loadSafetyResources(configPath)
	if err != nil {
		return nil, err
	}
	if off {
		fmt.Fprintln(ctx.stderr, safety.GateOffWarning)
	}
	return safety.NewGate(res, off)
}

// loadSafetyResources reads the safety section from a configs directory,
// safety.yaml or a resolved config.yaml; with no path, from the configs/
// directory of the repository whose datasets are found, else the built-in
// defaults (equal to the shipped safety.yaml).
func loadSafetyResources(path string) (config.Safety, error) {
	if path != "" {
		cfg, err := config.LoadPath(path)
		if err != nil {
			return config.Safety{}, err
		}
		return cfg.Safety, nil
	}
	if datasets, err := data.FindDataDir(""); err == nil {
		shipped := filepath.Join(filepath.Dir(datasets), "configs", config.SafetyFile)
		if _, err := os.Stat(shipped); err == nil {
			return config.LoadSafety(shipped)
		}
	}
	return config.DefaultSafety(), nil
}
