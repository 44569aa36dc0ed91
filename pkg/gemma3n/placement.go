package gemma3n

import (
	"fmt"
	"log/slog"
	"time"
	"unsafe"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
)

// WeightOptions say where the weights go while Load or NewRandom produces
// them, and who hears about it.
type WeightOptions struct {
	// Backend, if set, receives every tensor as soon as it is read or
	// drawn: the pure-Go backend shares the tensor's host memory, XLA gets a
	// device copy and the host keeps none. The host then never holds more
	// than the weights plus one tensor. Without a Backend the tensors stay
	// on the host until a graph first uses them, and from then on exist
	// twice (host and backend).
	Backend compute.Backend
	// Progress, if set, is called after every tensor.
	Progress func(WeightProgress)
}

// WeightProgress reports how far a load (or a random initialisation) is.
type WeightProgress struct {
	Tensors, TotalTensors int
	Bytes, TotalBytes     int64 // in the model dtype
	Elapsed               time.Duration
}

// LogProgress returns a WeightOptions.Progress that logs msg with the
// tensors and GiB done and the seconds since the start, every two seconds
// and at the end (a load done within the first second logs nothing); nil
// for a nil log.
func LogProgress(log *slog.Logger, msg string) func(WeightProgress) {
	if log == nil {
		return nil
	}
	var last time.Duration
	logged := false
	return func(p WeightProgress) {
		done := p.Tensors == p.TotalTensors
		if p.Elapsed-last < 2*time.Second && !(done && (logged || p.Elapsed >= time.Second)) {
			return
		}
		last, logged = p.Elapsed, true
		log.Info(msg, "tensors", fmt.Sprintf("%d/%d", p.Tensors, p.TotalTensors),
			"GiB", fmt.Sprintf("%.2f/%.2f", float64(p.Bytes)/(1<<30), float64(p.TotalBytes)/(1<<30)),
			"s", float64(p.Elapsed.Milliseconds())/1000)
	}
}

// placer creates the weight tensors of one model where WeightOptions say,
// filling each through a callback that writes its bytes in place.
type placer struct {
	opts    WeightOptions
	staging []byte // host bytes of one tensor on its way to a device
	start   time.Time
	done    WeightProgress
}

func newPlacer(opts WeightOptions, specs []WeightSpec, dtype dtypes.DType) *placer {
	p := &placer{opts: opts, start: time.Now()}
	p.done.TotalTensors = len(specs)
	for _, s := range specs {
		p.done.TotalBytes += shapes.Make(dtype, s.Shape...).ByteSize()
	}
	return p
}

// place returns a tensor of shape whose bytes fill wrote (little-endian
// values of shape's dtype), on the backend if there is one.
func (p *placer) place(shape shapes.Shape, fill func(dst []byte) error) (*tensors.Tensor, error) {
	var t *tensors.Tensor
	var err error
	b := p.opts.Backend
	switch {
	case b != nil && !b.HasSharedBuffers():
		// A device: fill a reused host buffer, copy it over (synchronously).
		n := int(shape.ByteSize())
		if cap(p.staging) < n {
			p.staging = make([]byte, n)
		}
		if err = fill(p.staging[:n]); err == nil {
			t, err = tensors.FromRaw(b, 0, shape, p.staging[:n])
		}
	default:
		if b != nil { // host memory the backend shares: filled in place
			t, err = tensors.FromShapeForBackend(b, 0, shape)
		} else {
			t = tensors.FromShape(shape)
		}
		if err == nil {
			var fillErr error
			if err = t.MutableBytes(func(dst []byte) { fillErr = fill(dst) }); err == nil {
				err = fillErr
			}
		}
	}
	if err != nil {
		return nil, err
	}
	p.done.Tensors++
	p.done.Bytes += shape.ByteSize()
	if p.opts.Progress != nil {
		p.done.Elapsed = time.Since(p.start)
		p.opts.Progress(p.done)
	}
	return t, nil
}

// float32s and bfloat16s view little-endian bytes as values; the buffers
// come from tensors and Go allocations, aligned for their element type.
func float32s(b []byte) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}

func bfloat16s(b []byte) []bfloat16.BFloat16 {
	return unsafe.Slice((*bfloat16.BFloat16)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/2)
}

// clipBytes clamps float32 or bfloat16 values to [−c, c] in place.
func clipBytes(b []byte, dtype dtypes.DType, c float32) error {
	switch dtype {
	case dtypes.Float32:
		flat := float32s(b)
		for i, v := range flat {
			flat[i] = max(-c, min(c, v))
		}
	case dtypes.BFloat16:
		flat := bfloat16s(b)
		for i, v := range flat {
			flat[i] = bfloat16.FromFloat32(max(-c, min(c, v.Float32())))
		}
	default:
		return fmt.Errorf("gemma3n: cannot clip %s values", dtype)
	}
	return nil
}
