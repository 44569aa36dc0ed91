// Package bench measures the Gemma 3n text model on the selected GoMLX
// backend: LoRA fine-tuning throughput (Train), greedy decoding speed
// (Generate), float32 parity with the Hugging Face reference fixture
// (Parity) and the agreement of bfloat16 and float32 training (Numerics).
//
// The benchmarks build the model with random weights, so no checkpoint is
// needed: RandomModel draws them tensor by tensor where the backend keeps
// them — on a device (XLA) inside a GoMLX graph (a counter-based hash of the
// element index, turned into a normal sample), so the 4.4 B values never
// pass through the host; on the pure-Go backend on the host, in parallel,
// straight into the backend's buffers.
// Sizes come from a preset ("e2b", "tiny") with per-field overrides
// (ModelSize), so the same code runs at E2B scale on a GPU and at toy scale
// on the CPU in tests.
//
// Every report is a plain struct with JSON tags (for scripts) and a
// WriteText method (for people). Device memory comes from the PJRT
// allocator's statistics when the backend is XLA; elsewhere only the host's
// peak resident set size is known, and the report says so.
package bench
