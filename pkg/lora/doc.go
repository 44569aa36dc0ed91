// Package lora adds LoRA adapters to the Gemma 3n text decoder of package
// gemma3n, reads and writes them as PEFT does, and merges them into the
// base weights.
//
// An Adapter installs itself as the model's linear function
// (gemma3n.Model.Linear), so every adapted layer computes
//
//	y = x·Wᵀ + s·dropout(x)·Aᵀ·Bᵀ,   s = alpha/r (alpha/√r with rsLoRA)
//
// with the base weight W frozen and A [r, in], B [out, r] trainable float32
// variables stored next to W in the model's store
// (/layers/3/self_attn/q_proj/lora_A and …/lora_B). The base weights stay
// non-trainable, so an optimizer only ever sees A and B. Dropout acts only
// in training graphs (model.Scope.IsTraining).
//
//   - New creates adapters on the modules a Config selects (names or regular
//     expressions; q/k/v/o by default) with PEFT's initialisation (A
//     kaiming-uniform, B zero). The K/V projections of KV-shared layers are
//     never used by the model: targeting them is a warning, and they are
//     skipped.
//   - Load reads a PEFT adapter directory (adapter_config.json and
//     adapter_model.safetensors) in either checkpoint layout:
//     "base_model.model.model.layers.N…" (a text model saved by
//     Gemma3nForCausalLM) or "base_model.model.model.language_model.layers.N…"
//     (the official multimodal checkpoint). Save writes the same files,
//     atomically; PEFT loads them.
//   - SetEnabled switches the adapters off for graphs built afterwards, and
//     WithBase builds part of one graph on the base model (DPO's reference).
//   - Merge returns a model with W + s·B·A in place of W and plain linear
//     layers (PEFT's merge_and_unload); MergedWeights returns those weights
//     under the base checkpoint's tensor names.
//
// The tests check the adapter against PEFT 0.21.0 on the tiny reference
// model: logits within 1e-4 and the loss within 1e-5 of PEFT's, with the
// fixture adapter and with PEFT-made adapters using regex targets, rsLoRA,
// rank/alpha patterns and the multimodal layout, each saved back byte for
// byte as PEFT wrote it.
package lora
