package dpo

import (
	"fmt"
	"path"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// Reference policies (dpo.yaml's reference).
const (
	// ReferenceSFT is the SFT adapter frozen as it was when DPO started: the
	// policy continues training that same adapter, and the reference is its
	// starting point (TRL with ref_adapter_name). The output is one adapter
	// that applies to the base model directly.
	ReferenceSFT = config.ReferenceSFT
	// ReferenceBase is the base model with the adapters disabled (TRL's
	// default for a PEFT model).
	ReferenceBase = config.ReferenceBase
)

// Where the frozen copy of the SFT adapter lives: in a sub-scope of each
// adapted module, e.g. /layers/3/self_attn/q_proj/dpo_reference/lora_A.
const (
	frozenScope = "dpo_reference"
	// paramFrozenReference is the graph parameter under which the adapted
	// layers use the frozen copy instead of the trained adapter.
	paramFrozenReference = "dpo_frozen_reference"
)

// Logits is the causal-LM function of a Gemma 3n model as pkg/train expects
// it: ids [B,L] and attention mask [B,L] (right padding) to logits [B,L,V].
func Logits(m *gemma3n.Model) train.LogitsFn {
	return func(scope *model.Scope, ids, mask *Node) *Node {
		return m.Forward(scope, gemma3n.Inputs{IDs: ids, Mask: mask, RightPadded: true}).Logits
	}
}

// NewLoRAModel returns the DPO model of m with adapter a installed: the
// policy is the adapted model (a's variables are the trainable ones), and
// the reference is computed in the same graph from the same weights, without
// a second copy of the model:
//   - ReferenceBase: the adapters act as identities (lora.Adapter.WithBase);
//   - ReferenceSFT: the adapters use a frozen copy of their current values,
//     taken now, in non-trainable variables next to them (adapter-sized,
//     not model-sized). Call it before training or restoring a checkpoint.
func NewLoRAModel(m *gemma3n.Model, a *lora.Adapter, reference string) (Model, error) {
	if m == nil || a == nil || a.Model() != m {
		return Model{}, fmt.Errorf("dpo: NewLoRAModel needs a model and an adapter installed on it")
	}
	dm := Model{Policy: Logits(m)}
	switch reference {
	case ReferenceBase:
		dm.Reference = baseLogits(m, a)
	case ReferenceSFT:
		if err := freezeAdapter(m, a); err != nil {
			return Model{}, err
		}
		dm.Reference = frozenLogits(m)
	default:
		return Model{}, fmt.Errorf("dpo: unknown reference %q (want %s or %s)", reference, ReferenceSFT, ReferenceBase)
	}
	return dm, nil
}

// CurrentReference returns the reference as the model computes it now, for
// ComputeReference before training starts: for ReferenceSFT the adapted
// model itself (its adapter still holds the SFT weights), for ReferenceBase
// the model with the adapters disabled. Unlike NewLoRAModel it copies
// nothing; once training has changed the adapter, its ReferenceSFT is no
// longer the reference.
func CurrentReference(m *gemma3n.Model, a *lora.Adapter, reference string) (train.LogitsFn, error) {
	if m == nil || a == nil || a.Model() != m {
		return nil, fmt.Errorf("dpo: CurrentReference needs a model and an adapter installed on it")
	}
	switch reference {
	case ReferenceBase:
		return baseLogits(m, a), nil
	case ReferenceSFT:
		return Logits(m), nil
	}
	return nil, fmt.Errorf("dpo: unknown reference %q (want %s or %s)", reference, ReferenceSFT, ReferenceBase)
}

func baseLogits(m *gemma3n.Model, a *lora.Adapter) train.LogitsFn {
	return func(scope *model.Scope, ids, mask *Node) *Node {
		var logits *Node
		a.WithBase(scope, ids.Graph(), func() { logits = m.Logits(scope, ids, nil, mask) })
		return logits
	}
}

func frozenLogits(m *gemma3n.Model) train.LogitsFn {
	return func(scope *model.Scope, ids, mask *Node) *Node {
		g := ids.Graph()
		root := scope.Store().RootScope()
		prev := model.GetGraphParamOr(root, g, paramFrozenReference, false)
		root.SetGraphParam(g, paramFrozenReference, true)
		defer root.SetGraphParam(g, paramFrozenReference, prev)
		return m.Logits(scope, ids, nil, mask)
	}
}

// freezeAdapter copies every A and B of a into non-trainable variables of
// the frozen scope and wraps the model's linear function so that, under
// paramFrozenReference, the adapter reads the copies.
func freezeAdapter(m *gemma3n.Model, a *lora.Adapter) error {
	for _, mod := range a.Modules() {
		varA, varB := a.Variables(mod.Name)
		if varA == nil || varB == nil {
			return fmt.Errorf("dpo: adapter variables of %s missing", mod.Name)
		}
		frozen := m.Store.Scope(gemma3n.VariablePath(mod.Name)).At(frozenScope)
		for _, v := range []*model.Variable{varA, varB} {
			value, err := v.Value()
			if err != nil {
				return fmt.Errorf("dpo: freezing %s: %w", v.Path(), err)
			}
			clone, err := value.LocalClone()
			if err != nil {
				return fmt.Errorf("dpo: freezing %s: %w", v.Path(), err)
			}
			if old := frozen.GetVariable(v.Name()); old != nil {
				if err := old.SetValue(clone); err != nil {
					return fmt.Errorf("dpo: freezing %s: %w", v.Path(), err)
				}
				continue
			}
			frozen.VariableWithValue(v.Name(), clone).SetTrainable(false)
		}
	}
	linear := m.Linear
	if linear == nil {
		linear = a.Linear
	}
	// Wrapping twice (a second NewLoRAModel) is harmless: a scope already
	// in the frozen scope stays there.
	m.Linear = func(scope *model.Scope, module string, x, weight *Node) *Node {
		if model.GetGraphParamOr(scope, x.Graph(), paramFrozenReference, false) && path.Base(scope.Scope()) != frozenScope {
			scope = scope.At(frozenScope)
		}
		return linear(scope, module, x, weight)
	}
	return nil
}
