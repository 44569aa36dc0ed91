// Package stage holds what every training and evaluation stage shares:
//
//   - the configuration of a run: ResolveConfig (the YAML, the named
//     options, the debug sizes, the overrides) and ModelDType;
//   - a model argument — a preset name, a checkpoint directory or a
//     Hugging Face hub id — resolved to its architecture (ResolveModel,
//     IsPreset) or loaded with its weights, dtype and tokenizer (LoadModel,
//     LoadWeights, LoadScratch), and the configuration's model options
//     (ConfigureModel);
//   - the one parser of dtype names (ParseDType, DTypeName);
//   - the backend (NewBackend);
//   - the shipped corpora cut as data.yaml says (ShippedCorpus,
//     PrepareOptions, PrepareShipped, SplitRatios, DebugSizes);
//   - the trainer's configuration built from training_config.yaml
//     (TrainConfig);
//   - the names every stage gives what it writes in its run directory
//     (ConfigFileName, DataSummaryFileName, AdapterDirName,
//     BestAdapterDirName);
//   - adapters: a fresh one of lora_config.yaml (NewAdapter), saved
//     atomically (SaveAdapter), or saved from a checkpoint without
//     disturbing the model (SaveCheckpointAdapter, WithCheckpointValues).
//
// It sits above gemma3n, lora, train, hub, tokenizer, data and config, and
// below the stages that use it: sft, dpo, eval, export, curriculum and
// pretrain. The atomic file helpers they share (directory replacement,
// JSON read and write) are in pkg/internal/atomicfile, below everything.
package stage
