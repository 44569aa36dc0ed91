package lora

import (
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
)

// TestReadUpdatesMatchesMerge checks that merging the updates of
// ReadUpdates into the checkpoint's weights gives, bit for bit, what
// Adapter.MergedWeights gives on a loaded model, in float32 and bfloat16.
func TestReadUpdatesMatchesMerge(t *testing.T) {
	for _, dtype := range []dtypes.DType{dtypes.Float32, dtypes.BFloat16} {
		t.Run(dtype.String(), func(t *testing.T) {
			m, err := gemma3n.Load(tinyDir, dtype)
			if err != nil {
				t.Fatal(err)
			}
			a, err := Load(m, fixtureAdapter)
			if err != nil {
				t.Fatal(err)
			}
			want, err := a.MergedWeights(LayoutCausalLM)
			if err != nil {
				t.Fatal(err)
			}
			u, err := ReadUpdates(m.Config, fixtureAdapter)
			if err != nil {
				t.Fatal(err)
			}
			if len(u.Updates) != len(want) || u.Layout != LayoutCausalLM || len(u.Warnings) != len(a.Warnings()) {
				t.Fatalf("%d updates (%s), %d merged weights", len(u.Updates), u.Layout, len(want))
			}
			ck, err := safetensors.OpenCheckpoint(tinyDir)
			if err != nil {
				t.Fatal(err)
			}
			defer ck.Close()
			for i, w := range want {
				up := u.Find(strings.TrimSuffix(strings.TrimPrefix(w.Name, "model."), ".weight"))
				if up == nil || up.Module != a.Modules()[i] {
					t.Fatalf("%s: update %+v", w.Name, up)
				}
				base, err := ck.Tensor(w.Name, dtype)
				if err != nil {
					t.Fatal(err)
				}
				if dtype == dtypes.Float32 {
					vals := tensors.MustCopyFlatData[float32](base)
					if err := up.MergeFloat32(vals); err != nil {
						t.Fatal(err)
					}
					for j, v := range tensors.MustCopyFlatData[float32](w.Tensor) {
						if vals[j] != v {
							t.Fatalf("%s[%d]: %v, Merge gives %v", w.Name, j, vals[j], v)
						}
					}
					continue
				}
				bits := make([]uint16, base.Size())
				for j, v := range tensors.MustCopyFlatData[bfloat16.BFloat16](base) {
					bits[j] = uint16(v)
				}
				if err := up.MergeBFloat16(bits); err != nil {
					t.Fatal(err)
				}
				for j, v := range tensors.MustCopyFlatData[bfloat16.BFloat16](w.Tensor) {
					if bits[j] != uint16(v) {
						t.Fatalf("%s[%d]: %#04x, Merge gives %#04x", w.Name, j, bits[j], uint16(v))
					}
				}
			}
			if err := u.Updates[0].MergeFloat32(make([]float32, 3)); err == nil {
				t.Error("a weight of the wrong size was accepted")
			}
		})
	}
}

func TestReadUpdatesRejects(t *testing.T) {
	cfg, _ := gemma3n.Preset("tiny")
	if _, err := ReadUpdates(cfg, fixtureAdapter); err == nil || !strings.Contains(err.Error(), "not a linear layer") {
		t.Errorf("an adapter of another model: %v", err)
	}
	if _, err := ReadUpdates(cfg, t.TempDir()); err == nil {
		t.Error("an empty directory was accepted")
	}
}
