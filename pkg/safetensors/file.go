package safetensors

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
)

// File is one open safetensors file whose header has been validated.
// Its methods are safe for concurrent use; Close waits for reads in flight.
type File struct {
	path   string
	f      *os.File
	size   int64
	mapped []byte // the whole file, or nil when read with ReadAt
	h      *header

	mu     sync.RWMutex
	closed bool
}

// Open opens a safetensors file and validates its header. The file is
// memory-mapped read-only where the platform allows it.
func Open(path string) (*File, error) { return openFile(path, true) }

func openFile(path string, useMmap bool) (*File, error) {
	osf, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := newFile(path, osf, useMmap)
	if err != nil {
		osf.Close()
		return nil, err
	}
	return f, nil
}

func newFile(path string, osf *os.File, useMmap bool) (*File, error) {
	st, err := osf.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, &FormatError{Path: path, Reason: "not a regular file"}
	}
	h, err := readHeader(osf, st.Size())
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			fe.Path = path
			return nil, fe
		}
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	f := &File{path: path, f: osf, size: st.Size(), h: h}
	if useMmap {
		if m, err := mapFile(osf, f.size); err == nil {
			f.mapped = m
		} // otherwise positioned reads serve the same purpose, more slowly.
	}
	return f, nil
}

// Path is the file name given to Open.
func (f *File) Path() string { return f.path }

// Names lists the tensors in sorted order.
func (f *File) Names() []string { return append([]string(nil), f.h.names...) }

// Info describes a tensor; Begin and End are absolute file offsets.
func (f *File) Info(name string) (TensorInfo, bool) {
	info, ok := f.h.tensors[name]
	if ok {
		info.Shape = append([]int(nil), info.Shape...)
	}
	return info, ok
}

// Metadata is a copy of the header's "__metadata__" (nil when absent).
func (f *File) Metadata() map[string]string { return maps.Clone(f.h.metadata) }

// Mapped reports whether the file is memory-mapped (Bytes is then zero-copy).
func (f *File) Mapped() bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.mapped != nil
}

func (f *File) errorf(tensor, format string, args ...any) error {
	prefix := "safetensors: " + f.path + ": "
	if tensor != "" {
		prefix += fmt.Sprintf("tensor %q: ", tensor)
	}
	return fmt.Errorf("%s"+format, append([]any{prefix}, args...)...) // the path may hold '%'

}

func (f *File) lookup(name string) (TensorInfo, error) {
	info, ok := f.h.tensors[name]
	if !ok {
		return TensorInfo{}, f.errorf("", "no tensor %q", name)
	}
	return info, nil
}

// Bytes returns the raw little-endian data of a tensor. For a mapped file
// it is a read-only slice of the mapping, valid until Close; never write to
// it. Otherwise it is a fresh copy.
func (f *File) Bytes(name string) ([]byte, error) {
	info, err := f.lookup(name)
	if err != nil {
		return nil, err
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	if err := f.checkOpen(info.Name); err != nil {
		return nil, err
	}
	if f.mapped != nil {
		return f.mapped[info.Begin:info.End:info.End], nil
	}
	buf := make([]byte, info.NumBytes())
	if err := f.readAt(buf, info.Begin); err != nil {
		return nil, f.errorf(info.Name, "%w", err)
	}
	return buf, nil
}

// Tensor reads a tensor into a new GoMLX tensor of the given dtype:
// floating-point data converts to any float dtype (bfloat16 and float16
// with round-to-nearest-even), integers to any integer dtype that holds
// every value or to floats, bools to bools. dtypes.InvalidDType keeps the
// file's dtype. The data is converted straight from the mapping (or from
// small read buffers), so only the result is allocated.
func (f *File) Tensor(name string, dtype dtypes.DType) (*tensors.Tensor, error) {
	info, err := f.lookup(name)
	if err != nil {
		return nil, err
	}
	if dtype == dtypes.InvalidDType {
		var ok bool
		if dtype, ok = info.DType.GoMLX(); !ok {
			return nil, f.errorf(name, "dtype %s has no GoMLX counterpart; use Bytes", info.DType)
		}
	}
	dstType, ok := FromGoMLX(dtype)
	if !ok {
		return nil, f.errorf(name, "cannot load into GoMLX dtype %s", dtype)
	}
	if !convertible(info.DType, dstType) {
		return nil, f.errorf(name, "cannot convert %s to %s", info.DType, dtype)
	}
	if !hostIsLittleEndian {
		return nil, errBigEndianHost
	}
	t := tensors.FromShape(shapes.Make(dtype, info.Shape...))
	if info.NumElements() == 0 {
		return t, nil
	}
	var readErr error
	if err := t.MutableBytes(func(dst []byte) { readErr = f.readConverted(info, dst, dstType) }); err != nil {
		return nil, f.errorf(name, "%v", err)
	}
	if readErr != nil {
		return nil, readErr
	}
	return t, nil
}

// ReadInto converts a tensor into dst, which must hold exactly
// NumElements() values of dstType in little-endian order.
func (f *File) ReadInto(name string, dst []byte, dstType DType) error {
	info, err := f.lookup(name)
	if err != nil {
		return err
	}
	if !convertible(info.DType, dstType) {
		return f.errorf(name, "cannot convert %s to %s", info.DType, dstType)
	}
	if want := int64(info.NumElements()) * int64(dstType.Size()); int64(len(dst)) != want {
		return f.errorf(name, "destination has %d bytes, want %d", len(dst), want)
	}
	return f.readConverted(info, dst, dstType)
}

// readChunkBytes bounds the buffer of unmapped conversions.
const readChunkBytes = 4 << 20

func (f *File) readConverted(info TensorInfo, dst []byte, dstType DType) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if err := f.checkOpen(info.Name); err != nil {
		return err
	}
	if err := f.checkSize(info.Name); err != nil {
		return err
	}
	var err error
	if f.mapped != nil {
		src := f.mapped[info.Begin:info.End]
		prefetchPages(src)
		err = convertParallel(dst, dstType, src, info.DType)
		releasePages(src)
	} else {
		err = f.readConvertedChunks(info, dst, dstType)
	}
	if err != nil {
		return f.errorf(info.Name, "%w", err)
	}
	return nil
}

