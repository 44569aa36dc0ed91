//go:build cgo && !noxla && linux && amd64

package bench

import (
	"reflect"
	"testing"

	"github.com/gomlx/go-xla/compute/xla"
	"github.com/gomlx/go-xla/pjrt"
)

// TestPJRTLayout checks that the unexported fields pjrtHandles reads exist
// with the expected types in the GoMLX and go-xla versions this module
// builds with. (Calling PJRT_Device_MemoryStats itself needs a PJRT plugin,
// which the GPU benchmark exercises.)
func TestPJRTLayout(t *testing.T) {
	backendType := reflect.TypeOf(xla.Backend{})
	if backendType.String() != "xla.Backend" {
		t.Fatalf("backend type %s", backendType)
	}
	for _, tc := range []struct {
		typ        reflect.Type
		field, was string
		kind       reflect.Kind
	}{
		{backendType, "client", "*pjrt.Client", reflect.Pointer},
		{reflect.TypeOf(pjrt.Client{}), "plugin", "*pjrt.Plugin", reflect.Pointer},
		{reflect.TypeOf(pjrt.Client{}), "addressableDevices", "[]*pjrt.Device", reflect.Slice},
		{reflect.TypeOf(pjrt.Plugin{}), "api", "*pjrt._Ctype_struct_PJRT_Api", reflect.Pointer},
		{reflect.TypeOf(pjrt.Device{}), "cDevice", "*pjrt._Ctype_struct_PJRT_Device", reflect.Pointer},
	} {
		f, ok := tc.typ.FieldByName(tc.field)
		if !ok {
			t.Errorf("%s has no field %s", tc.typ, tc.field)
			continue
		}
		if f.Type.Kind() != tc.kind || f.Type.String() != tc.was {
			t.Errorf("%s.%s is %s, want %s", tc.typ, tc.field, f.Type, tc.was)
		}
	}
}

// TestPJRTAPIOffsets checks the hand-written table offsets of memory_cgo.go
// against go-xla's PJRT_Api (its pjrt_c_api.h, as cgo translated it).
func TestPJRTAPIOffsets(t *testing.T) {
	api := reflect.TypeOf(pjrt.Plugin{})
	f, _ := api.FieldByName("api")
	table := f.Type.Elem()
	errorDestroy, memoryStats := apiTableOffsets()
	for name, want := range map[string]uintptr{"PJRT_Error_Destroy": errorDestroy, "PJRT_Device_MemoryStats": memoryStats} {
		field, ok := table.FieldByName(name)
		if !ok {
			t.Errorf("PJRT_Api has no field %s", name)
			continue
		}
		if field.Offset != want {
			t.Errorf("PJRT_Api.%s at offset %d, memory_cgo.go reads %d", name, field.Offset, want)
		}
	}
}

func TestPJRTHandlesOfFinalizedBackend(t *testing.T) {
	// A zero xla.Backend has no client: an error, not a crash.
	if _, _, err := pjrtHandles(&xla.Backend{}); err != errLayout {
		t.Errorf("error %v, want errLayout", err)
	}
	if _, _, err := pjrtHandles(testBackend(t)); err != errNotXLA {
		t.Errorf("SimpleGo: error %v, want errNotXLA", err)
	}
}
