//go:build !linux

package safetensors

// prefetchPages and releasePages are no-ops where madvise is not used.
func prefetchPages([]byte) {}

func releasePages([]byte) {}
