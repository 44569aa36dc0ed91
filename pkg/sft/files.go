package sft

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// saveAdapter writes the adapter's current values to dir in PEFT layout,
// atomically as a whole: into a temporary directory next to dir, which then
// replaces dir. A reader never sees a directory with one new and one old file.
func saveAdapter(a *lora.Adapter, dir string) error {
	return replaceDir(dir, a.Save)
}

// replaceDir has write fill a temporary directory next to dir, which then
// replaces dir as a whole.
func replaceDir(dir string, write func(tmp string) error) error {
	parent := filepath.Dir(dir)
	tmp, err := os.MkdirTemp(parent, ".tmp-"+filepath.Base(dir)+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // no-op after the rename
	if err := write(tmp); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(dir); err == nil {
		// rename cannot replace a non-empty directory: move the old one away first.
		old, err := os.MkdirTemp(parent, ".old-"+filepath.Base(dir)+"-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(old)
		if err := os.Rename(dir, filepath.Join(old, "dir")); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	atomicfile.SyncDir(parent)
	return nil
}

// saveCheckpointAdapter writes the adapter values of a training checkpoint
// to dir in PEFT layout. It puts them into the model for the time of the
// save and then restores the values the adapter had.
func saveCheckpointAdapter(a *lora.Adapter, checkpointDir, dir string) (err error) {
	ckpt, err := train.LoadCheckpoint(checkpointDir)
	if err != nil {
		return err
	}
	store := a.Model().Store
	type saved struct {
		v     *model.Variable
		value *tensors.Tensor
	}
	var current []saved
	for _, m := range a.Modules() {
		varA, varB := a.Variables(m.Name)
		for _, v := range []*model.Variable{varA, varB} {
			if v == nil {
				return fmt.Errorf("adapter variables of %s missing from the model", m.Name)
			}
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
	}
	defer func() {
		for _, s := range current {
			if setErr := s.v.SetValue(s.value); setErr != nil && err == nil {
				err = fmt.Errorf("restoring %s: %w", s.v.Path(), setErr)
			}
		}
	}()
	if err := ckpt.Restore(store, true); err != nil {
		return err
	}
	return saveAdapter(a, dir)
}
