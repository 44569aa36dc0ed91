package lora

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
)

// TestFixtureParity loads the PEFT adapter onto the tiny model and compares
// with PEFT's logits and loss; disabled, the model is the base model.
func TestFixtureParity(t *testing.T) {
	ref := loadReference(t)
	m := loadTiny(t, dtypes.Float32)
	baseLogits, gotBaseLoss := logitsAndLoss(t, m, ref.ids)

	a, err := Load(m, fixtureAdapter)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Warnings()) != 0 {
		t.Errorf("unexpected warnings: %q", a.Warnings())
	}
	if a.Layout != LayoutCausalLM {
		t.Errorf("layout %v, want %v", a.Layout, LayoutCausalLM)
	}
	logits, loss := logitsAndLoss(t, m, ref.ids)
	if d := testutil.MaxAbsDiff(logits, ref.logits); d > 1e-4 {
		t.Errorf("adapter logits: max |Δ| = %.3g, want ≤ 1e-4", d)
	} else {
		t.Logf("adapter logits: max |Δ| = %.3g", d)
	}
	if d := math.Abs(float64(loss - ref.loss)); d > 1e-5 {
		t.Errorf("adapter loss %.6f, want %.6f", loss, ref.loss)
	} else {
		t.Logf("adapter loss %.6f (reference %.6f)", loss, ref.loss)
	}
	if d := testutil.MaxAbsDiff(logits, baseLogits); d < 1e-3 {
		t.Errorf("adapter changes the logits by only %.3g: the adapter had no effect", d)
	}

	a.SetEnabled(false)
	offLogits, offLoss := logitsAndLoss(t, m, ref.ids)
	if !slices.Equal(offLogits, baseLogits) || offLoss != gotBaseLoss {
		t.Errorf("disabled adapter: logits differ from the base model by %.3g, loss %.6f vs %.6f",
			testutil.MaxAbsDiff(offLogits, baseLogits), offLoss, gotBaseLoss)
	}
	if d := math.Abs(float64(offLoss) - baseLoss); d > 1e-5 {
		t.Errorf("base loss %.6f, want %.5f", offLoss, baseLoss)
	}
	a.SetEnabled(true)
	onLogits, _ := logitsAndLoss(t, m, ref.ids)
	if !slices.Equal(onLogits, logits) {
		t.Errorf("re-enabled adapter: logits differ by %.3g", testutil.MaxAbsDiff(onLogits, logits))
	}
}

// TestWithBase computes the adapted and the base model in one graph, as DPO
// does for its reference.
func TestWithBase(t *testing.T) {
	ref := loadReference(t)
	m := loadTiny(t, dtypes.Float32)
	baseLogits, _ := logitsAndLoss(t, m, ref.ids)
	a, err := Load(m, fixtureAdapter)
	if err != nil {
		t.Fatal(err)
	}
	exec, err := model.NewExec(testutil.Backend(t), m.Store, func(scope *model.Scope, ids *Node) []*Node {
		policy := m.Logits(scope, ids, nil, nil)
		var base *Node
		a.WithBase(scope, ids.Graph(), func() { base = m.Logits(scope, ids, nil, nil) })
		after := m.Logits(scope, ids, nil, nil) // adapters are back on
		return []*Node{policy, base, after}
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(ref.ids)
	if err != nil {
		t.Fatal(err)
	}
	policy, base, after := tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1]), tensors.MustCopyFlatData[float32](out[2])
	if d := testutil.MaxAbsDiff(policy, ref.logits); d > 1e-4 {
		t.Errorf("policy logits: max |Δ| = %.3g from the adapter reference", d)
	}
	if !slices.Equal(base, baseLogits) {
		t.Errorf("WithBase logits differ from the base model by %.3g", testutil.MaxAbsDiff(base, baseLogits))
	}
	if !slices.Equal(after, policy) {
		t.Errorf("logits built after WithBase differ from the policy by %.3g", testutil.MaxAbsDiff(after, policy))
	}
}

