// Package dpo is preference tuning (Direct Preference Optimization and its
// IPO and hinge variants) on top of a supervised fine-tuned LoRA adapter. It
// supplies an objective and a batcher of preference pairs to the shared
// training loop of pkg/train, which brings the optimizer, schedule,
// clipping, accumulation, evaluation, checkpoints, resume, metrics log and
// progress bar.
//
// The pieces, in the order data flows:
//   - Pairs: EncodePairs renders each preference pair through Gemma's chat
//     template (the prompt ends with "<start_of_turn>model\n"; each answer is
//     the model turn with its closing <end_of_turn>) and applies the length
//     policy of TRL's DPOTrainer (prompt cut from the left, answers from the
//     right). ReadTRLPairs reads extra pairs in TRL's JSONL format.
//   - PairSource is a train.Source: a batch of B pairs is one [2B, L] batch,
//     chosen rows first, so one forward pass scores both answers.
//   - Objective computes the loss of a batch: sequence log-probabilities are
//     float32 sums over the answer tokens, and the reference's come either
//     from the same graph (Model.Reference) or precomputed once per data set
//     (ComputeReference, PairSource.SetReference).
//   - NewLoRAModel binds a Gemma 3n model and its LoRA adapter: the policy is
//     the adapted model, the reference either the SFT adapter frozen as it
//     was loaded ("sft") or the base model with the adapters disabled
//     ("base"), without a second copy of the model.
//   - Run is the whole stage, as the CLI command and the notebooks call it.
//
// Losses, with h = (log π(c) − log π(r)) − (log ref(c) − log ref(r)):
//
//	sigmoid: −(1−ε)·log σ(βh) − ε·log σ(−βh)   (ε: label smoothing, robust DPO)
//	ipo:     (h − 1/(2β))²                     (log-probabilities averaged per token, as TRL)
//	hinge:   max(0, 1 − βh)
//
// plus, with RPOAlpha α > 0, α times the chosen answer's negative
// log-likelihood per token (TRL's rpo_alpha).
package dpo
