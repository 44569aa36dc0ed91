package export

import (
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
)

// The shared fixtures (pkg/internal/testutil/testdata).
var (
	fixtureModel   = testutil.TinyModel()
	fixtureAdapter = testutil.TinyAdapter()
)

// scoreWithAdapter returns the float32 logits of the base model with the
// adapter in dir on ids.
func scoreWithAdapter(t testing.TB, model, adapterDir string, dtype dtypes.DType, ids []int32) []float32 {
	t.Helper()
	m, err := gemma3n.Open(model, dtype)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lora.Load(m, adapterDir); err != nil {
		t.Fatal(err)
	}
	return score(t, m, ids)
}

func score(t testing.TB, m *gemma3n.Model, ids []int32) []float32 {
	t.Helper()
	logits, _, err := m.Score(testutil.Backend(t), [][]int32{ids})
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](logits)
}

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
