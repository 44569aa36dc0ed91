package export

import (
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
)

// The shared fixtures (pkg/internal/testutil/testdata).
var (
	fixtureModel   = testutil.TinyModel()
	fixtureAdapter = testutil.TinyAdapter()
)

// readTensors reads every tensor of a checkpoint (file or directory) as raw bytes with its info.
func readTensors(t testing.TB, path string) map[string]rawTensor {
	t.Helper()
	ck, err := safetensors.OpenCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	out := map[string]rawTensor{}
	for _, name := range ck.Names() {
		info, _ := ck.Info(name)
		b, err := ck.Bytes(name)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = rawTensor{info: info, data: append([]byte(nil), b...)}
	}
	return out
}

type rawTensor struct {
	info safetensors.TensorInfo
	data []byte
}

func deref(p *float64) float64 {
	if p == nil {
		return -1
	}
	return *p
}
