package safetensors

import (
	"bytes"
	"errors"
)

// OpenBytes reads a safetensors file held in memory (e.g. embedded in the
// binary with go:embed), validating its header as Open does; name stands
// for its path in messages. The File reads data straight from b, which the
// caller must not modify while it is in use; Close releases nothing.
func OpenBytes(name string, b []byte) (*File, error) {
	h, err := readHeader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			fe.Path = name
			return nil, fe
		}
		return nil, err
	}
	if len(b) == 0 {
		b = []byte{} // mapped must be non-nil: it is what the reads use
	}
	return &File{path: name, size: int64(len(b)), mapped: b, h: h}, nil
}
