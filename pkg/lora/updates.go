package lora

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
)

// Update is one module's low-rank update s·B·A, read from an adapter
// without a model (see ReadUpdates), as plain float32 values.
type Update struct {
	Module
	A []float32 // [Rank, In], row-major
	B []float32 // [Out, Rank], row-major
}

// Updates is an adapter read for merging into checkpoint tensors one at a
// time: what Load checks, without building a model.
type Updates struct {
	// Layout is the tensor naming of the adapter's file.
	Layout Layout
	// Updates lists the adapted modules in the model's order.
	Updates []Update
	// Warnings lists what was skipped (see Adapter.Warnings).
	Warnings []string
}

// ReadUpdates reads a PEFT LoRA adapter directory for a model of config cfg
// with the checks of Load (every tensor on a linear layer of that model,
// A/B pairs with the shapes and ranks of adapter_config.json), but into
// plain slices and without a model, so that a merge can stream the base
// checkpoint tensor by tensor.
func ReadUpdates(cfg *gemma3n.Config, dir string) (*Updates, error) {
	p, path, f, err := openAdapter(dir)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	pairs, layout, warnings, err := pairTensors(cfg, p, path, f)
	if err != nil {
		return nil, err
	}
	u := &Updates{Layout: layout, Warnings: warnings}
	for _, pr := range pairs {
		m := Module{Name: pr.module.name, In: pr.module.in, Out: pr.module.out, Rank: pr.rank, Alpha: pr.alpha,
			Scale: Scale(pr.alpha, pr.rank, p.cfg.UseRSLoRA)}
		a, err := readFloat32(f, pr.nameA, m.Rank*m.In)
		if err != nil {
			return nil, err
		}
		b, err := readFloat32(f, pr.nameB, m.Out*m.Rank)
		if err != nil {
			return nil, err
		}
		u.Updates = append(u.Updates, Update{Module: m, A: a, B: b})
	}
	return u, nil
}

// readFloat32 reads a tensor of n values converted to float32.
func readFloat32(f *safetensors.File, name string, n int) ([]float32, error) {
	raw := make([]byte, 4*n)
	if err := f.ReadInto(name, raw, safetensors.F32); err != nil {
		return nil, fmt.Errorf("lora: %w", err)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out, nil
}

// Find returns the update of a module ("layers.3.self_attn.q_proj"), or nil.
func (u *Updates) Find(module string) *Update {
	for i := range u.Updates {
		if u.Updates[i].Name == module {
			return &u.Updates[i]
		}
	}
	return nil
}

// MergeFloat32 replaces the float32 weight w [Out·In] by W + s·B·A,
// accumulated in float64 and rounded once: the values Adapter.Merge gives.
func (u *Update) MergeFloat32(w []float32) error {
	if len(w) != u.Out*u.In {
		return fmt.Errorf("lora: merge: %s.weight has %d values, want %d×%d", u.Name, len(w), u.Out, u.In)
	}
	addLowRank(u.Module, u.A, u.B, func(i int, delta float64) { w[i] = float32(float64(w[i]) + delta) })
	return nil
}

// MergeBFloat16 replaces the bfloat16 weight w [Out·In] (raw bits) by
// W + s·B·A, accumulated in float64 and rounded once to the nearest
// bfloat16: the values Adapter.Merge gives for a bfloat16 model.
func (u *Update) MergeBFloat16(w []uint16) error {
	if len(w) != u.Out*u.In {
		return fmt.Errorf("lora: merge: %s.weight has %d values, want %d×%d", u.Name, len(w), u.Out, u.In)
	}
	addLowRank(u.Module, u.A, u.B, func(i int, delta float64) {
		base := float64(math.Float32frombits(uint32(w[i]) << 16))
		w[i] = uint16(bfloat16FromFloat64(base + delta))
	})
	return nil
}
