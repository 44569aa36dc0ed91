//go:build cgo

package bench

/*
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

// The parts of the PJRT C API (xla/pjrt/c/pjrt_c_api.h) used here. The API
// table only grows at its end, so these offsets hold for every plugin
// whose table is long enough, which bench_memory_stats checks.
typedef void bench_pjrt_error;

typedef struct {
	size_t struct_size;
	void* extension_start;
	void* error;
} bench_error_destroy_args;

typedef struct {
	size_t struct_size;
	void* extension_start;
	void* device;
	int64_t bytes_in_use;
	int64_t peak_bytes_in_use;
	bool peak_bytes_in_use_is_set;
	int64_t num_allocs;
	bool num_allocs_is_set;
	int64_t largest_alloc_size;
	bool largest_alloc_size_is_set;
	int64_t bytes_limit;
	bool bytes_limit_is_set;
	int64_t bytes_reserved;
	bool bytes_reserved_is_set;
	int64_t peak_bytes_reserved;
	bool peak_bytes_reserved_is_set;
	int64_t bytes_reservable_limit;
	bool bytes_reservable_limit_is_set;
	int64_t largest_free_block_bytes;
	bool largest_free_block_bytes_is_set;
	int64_t pool_bytes;
	bool pool_bytes_is_set;
	int64_t peak_pool_bytes;
	bool peak_pool_bytes_is_set;
} bench_memory_stats_args;

typedef struct {
	size_t struct_size;
	void* extension_start;
	struct {
		size_t struct_size;
		void* extension_start;
		int major_version;
		int minor_version;
	} version;
	void* fns[35]; // the function table, up to PJRT_Device_MemoryStats
} bench_pjrt_api;

// Indices in bench_pjrt_api.fns.
enum { bench_fn_error_destroy = 0, bench_fn_memory_stats = 34 };

static size_t bench_fn_offset(int i) { return offsetof(bench_pjrt_api, fns) + i * sizeof(void*); }

typedef bench_pjrt_error* (*bench_memory_stats_fn)(bench_memory_stats_args*);
typedef void (*bench_error_destroy_fn)(bench_error_destroy_args*);

// bench_memory_stats fills out and returns 0, or returns 1 when the plugin's
// API table has no PJRT_Device_MemoryStats, 2 when the call failed.
static int bench_memory_stats(void* api_ptr, void* device, bench_memory_stats_args* out) {
	bench_pjrt_api* api = (bench_pjrt_api*)api_ptr;
	if (api->struct_size < offsetof(bench_pjrt_api, fns) + sizeof(api->fns) || api->fns[bench_fn_memory_stats] == NULL) {
		return 1;
	}
	out->struct_size = offsetof(bench_memory_stats_args, peak_pool_bytes_is_set) + sizeof(bool);
	out->extension_start = NULL;
	out->device = device;
	bench_pjrt_error* err = ((bench_memory_stats_fn)api->fns[bench_fn_memory_stats])(out);
	if (err != NULL) {
		if (api->fns[bench_fn_error_destroy] != NULL) {
			bench_error_destroy_args d = {sizeof(bench_error_destroy_args), NULL, err};
			((bench_error_destroy_fn)api->fns[bench_fn_error_destroy])(&d);
		}
		return 2;
	}
	return 0;
}
*/
import "C"

import (
	"errors"

	"github.com/gomlx/compute"
)

// deviceMemoryStats calls PJRT_Device_MemoryStats on device 0 of an XLA backend.
func deviceMemoryStats(b compute.Backend) (deviceStats, error) {
	api, device, err := pjrtHandles(b)
	if err != nil {
		return deviceStats{}, err
	}
	var args C.bench_memory_stats_args
	switch C.bench_memory_stats(api, device, &args) {
	case 0:
	case 1:
		return deviceStats{}, errors.New("device memory unknown: the PJRT plugin has no PJRT_Device_MemoryStats")
	default:
		return deviceStats{}, errors.New("device memory unknown: PJRT_Device_MemoryStats failed (not implemented by this plugin?)")
	}
	s := deviceStats{inUse: int64(args.bytes_in_use), peak: -1}
	if args.peak_bytes_in_use_is_set {
		s.peak = int64(args.peak_bytes_in_use)
	}
	if args.bytes_limit_is_set {
		s.limit = int64(args.bytes_limit)
	}
	if s.peak < 0 {
		return deviceStats{}, errors.New("device memory unknown: the PJRT plugin does not report peak bytes in use")
	}
	return s, nil
}

// apiTableOffsets returns the byte offsets in the PJRT_Api table at which
// bench_memory_stats finds PJRT_Error_Destroy and PJRT_Device_MemoryStats.
func apiTableOffsets() (errorDestroy, memoryStats uintptr) {
	return uintptr(C.bench_fn_offset(C.bench_fn_error_destroy)), uintptr(C.bench_fn_offset(C.bench_fn_memory_stats))
}
