// Package stage holds what every training and evaluation stage shares:
// resolving the configuration of a run (ResolveConfig), resolving a model
// argument — a preset name, a checkpoint directory or a Hugging Face hub id —
// to weights, dtype and tokenizer (LoadModel, LoadScratch), the one parser
// of dtype names (ParseDType), the backend (NewBackend), the trainer's
// configuration built from training_config.yaml (TrainConfig), and the
// atomic saving of adapters (SaveAdapter, SaveCheckpointAdapter).
//
// It sits above gemma3n, lora, train, hub, tokenizer and config, and below
// the stages that use it: sft, dpo, curriculum, eval and pretrain. The
// atomic file helpers they share (directory replacement, JSON read and
// write) are in pkg/internal/atomicfile, below everything.
package stage
