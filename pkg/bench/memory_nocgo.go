//go:build !cgo

package bench

import (
	"errors"

	"github.com/gomlx/compute"
)

var (
	errNotXLA = errors.New("the backend is not XLA: device memory is not tracked (SimpleGo tensors live in host memory)")
	errLayout = errors.New("device memory unknown: cannot find the PJRT client of this GoMLX/go-xla version")
)

// deviceMemoryStats needs cgo to call the PJRT plugin.
func deviceMemoryStats(b compute.Backend) (deviceStats, error) {
	if _, _, err := pjrtHandles(b); err != nil {
		return deviceStats{}, err
	}
	return deviceStats{}, errors.New("device memory unknown: built without cgo")
}
