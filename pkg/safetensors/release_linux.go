package safetensors

import (
	"os"
	"syscall"
	"unsafe"
)

var pageSize = uintptr(os.Getpagesize())

// releasePages tells the kernel that the mapped pages of b are no longer
// needed, so that converting a checkpoint tensor by tensor does not keep the
// whole file resident in this process. The pages stay in the page cache and
// fault back in if read again, so slices returned by Bytes remain valid.
func releasePages(b []byte) {
	if len(b) == 0 {
		return
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := (start + pageSize - 1) &^ (pageSize - 1)
	hi := (start + uintptr(len(b))) &^ (pageSize - 1)
	if hi <= lo {
		return
	}
	_ = syscall.Madvise(b[lo-start:hi-start], syscall.MADV_DONTNEED)
}
