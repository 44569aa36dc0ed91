//go:build !cgo

package bench

import (
	"errors"

	"github.com/gomlx/compute"
)

// deviceMemoryStats needs cgo to call the PJRT plugin.
func deviceMemoryStats(b compute.Backend) (deviceStats, error) {
	if _, _, err := pjrtHandles(b); err != nil {
		return deviceStats{}, err
	}
	return deviceStats{}, errors.New("device memory unknown: built without cgo")
}
