package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
)

func init() {
	register("data stats", "print statistics of the shipped corpora", "[--json] [--data-dir DIR]", runDataStats)
	register("data export", "write conversations as JSON lines", "--out FILE.jsonl [flags]", runDataExport)
}

const dataDirHelp = "datasets directory (default: $" + data.EnvDataDir + ", else datasets/ found walking up from the working directory)"

func runDataStats(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "data stats", "[--json] [--data-dir DIR]",
		"Print statistics of AnnoMI and CounselChat: transcripts, utterances and labels; questions, answers and preference pairs.")
	asJSON := fs.Bool("json", false, "print one JSON object")
	dir := fs.String("data-dir", "", dataDirHelp)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("data stats: unexpected argument %q", fs.Arg(0))
	}
	corpus, err := data.LoadCorpus(*dir)
	if err != nil {
		return err
	}
	stats, err := corpus.Stats()
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(ctx.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(stats)
	}
	return stats.WriteTable(ctx.stdout)
}

func runDataExport(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "data export", "--out FILE.jsonl [flags]",
		"Write conversations in the common {\"messages\":[{\"role\",\"content\"}], ...} JSON-lines format\n"+
			"(with source, id, group, split, quality, topic and labels), or CounselChat preference pairs.")
	defaults := data.DefaultOptions()
	out := fs.String("out", "", "output file (required); written atomically")
	dir := fs.String("data-dir", "", dataDirHelp)
	source := fs.String("source", data.All, "counselchat, annomi or all")
	split := fs.String("split", data.All, "train, validation, test or all")
	quality := fs.String("quality", data.QualityAll, "AnnoMI quality filter: high, low or all")
	debug := fs.Bool("debug", false, fmt.Sprintf("small subset: the first %d CounselChat questions and %d AnnoMI transcripts of each split",
		data.DefaultDebugSizes().CounselChatQuestions, data.DefaultDebugSizes().AnnoMITranscripts))
	seed := fs.Uint64("seed", defaults.Seed, "seed of the splits")
	contextTurns := fs.Int("context-turns", defaults.Window.ContextTurns, "AnnoMI turns kept before each target therapist turn (0: all)")
	pairs := fs.Bool("pairs", false, "write CounselChat preference pairs (chosen/rejected by upvotes) instead of conversations")
	tieBreak := fs.String("tie-break", string(data.TieBreakFirst), "preference pairs: answer among equally voted ones: first, longer, views or skip")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("data export: unexpected argument %q", fs.Arg(0))
	}
	if *out == "" {
		return fmt.Errorf("data export: --out is required")
	}
	opts := data.ExportOptions{Options: defaults, Source: *source, Split: *split, WritePairs: *pairs}
	opts.Seed, opts.Quality, opts.Window.ContextTurns = *seed, *quality, *contextTurns
	opts.Pairs.TieBreak = data.TieBreak(*tieBreak)
	if *debug {
		opts.Debug = data.DefaultDebugSizes()
	}
	corpus, err := data.LoadCorpus(*dir)
	if err != nil {
		return err
	}
	sum, err := corpus.Export(*out, opts)
	if err != nil {
		return fmt.Errorf("data export: %w", err)
	}
	fmt.Fprintf(ctx.stdout, "wrote %d records (%s) to %s\n", sum.Records, formatCounts(sum.Counts), sum.Path)
	return nil
}

func formatCounts(counts map[string]int) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, counts[k])
	}
	return strings.Join(parts, ", ")
}
