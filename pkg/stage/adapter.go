package stage

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// NewAdapter installs a fresh adapter of lora_config.yaml (cfg.LoRA,
// seeded with training.seed) on m; base names the base model in the
// adapter's PEFT configuration.
func NewAdapter(m *gemma3n.Model, cfg *config.All, base string) (*lora.Adapter, error) {
	l := cfg.LoRA
	return lora.New(m, lora.Config{
		R: l.R, Alpha: l.Alpha, Dropout: l.Dropout, TargetModules: slices.Clone(l.TargetModules), UseRSLoRA: l.UseRSLoRA,
		BaseModelNameOrPath: base, Seed: uint64(cfg.Training.Seed),
	})
}

// SaveAdapter writes the adapter's current values to dir in PEFT layout,
// atomically as a whole: into a temporary directory next to dir, which then
// replaces dir. A reader never sees a directory with one new and one old file.
func SaveAdapter(a *lora.Adapter, dir string) error {
	return atomicfile.ReplaceDir(dir, a.Save)
}

// SaveCheckpointAdapter writes the adapter values of a training checkpoint
// (e.g. train.Result.BestCheckpoint) to dir in PEFT layout (SaveAdapter).
// It puts them into the model for the time of the save and then restores
// the values the adapter had, so the model keeps its current adapter.
func SaveCheckpointAdapter(a *lora.Adapter, checkpointDir, dir string) (err error) {
	ckpt, err := train.LoadCheckpoint(checkpointDir)
	if err != nil {
		return err
	}
	var vars []*model.Variable
	for _, m := range a.Modules() {
		varA, varB := a.Variables(m.Name)
		for _, v := range []*model.Variable{varA, varB} {
			if v == nil {
				return fmt.Errorf("adapter variables of %s missing from the model", m.Name)
			}
			vars = append(vars, v)
		}
	}
	return WithCheckpointValues(ckpt, checkpointDir, vars, func() error {
		if err := ckpt.Restore(a.Model().Store, true); err != nil {
			return err
		}
		return SaveAdapter(a, dir)
	})
}

// WithCheckpointValues runs fn, which puts values of ckpt (loaded from
// checkpointDir, named in errors) into the variables vars, and restores the
// values vars had before, whatever fn returns. Each of vars must have a
// value in ckpt.
func WithCheckpointValues(ckpt *train.Checkpoint, checkpointDir string, vars []*model.Variable, fn func() error) (err error) {
	type saved struct {
		v     *model.Variable
		value *tensors.Tensor
	}
	current := make([]saved, 0, len(vars))
	for _, v := range vars {
		if _, ok := ckpt.Variables[v.Path()]; !ok {
			return fmt.Errorf("checkpoint %s has no value for %s", checkpointDir, v.Path())
		}
		value, err := v.Value()
		if err != nil {
			return err
		}
		clone, err := value.LocalClone()
		if err != nil {
			return err
		}
		current = append(current, saved{v, clone})
	}
	defer func() {
		for _, s := range current {
			if setErr := s.v.SetValue(s.value); setErr != nil && err == nil {
				err = fmt.Errorf("restoring %s: %w", s.v.Path(), setErr)
			}
		}
	}()
	return fn()
}
