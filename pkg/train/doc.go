// Package train is the training loop shared by supervised fine-tuning and
// preference tuning: any GoMLX model expressed as a loss over a
// *context.Context is trained, and only its trainable variables (LoRA
// adapters) move.
//
// The pieces:
//   - Data: a Source gives deterministic micro-batches by (epoch, index), so a
//     resumed run sees exactly the batches an uninterrupted one would.
//     LMSource batches causal-LM Examples with length-bucketed padding (a
//     bounded set of shapes, hence of compiled graphs).
//   - Objective: builds a Loss (sums and a weight, never a mean) so that
//     gradient accumulation over N micro-batches equals one N-times larger
//     batch. CausalLM is the SFT objective; DPO supplies its own.
//   - Trainer: AdamW with decoupled weight decay in float32, a warmup +
//     cosine/linear/constant schedule, global-norm gradient clipping,
//     gradient accumulation, skipping of non-finite steps, evaluation with
//     best-checkpoint tracking and early stopping, atomic checkpoints with
//     exact resume, a JSON-lines metrics log, a progress bar and callbacks.
//
// A run directory holds metrics.jsonl and checkpoints/step-NNNNNNNN/
// (state.json + variables.bin), plus checkpoints/best.json.
package train
