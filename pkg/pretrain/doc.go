// Package pretrain ships the project's embedded default model: a small
// Gemma 3n (preset gemma3n.MiniName) trained from random weights on the
// training splits of the shipped corpora by full-parameter training
// (`gemma3n-therapy train full`, package sft), then rounded to bfloat16,
// measured and described.
//
// The recipe is `make pretrain`:
//
//	gemma3n-therapy train full --model mini --from-scratch --data corpus --loss-on all ... --out runs/pretrain-mini
//	gemma3n-therapy pretrain ship --run runs/pretrain-mini --out pkg/gemma3n/assets/mini
//
// Ship writes the directory that pkg/gemma3n embeds: config.json,
// model.safetensors (bfloat16), card.json (the Card: architecture, data,
// training, losses, samples) and README.md, the model card rendered from
// card.json. Every number of the card is measured by Ship itself — the
// held-out losses with the shipped bfloat16 weights (sft.HeldOutLoss on
// the validation and test splits, which training never sees), sample
// replies through the safety gate (eval.Run) — or read from the run's
// summary, metrics and data summary.
//
// Check is `make pretrain-check`: it ships a rebuild (the same command
// into another run directory) beside the shipped model, compares their
// validation losses (tolerance DefaultTolerance, 0.05 nats) and records the
// result in the card.
package pretrain
