// Package config loads, validates and saves the YAML configuration of a
// fine-tuning run: the files of the repository's configs/ directory
// (model_config.yaml, training_config.yaml, lora_config.yaml,
// curriculum.yaml, dpo.yaml, data.yaml, and safety.yaml with the crisis
// resources of the safety gate) or the single resolved file that a run
// directory keeps.
//
// Every section has a Default constructor (DefaultTraining, DefaultLoRA, …)
// that returns exactly the values of the shipped files, so keys absent from
// a file keep their defaults. Loading is strict: an unknown key, a value of
// the wrong type, a YAML syntax error, an out-of-range value or a broken
// cross-field rule is an error that names the file, line and column and the
// key, for example
//
//	configs/lora_config.yaml:3:1: lora_dropout: must be in [0, 1), got 1.5
//
// Command-line flags override loaded values through All.Set with dotted keys
// ("training.learning_rate", "curriculum.phases.2.epochs").
package config
