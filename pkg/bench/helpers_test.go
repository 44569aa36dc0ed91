package bench

import (
	"sync"
	"testing"

	"github.com/gomlx/compute"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/backend"
)

var (
	backendOnce sync.Once
	testB       compute.Backend
	testBErr    error
)

// testBackend returns one SimpleGo backend for the test binary, with
// sequential op scheduling (its parallel scheduler can deadlock on graphs
// with many independent matrix products, GoMLX v0.26.0).
func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	backendOnce.Do(func() { testB, testBErr = backend.New("go:ops_sequential") })
	if testBErr != nil {
		t.Fatalf("backend: %v", testBErr)
	}
	return testB
}

// tinySize is the tiny preset with a small vocabulary, so that the tests
// spend their time on the layers rather than the 262k-row tables.
var tinySize = ModelSize{Preset: "tiny", Vocab: 512}
