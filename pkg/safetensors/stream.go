package safetensors

import (
	"fmt"
	"io"
)

// ReadRangeInto converts the elements [first, first+n) of a tensor, in
// row-major order, into dst, which holds n values of dstType (n =
// len(dst)/dstType.Size()); with dstType the tensor's own dtype it is a
// raw copy. It reads with positioned reads, never through the mapping, so
// that walking a tensor of any size chunk by chunk keeps none of the file
// resident in this process (the pages stay in the page cache only).
func (f *File) ReadRangeInto(name string, first int, dst []byte, dstType DType) error {
	info, err := f.lookup(name)
	if err != nil {
		return err
	}
	if !convertible(info.DType, dstType) {
		return f.errorf(name, "cannot convert %s to %s", info.DType, dstType)
	}
	size := dstType.Size()
	if size == 0 || len(dst)%size != 0 {
		return f.errorf(name, "destination of %d bytes is not a whole number of %s values", len(dst), dstType)
	}
	n := len(dst) / size
	if first < 0 || n > info.NumElements()-first {
		return f.errorf(name, "elements [%d, %d) outside the tensor's %d", first, first+n, info.NumElements())
	}
	if !hostIsLittleEndian {
		return errBigEndianHost
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	if err := f.checkOpen(name); err != nil {
		return err
	}
	sub := info
	sub.Begin = info.Begin + int64(first)*int64(info.DType.Size())
	sub.End = sub.Begin + int64(n)*int64(info.DType.Size())
	sub.Shape = []int{n}
	if err := f.readConvertedChunks(sub, dst, dstType); err != nil {
		return f.errorf(name, "%w", err)
	}
	return nil
}

// ReadRangeInto is File.ReadRangeInto on the file holding the tensor.
func (c *Checkpoint) ReadRangeInto(name string, first int, dst []byte, dstType DType) error {
	f, err := c.file(name)
	if err != nil {
		return err
	}
	return f.ReadRangeInto(name, first, dst, dstType)
}

// CopyTo writes a tensor's raw data to w in chunks of at most 4 MiB read
// with ReadRangeInto, so that copying a checkpoint needs a bounded amount
// of memory whatever the size of its tensors.
func (c *Checkpoint) CopyTo(name string, w io.Writer) error {
	info, ok := c.Info(name)
	if !ok {
		return fmt.Errorf("safetensors: checkpoint %s: no tensor %q", c.path, name)
	}
	size := info.DType.Size()
	n := info.NumElements()
	chunk := max(1, readChunkBytes/size)
	buf := make([]byte, min(n, chunk)*size)
	for start := 0; start < n; start += chunk {
		part := buf[:min(chunk, n-start)*size]
		if err := c.ReadRangeInto(name, start, part, info.DType); err != nil {
			return err
		}
		if _, err := w.Write(part); err != nil {
			return err
		}
	}
	return nil
}