// TestMergeParity checks that the merged model (plain linear layers)
// reproduces the adapter model, and that the merged weights are W + s·B·A.
func TestMergeParity(t *testing.T) {
	ref := loadReference(t)
	m := loadTiny(t, dtypes.Float32)
	a, err := Load(m, fixtureAdapter)
	if err != nil {
		t.Fatal(err)
	}
	adapterLogits, adapterLoss := logitsAndLoss(t, m, ref.ids)
	merged, err := a.Merge()
	if err != nil {
		t.Fatal(err)
	}
	mergedLogits, mergedLoss := logitsAndLoss(t, merged, ref.ids)
	if d := testutil.MaxAbsDiff(mergedLogits, adapterLogits); d > 1e-5 {
		t.Errorf("merged logits: max |Δ| = %.3g from the adapter model", d)
	} else {
		t.Logf("merged vs adapter logits: max |Δ| = %.3g", d)
	}
	if d := testutil.MaxAbsDiff(mergedLogits, ref.logits); d > 1e-4 {
		t.Errorf("merged logits: max |Δ| = %.3g from PEFT's", d)
	}
	if d := math.Abs(float64(mergedLoss - ref.loss)); d > 1e-5 {
		t.Errorf("merged loss %.6f, want %.6f (adapter model: %.6f)", mergedLoss, ref.loss, adapterLoss)
	}
	for v := range merged.Store.IterVariables() {
		if v.Trainable {
			t.Errorf("merged model has trainable variable %s", v.Path())
		}
	}
	// The original model is unchanged and still adapted.
	again, _ := logitsAndLoss(t, m, ref.ids)
	if !slices.Equal(again, adapterLogits) {
		t.Errorf("Merge changed the adapted model's logits by %.3g", testutil.MaxAbsDiff(again, adapterLogits))
	}

	// Merged weights: names in both layouts, values W + s·B·A.
	for _, layout := range []Layout{LayoutCausalLM, LayoutMultimodal} {
		weights, err := a.MergedWeights(layout)
		if err != nil {
			t.Fatal(err)
		}
		if len(weights) != len(a.Modules()) {
			t.Fatalf("%d merged weights for %d modules", len(weights), len(a.Modules()))
		}
		want := layout.ModelPrefix() + "layers.0.self_attn.q_proj.weight"
		if weights[0].Name != want {
			t.Errorf("first merged weight %q, want %q", weights[0].Name, want)
		}
	}
	mod := a.Modules()[len(a.Modules())-1] // layers.5.self_attn.o_proj
	weights, _ := a.MergedWeights(LayoutCausalLM)
	got := tensors.MustCopyFlatData[float32](weights[len(weights)-1].Tensor)
	w := variableData(t, m.WeightVariable(mod.Name+".weight"))
	varA, varB := a.Variables(mod.Name)
	A, B := variableData(t, varA), variableData(t, varB)
	for _, idx := range [][2]int{{0, 0}, {3, 17}, {mod.Out - 1, mod.In - 1}} {
		o, i := idx[0], idx[1]
		var dot float64
		for k := range mod.Rank {
			dot += float64(B[o*mod.Rank+k]) * float64(A[k*mod.In+i])
		}
		want := float64(w[o*mod.In+i]) + mod.Scale*dot
		if d := math.Abs(float64(got[o*mod.In+i]) - want); d > 1e-6 {
			t.Errorf("%s merged[%d,%d] = %g, want %g", mod.Name, o, i, got[o*mod.In+i], want)
		}
	}
}

// TestMergeBFloat16 merges onto bfloat16 weights: the result is the
// float32 merge rounded once to bfloat16.
func TestMergeBFloat16(t *testing.T) {
	m32 := loadTiny(t, dtypes.Float32)
	m16 := loadTiny(t, dtypes.BFloat16)
	a32, err := Load(m32, fixtureAdapter)
	if err != nil {
		t.Fatal(err)
	}
	a16, err := Load(m16, fixtureAdapter)
	if err != nil {
		t.Fatal(err)
	}
	w16, err := a16.MergedWeights(LayoutCausalLM)
	if err != nil {
		t.Fatal(err)
	}
	for i, nt := range w16 {
		if nt.Tensor.DType() != dtypes.BFloat16 {
			t.Fatalf("%s: dtype %s, want BFloat16", nt.Name, nt.Tensor.DType())
		}
		// Recompute from the bf16 base weight in float32 and round.
		mod := a32.Modules()[i]
		baseBF := m16.WeightVariable(mod.Name + ".weight")
		bt, _ := baseBF.Value()
		baseVals := tensors.MustCopyFlatData[float32](mustConvert(t, bt))
		varA, varB := a32.Variables(mod.Name)
		A, B := variableData(t, varA), variableData(t, varB)
		got := tensors.MustCopyFlatData[float32](mustConvert(t, nt.Tensor))
		for j := range got {
			o, in := j/mod.In, j%mod.In
			var dot float64
			for k := range mod.Rank {
				dot += float64(B[o*mod.Rank+k]) * float64(A[k*mod.In+in])
			}
			want := float64(baseVals[j]) + mod.Scale*dot
			if want16 := bfloat16FromFloat64(want).Float32(); got[j] != want16 {
				t.Fatalf("%s[%d] = %g, want %g (%g rounded to bfloat16)", nt.Name, j, got[j], want16, want)
			}
		}
	}
	merged, err := a16.Merge()
	if err != nil {
		t.Fatal(err)
	}
	if merged.DType != dtypes.BFloat16 {
		t.Errorf("merged model dtype %s", merged.DType)
	}
}

