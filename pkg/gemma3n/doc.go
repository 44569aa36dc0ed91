// Package gemma3n implements the text decoder of Google's Gemma 3n (E2B and
// relatives) in GoMLX: the configuration read from a Hugging Face
// config.json, the mapping of checkpoint tensors onto GoMLX context
// variables, the forward pass with per-layer embeddings, AltUp, LAuReL,
// sliding/full attention with KV sharing and the sparse MLP, the
// next-token loss, and greedy or sampled generation.
//
// The model follows the reference semantics of Hugging Face transformers'
// Gemma3nForCausalLM (see docs/gemma3n-text-architecture.md in the project's
// shared material) and is checked against its float32 outputs, hidden states
// and gradients in the tests.
//
// Weights live in a GoMLX *context.Context in scopes that mirror the Hugging
// Face names: the tensor "layers.3.self_attn.q_proj.weight" is the variable
// "weight" in scope "/layers/3/self_attn/q_proj". Base weights are not
// trainable, so optimizers never allocate state for them. Every linear layer
// of the decoder goes through Model.Linear, a LinearFn hook that adapters
// (LoRA) replace without touching this package.
//
// The graph avoids the operations the pure-Go SimpleGo backend cannot
// differentiate (Slice, Pad, Rsqrt, Clamp): RoPE rotates halves with a
// constant 2×2 matrix, stream selection uses constant one-hot contractions,
// and the loss takes its labels already shifted (see ShiftTargets).
package gemma3n
