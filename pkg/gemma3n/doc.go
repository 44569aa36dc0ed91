// Package gemma3n implements the text decoder of Google's Gemma 3n (E2B and
// relatives) in GoMLX: the configuration read from a Hugging Face
// config.json, the mapping of checkpoint tensors onto GoMLX context
// variables, the forward pass with per-layer embeddings, AltUp, LAuReL,
// sliding/full attention with KV sharing and the sparse MLP, the
// next-token loss, and greedy or sampled generation with a KV cache.
//
// The model follows the reference semantics of Hugging Face transformers'
// Gemma3nForCausalLM (the project's docs/gemma3n-text-architecture.md) and
// is checked in the tests against its float32 logits, loss, hidden states,
// gradients and greedy continuation (testdata/gemma3n-tiny).
//
// # Weights
//
// Load reads a checkpoint directory (official multimodal or text-only
// layout), NewRandom initialises one, Open accepts either a directory or a
// preset name ("tiny", the embedded default model with the compact 8192-token
// vocabulary; "e2b"), and Save writes a directory transformers reads.
// Weights live in a GoMLX *context.Context in absolute scopes that mirror
// the HF names: "layers.3.self_attn.q_proj.weight" is the variable "weight"
// in scope "/layers/3/self_attn/q_proj" (see VariableName). Base weights are
// not trainable, so optimizers never allocate state for them.
//
// # Graph
//
// Model.Forward (and Logits, HiddenStates) builds the graph; Loss computes
// the float32 next-token cross-entropy from targets shifted on the host
// (NextTokenTargets). Every linear layer goes through Model.Linear, a
// LinearFn hook that adapters (LoRA) replace without touching this package.
//
// The graph avoids what the pure-Go SimpleGo backend cannot differentiate
// (Slice, Pad, Rsqrt, Clamp): RoPE rotates halves with a constant 2×2
// matrix and streams are selected by constant one-hot contractions. Norms,
// softmax, the AltUp router tanh, every reduction and the loss run in
// float32, also for bfloat16 models (SimpleGo accumulates bfloat16
// reductions in bfloat16).
//
// Importing this package replaces GoMLX's DotGeneral gradient by an exact
// one built from two DotGenerals (see autodiff.go): GoMLX v0.26.0's
// materialises a broadcast product (tens of GB for a large vocabulary) and
// sums bfloat16 in bfloat16.
//
// On SimpleGo, run with sequential op scheduling ("go:ops_sequential"): its
// parallel scheduler can deadlock on graphs with many independent matrix
// products (GoMLX v0.26.0).
package gemma3n