// mustConvert converts a bfloat16 tensor to float32 on the host.
func mustConvert(t testing.TB, x *tensors.Tensor) *tensors.Tensor {
	t.Helper()
	exec, err := NewExec(testutil.Backend(t), func(x *Node) *Node { return ConvertDType(x, dtypes.Float32) })
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(x)
	if err != nil {
		t.Fatal(err)
	}
	return out[0]
}

// TestBFloat16Adapter runs the fixture adapter on bfloat16 weights: the
// low-rank path runs in float32, the result is close to the float32 model.
func TestBFloat16Adapter(t *testing.T) {
	if testing.Short() {
		t.Skip("bfloat16 forward pass: skipped in -short")
	}
	ref := loadReference(t)
	m := loadTiny(t, dtypes.BFloat16)
	if _, err := Load(m, fixtureAdapter); err != nil {
		t.Fatal(err)
	}
	_, loss := logitsAndLoss(t, m, ref.ids)
	if d := math.Abs(float64(loss - ref.loss)); d > 0.05 {
		t.Errorf("bfloat16 adapter loss %.4f, float32 reference %.4f", loss, ref.loss)
	} else {
		t.Logf("bfloat16 adapter loss %.4f (float32 reference %.4f)", loss, ref.loss)
	}
}

// TestPEFTVariants loads adapters PEFT made with the features this package
// reads (see testdata/make_peft_variants.py): a regular-expression target
// string, rsLoRA, rank/alpha patterns and the multimodal layout. Logits
// match PEFT's, the merged model too, and saving gives PEFT's files back.
func TestPEFTVariants(t *testing.T) {
	for _, tc := range []struct {
		dir     string
		layout  Layout
		modules int
		probe   Module // one module's settings
	}{
		{"testdata/peft-rslora-patterns", LayoutCausalLM, 16,
			Module{Name: "layers.1.mlp.down_proj", In: 128, Out: 64, Rank: 6, Alpha: 3, Scale: 3 / math.Sqrt(6)}},
		{"testdata/peft-multimodal", LayoutMultimodal, 16,
			Module{Name: "layers.2.self_attn.k_proj", In: 64, Out: 32, Rank: 3, Alpha: 5, Scale: 5.0 / 3}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			ck, err := safetensors.OpenCheckpoint(tc.dir + "/reference.safetensors")
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = ck.Close() }()
			idsT, err := ck.Tensor("input_ids", dtypes.Int32)
			if err != nil {
				t.Fatal(err)
			}
			refT, err := ck.Tensor("logits", dtypes.Float32)
			if err != nil {
				t.Fatal(err)
			}
			ids, want := idsT.Value().([][]int32), tensors.MustCopyFlatData[float32](refT)

			m := loadTiny(t, dtypes.Float32)
			a, err := Load(m, tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			if a.Layout != tc.layout || len(a.Modules()) != tc.modules || len(a.Warnings()) != 0 {
				t.Errorf("layout %v, %d modules, warnings %q; want %v, %d, none", a.Layout, len(a.Modules()), a.Warnings(), tc.layout, tc.modules)
			}
			i := slices.IndexFunc(a.Modules(), func(m Module) bool { return m.Name == tc.probe.Name })
			if i < 0 || a.Modules()[i] != tc.probe {
				t.Errorf("module %s: got %+v, want %+v", tc.probe.Name, a.Modules(), tc.probe)
			}
			logits, _ := logitsAndLoss(t, m, ids)
			if d := testutil.MaxAbsDiff(logits, want); d > 1e-4 {
				t.Errorf("logits: max |Δ| = %.3g from PEFT's, want ≤ 1e-4", d)
			} else {
				t.Logf("logits: max |Δ| = %.3g from PEFT's", d)
			}
			merged, err := a.Merge()
			if err != nil {
				t.Fatal(err)
			}
			mergedLogits, _ := logitsAndLoss(t, merged, ids)
			if d := testutil.MaxAbsDiff(mergedLogits, want); d > 1e-4 {
				t.Errorf("merged logits: max |Δ| = %.3g from PEFT's", d)
			}
			out := t.TempDir()
			if err := a.Save(out); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{ConfigFileName, WeightsFileName} {
				x, _ := os.ReadFile(filepath.Join(tc.dir, name))
				y, _ := os.ReadFile(filepath.Join(out, name))
				if !bytes.Equal(x, y) {
					t.Errorf("saved %s differs from PEFT's", name)
				}
			}
		})
	}
}