func (f *File) readConvertedChunks(info TensorInfo, dst []byte, dstType DType) error {
	srcSize, dstSize := info.DType.Size(), dstType.Size()
	if info.DType == dstType && dstType != Bool {
		return f.readAt(dst, info.Begin)
	}
	n := info.NumElements()
	chunk := max(1, readChunkBytes/srcSize)
	buf := make([]byte, min(n, chunk)*srcSize)
	for start := 0; start < n; start += chunk {
		m := min(chunk, n-start)
		src := buf[:m*srcSize]
		if err := f.readAt(src, info.Begin+int64(start*srcSize)); err != nil {
			return err
		}
		if err := convert(dst[start*dstSize:(start+m)*dstSize], dstType, src, info.DType); err != nil {
			return offsetError(err, start)
		}
	}
	return nil
}

// readAt fills buf from the file; callers add the file and tensor names.
func (f *File) readAt(buf []byte, off int64) error {
	if _, err := f.f.ReadAt(buf, off); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("file ends before byte %d (truncated since it was opened?)", off+int64(len(buf)))
		}
		return err
	}
	return nil
}

func (f *File) checkOpen(tensor string) error {
	if f.closed {
		return f.errorf(tensor, "file is closed")
	}
	return nil
}

// checkSize catches a file truncated since Open before its mapping faults.
func (f *File) checkSize(tensor string) error {
	if f.f == nil { // in memory (OpenBytes): nothing can shrink
		return nil
	}
	st, err := f.f.Stat()
	if err != nil {
		return f.errorf(tensor, "%v", err)
	}
	if st.Size() < f.size {
		return f.errorf(tensor, "file shrank from %d to %d bytes since it was opened", f.size, st.Size())
	}
	return nil
}

// Close unmaps and closes the file. Slices returned by Bytes become invalid.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	if f.f == nil { // in memory (OpenBytes): the caller owns the bytes
		f.mapped = nil
		return nil
	}
	var errs []error
	if f.mapped != nil {
		errs = append(errs, unmapFile(f.mapped))
		f.mapped = nil
	}
	errs = append(errs, f.f.Close())
	if err := errors.Join(errs...); err != nil {
		return f.errorf("", "closing: %v", err)
	}
	return nil
}

// parallelMinElements is the size above which conversions are split across
// goroutines; below it the goroutine overhead outweighs the gain.
const parallelMinElements = 1 << 20

// convertParallel converts src (possibly a file mapping) into dst using up
// to GOMAXPROCS goroutines, turning memory faults of a mapping that changed
// underneath into errors.
func convertParallel(dst []byte, dstType DType, src []byte, srcType DType) error {
	srcSize, dstSize := srcType.Size(), dstType.Size()
	n := len(src) / srcSize
	workers := min(runtime.GOMAXPROCS(0), n/(parallelMinElements/2))
	if workers <= 1 {
		return guardFault(func() error { return convert(dst, dstType, src, srcType) })
	}
	per := (n + workers - 1) / workers
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*per, min(n, (w+1)*per)
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = guardFault(func() error {
				err := convert(dst[lo*dstSize:hi*dstSize], dstType, src[lo*srcSize:hi*srcSize], srcType)
				return offsetError(err, lo)
			})
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// guardFault runs fn, turning a memory fault (SIGBUS on a mapped file that
// was truncated) into an error instead of crashing the program.
func guardFault(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			fault, ok := r.(interface{ Addr() uintptr })
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("memory fault at %#x reading the mapped file (truncated or rewritten while open?)", fault.Addr())
		}
	}()
	return fn()
}
