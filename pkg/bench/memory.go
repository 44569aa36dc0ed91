package bench

import (
	"bufio"
	"errors"
	"os"
	"reflect"
	"strconv"
	"strings"
	"unsafe"

	"github.com/gomlx/compute"
)

// Why pjrtHandles found no device to ask (used by both builds, with and
// without cgo).
var (
	errNotXLA = errors.New("the backend is not XLA: device memory is not tracked (SimpleGo tensors live in host memory)")
	errLayout = errors.New("device memory unknown: cannot find the PJRT client of this GoMLX/go-xla version")
)

// Memory describes the memory use of a benchmark run.
type Memory struct {
	// DeviceKnown reports whether the backend exposed its allocator's
	// statistics (XLA through PJRT). SimpleGo has no device memory of its
	// own: its tensors live in the host memory counted by HostPeakRSS.
	DeviceKnown bool `json:"device_known"`
	// DevicePeakBytes is the allocator's peak of bytes in use since the
	// backend was created (weights, optimizer state, activations and
	// temporaries), the analogue of torch.cuda.max_memory_allocated.
	DevicePeakBytes int64 `json:"device_peak_bytes,omitempty"`
	// DeviceInUseBytes is what is allocated when the statistics were read.
	DeviceInUseBytes int64 `json:"device_in_use_bytes,omitempty"`
	// DeviceLimitBytes is the memory the allocator may use, if reported.
	DeviceLimitBytes int64 `json:"device_limit_bytes,omitempty"`
	// DeviceNote says why device memory is unknown, when it is.
	DeviceNote string `json:"device_note,omitempty"`
	// HostPeakRSS is the process's peak resident set size (VmHWM), 0 if unknown.
	HostPeakRSS int64 `json:"host_peak_rss_bytes"`
}

// ReadMemory reads the device allocator statistics of b (device 0), when
// the backend can tell, and the host's peak resident set size.
func ReadMemory(b compute.Backend) Memory {
	m := Memory{HostPeakRSS: hostPeakRSS()}
	stats, err := deviceMemoryStats(b)
	if err != nil {
		m.DeviceNote = err.Error()
		return m
	}
	m.DeviceKnown = true
	m.DevicePeakBytes, m.DeviceInUseBytes, m.DeviceLimitBytes = stats.peak, stats.inUse, stats.limit
	return m
}

// deviceStats are the PJRT allocator statistics the reports use.
type deviceStats struct {
	inUse, peak, limit int64
}

// hostPeakRSS returns VmHWM from /proc/self/status in bytes (0 where there
// is no such file).
func hostPeakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return 0
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0
		}
		return kb * 1024
	}
	return 0
}

// pjrtHandles finds the PJRT API table and the first addressable device of
// an XLA backend. GoMLX v0.26.0 and go-xla v0.1.4 expose neither, so they
// are read from the unexported fields xla.Backend.client →
// pjrt.Client{plugin.api, addressableDevices[0].cDevice}; any change of
// that layout yields an error, never a wrong pointer.
func pjrtHandles(b compute.Backend) (api, device unsafe.Pointer, err error) {
	v := reflect.ValueOf(b)
	if !v.IsValid() || v.Kind() != reflect.Pointer || v.IsNil() || v.Type().String() != "*xla.Backend" {
		return nil, nil, errNotXLA
	}
	client := field(v.Elem(), "client")
	if !isNonNilPointer(client) || client.Type().String() != "*pjrt.Client" {
		return nil, nil, errLayout
	}
	plugin := field(client.Elem(), "plugin")
	if !isNonNilPointer(plugin) {
		return nil, nil, errLayout
	}
	apiField := field(plugin.Elem(), "api")
	devices := field(client.Elem(), "addressableDevices")
	if !isNonNilPointer(apiField) || !devices.IsValid() || devices.Kind() != reflect.Slice || devices.Len() == 0 {
		return nil, nil, errLayout
	}
	dev := devices.Index(0)
	if !isNonNilPointer(dev) {
		return nil, nil, errLayout
	}
	cDevice := field(dev.Elem(), "cDevice")
	if !isNonNilPointer(cDevice) {
		return nil, nil, errLayout
	}
	return apiField.UnsafePointer(), cDevice.UnsafePointer(), nil
}

func field(v reflect.Value, name string) reflect.Value {
	if !v.IsValid() || v.Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return v.FieldByName(name)
}

func isNonNilPointer(v reflect.Value) bool {
	return v.IsValid() && v.Kind() == reflect.Pointer && !v.IsNil()
}
