// Package curriculum runs the whole fine-tuning journey of the project in one
// call, resumable, with one run directory that tells the story. It only
// orchestrates: the SFT of each stage is package sft, preference tuning is
// package dpo, mixing and splits are package data, merging is package lora.
//
// Two pipelines share the machinery:
//
//   - RunCurriculum: the phases of curriculum.yaml (by default 100:0, 80:20,
//     60:40, 40:60, 0:100 CounselChat:AnnoMI with learning rates 1e-4 … 2e-5),
//     each drawing its own number of examples with data.Mix (a seed per
//     phase), each starting from the previous phase's final adapter; then,
//     as configured, DPO on CounselChat preference pairs and a merge of the
//     final adapter into the base model.
//   - RunSequential: the original three stages, SFT on CounselChat, SFT on
//     AnnoMI from stage 1's adapter (each on its whole train split, with
//     training_config.yaml's learning rate, epochs and max_steps), then DPO
//     (and the merge when configured).
//
// Every SFT stage evaluates on both held-out sets (the CounselChat and the
// AnnoMI validation splits, the same examples in every phase), so that
// forgetting of CounselChat and learning of AnnoMI are visible phase by
// phase in summary.json and metrics.jsonl. The AnnoMI validation set uses
// data.yaml's quality filter; a phase's annomi_quality filters only what it
// trains on.
//
// A run directory holds:
//
//	config.yaml         the resolved configuration (files, flags, --debug, learning-rate scale)
//	run.json            the pipeline and the settings outside the configuration (debug, eval and
//	                    DPO limits), so that a resumed run repeats them, and one entry per resume
//	data_summary.json   pools and eval sets per source, and per phase its size, seed and mix
//	                    report (drawn, available, epochs and repeats of each corpus)
//	metrics.jsonl       every stage's metrics log, concatenated in order (records carry "phase")
//	phases/NN-name/     one package-sft run directory per phase: config.yaml, data_summary.json,
//	                    metrics.jsonl, checkpoints/, adapter/, best_adapter/, summary.json
//	dpo/                the package-dpo run directory (when DPO runs)
//	adapter/            the final adapter (DPO's, else the last phase's), PEFT layout
//	merged/             the merged model in Hugging Face layout (when merging; see Merge)
//	summary.json        per phase: steps, tokens, first and final train loss, whether it fell,
//	                    final eval loss on both sets, wall and train time; DPO and merge results
//
// Every file is written atomically (a temporary file or directory renamed
// into place), so a reader sees either nothing or a complete file.
//
// # Resuming
//
// Options.Resume continues a run directory: stages whose summary file exists
// are complete and skipped (their results are read back from disk), the
// current stage continues from its newest checkpoint, and the stages after it
// run as usual. Without configuration options the run's config.yaml is
// used; with them, the resolved configuration must equal it except for
// package runcheck's Mutable settings (max_steps, the logging, evaluation
// and saving frequencies, the backend), which then apply to the remaining
// stages and are recorded in run.json's "resumes" (config.yaml stays as the
// run started). Any other difference, or a directory without a run, is an
// error before anything is written; each stage checks its own run
// directory (its model, adapter and data) the same way. The data of every phase is a deterministic function of the
// configuration, so a resumed phase sees the batches an uninterrupted one
// would; package train restores the adapter, the optimizer moments and the
// random state of the checkpoint. Hence a resumed run ends with the same
// adapters as an uninterrupted one (up to floating-point summation order,
// which the trainer keeps fixed: the tests find them equal within 1e-6).
// A cancelled run (Ctrl-C) checkpoints its last finished step in every
// stage (SaveOnCancel); what a hard kill loses is the work since the
// stage's last checkpoint (training.save_steps, and the checkpoints at
// evaluations).
//
// # Optimizer state between phases
//
// The adapter weights always carry over from one SFT stage to the next, and
// every stage has a learning-rate schedule of its own (its warmup and decay
// at its learning rate). curriculum.optimizer_state decides the AdamW state:
//
//   - "reset" (the default) gives every stage fresh, zero moments.
//   - "carry" starts every stage after the first with the first and second
//     moments and the update count of the previous stage's final checkpoint
//     (phases/NN-name/checkpoints/step-N, always kept), as a Hugging Face
//     Trainer does when it loads the previous optimizer state: the bias
//     correction continues where that stage stopped (package sft's
//     Options.InitOptimizer, package train's Config.InitOptimizerFrom).
//     Each phase's init_optimizer in summary.json names that checkpoint. A
//     stage that resumes from a checkpoint of its own keeps its own moments.
//
// Both pipelines honour it (in RunSequential, for the AnnoMI stage after the
// CounselChat one); DPO always starts with fresh moments, since it optimizes
// another objective from the final SFT adapter.
package curriculum
