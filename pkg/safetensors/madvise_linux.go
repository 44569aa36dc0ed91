package safetensors

import (
	"os"
	"syscall"
	"unsafe"
)

var pageSize = uintptr(os.Getpagesize())

// pageRange returns the part of b made of whole pages, as offsets into b.
func pageRange(b []byte) (lo, hi uintptr, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	first := (start + pageSize - 1) &^ (pageSize - 1)
	last := (start + uintptr(len(b))) &^ (pageSize - 1)
	if last <= first {
		return 0, 0, false
	}
	return first - start, last - start, true
}

// prefetchPages starts reading the mapped pages of b ahead of the
// conversion, which helps a checkpoint that is not yet in the page cache.
func prefetchPages(b []byte) {
	if lo, hi, ok := pageRange(b); ok {
		_ = syscall.Madvise(b[lo:hi], syscall.MADV_WILLNEED)
	}
}

// releasePages tells the kernel that the mapped pages of b are no longer
// needed, so that converting a checkpoint tensor by tensor does not keep the
// whole file resident in this process. The pages stay in the page cache and
// fault back in if read again, so slices returned by Bytes remain valid.
func releasePages(b []byte) {
	if lo, hi, ok := pageRange(b); ok {
		_ = syscall.Madvise(b[lo:hi], syscall.MADV_DONTNEED)
	}
}
