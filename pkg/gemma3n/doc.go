// Package gemma3n implements the text decoder of Google's Gemma 3n (E2B and
// relatives) in GoMLX: the configuration read from a Hugging Face
// config.json, the mapping of checkpoint tensors onto GoMLX context
// variables, the forward pass with per-layer embeddings, AltUp, LAuReL,
// sliding/full attention with KV sharing and the sparse MLP, the
// next-token loss, and greedy or sampled generation with a KV cache.
//
// The model computes what Hugging Face transformers' Gemma3nForCausalLM
// computes; ARCHITECTURE.md, beside this file, describes it section by
// section (the "spec §N" of the comments), with the tensors of every block,
// the numerics and where this package departs from transformers. The tests
// check it against transformers' float32 logits, loss, hidden states,
// gradients and greedy continuation on a tiny checkpoint
// (pkg/internal/testutil/testdata/gemma3n-tiny).
//
// # Weights
//
// Load reads a checkpoint directory (official multimodal or text-only
// layout), NewRandom initialises one, Open accepts either a directory or a
// preset name ("mini", the embedded default model, pretrained on the
// corpora's training splits, whose bfloat16 weights are embedded in the
// binary (assets/mini, with its model card); "tiny", a random-init model for
// tests; both on the compact 8192-token vocabulary; "e2b"), and Save and
// SaveAs write a directory transformers reads.
// Weights live in a GoMLX model.Store at paths that mirror the HF names:
// "layers.3.self_attn.q_proj.weight" is the variable at
// "/layers/3/self_attn/q_proj/weight" (see VariablePath). Base weights are
// not trainable, so optimizers never allocate state for them. The names are
// tags on the fields of one struct per block (tensors.go), which both the
// manifest (Config.Weights) and the forward pass read.
//
// # Graph
//
// Model.Forward (and Logits, HiddenStates) builds the graph; Loss computes
// the float32 next-token cross-entropy from targets shifted on the host
// (NextTokenTargets). Every linear layer goes through Model.Linear, a
// LinearFn hook that adapters (LoRA) replace without touching this package.
//
// Norms, softmax, the AltUp router tanh, every reduction and the loss run
// in float32, also for bfloat16 models, as Hugging Face does.
package gemma3n
