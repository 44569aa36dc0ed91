//go:build !linux

package safetensors

// releasePages is a no-op where madvise is not used.
func releasePages([]byte) {}
