// Package safetensors reads and writes the safetensors file format of
// Hugging Face (https://huggingface.co/docs/safetensors): an 8-byte
// little-endian header length, a JSON header naming every tensor with its
// dtype, shape and byte range, and the raw little-endian tensor data.
//
// Reading memory-maps the file where the platform allows it (falling back to
// positioned reads), validates the whole header before any tensor is touched,
// and converts one tensor at a time into a GoMLX tensor, so that loading a
// multi-gigabyte checkpoint never holds it twice in memory. A truncated or
// inconsistent file is reported as an error naming the file and the tensor.
//
// A [Checkpoint] is a single file or a directory with model.safetensors, or a
// sharded checkpoint described by model.safetensors.index.json, as written by
// Hugging Face transformers. [Write] and [WriteSharded] produce files the
// Python library reads: tensors ordered by dtype alignment then by name,
// header padded with spaces to a multiple of 8 bytes, and every file written
// atomically (temporary file in the same directory, fsync, rename).
//
// The package knows nothing of any particular model.
package safetensors
