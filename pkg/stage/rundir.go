package stage

import "github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/runcheck"

// What every stage (sft, dpo, a curriculum and each of its phases) writes in
// its run directory, by the same names, so that a reader of one run knows
// them all. Each stage adds its own summary file; pkg/train adds
// metrics.jsonl and checkpoints/.
const (
	// ConfigFileName is the resolved configuration the run started with;
	// resuming compares against it.
	ConfigFileName = runcheck.ConfigFileName
	// DataSummaryFileName counts what the run trained and evaluated on.
	DataSummaryFileName = "data_summary.json"
	// AdapterDirName holds the final adapter in PEFT layout.
	AdapterDirName = "adapter"
	// BestAdapterDirName holds the adapter of the best evaluation, when
	// there was one.
	BestAdapterDirName = "best_adapter"
)
