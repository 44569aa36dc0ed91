// Package export turns a fine-tuned model into what runtimes load: Merge
// writes the base model with a LoRA adapter merged as a Hugging Face model
// directory (the official multimodal layout that Ollama's and llama.cpp's
// converters and vLLM expect, or a text-only Gemma3nForCausalLM with
// TextOnly), and ExportGGUF writes a GGUF file of llama.cpp's gemma3n
// architecture, with an Ollama Modelfile beside it on request.
//
// # Streaming
//
// Both read the base checkpoint one tensor at a time (positioned reads,
// never keeping the file mapped) and write as they go: the adapter is read
// without building a model (lora.ReadUpdates) and merged into each adapted
// weight on its own, untouched tensors are copied in 4 MiB pieces, a GGUF
// header is written first from the shapes. Peak memory is a few hundred MB
// for the full-size E2B checkpoint, whatever its size. Progress is logged
// every 5% of the bytes.
//
// # GGUF
//
// The GGUF writer and reader (ReadGGUF, ParseGGUF) are pure Go over bytes.
// The layout follows llama.cpp's convert_hf_to_gguf.py (Gemma3NModel) key
// by key and tensor by tensor; where it departs from it, the reason is to
// make llama.cpp compute what this project's model computes (see
// ExportGGUF and tensorType). LlamaCppIssues names what in a configuration
// llama.cpp hard-codes rather than reads. The tests run the exported files
// in the real llama.cpp, through the npm package node-llama-cpp
// (testdata/llamacpp; `make llamacpp-deps` installs it).
//
// The package imports only downward: safetensors, gemma3n, lora,
// tokenizer, chat, data, hub, config.
package export
