package export

import (
	"github.com/gomlx/compute/dtypes"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
)

// savePreset writes a preset's float32 model (random weights of seed 0,
// as gemma3n.Open builds it), with an adapter merged when one is given,
// as a checkpoint directory. Presets are small or synthetic; a real model
// comes from a checkpoint, which the exports stream.
func savePreset(preset, adapter, dir string) error {
	m, err := gemma3n.Open(preset, dtypes.Float32)
	if err != nil {
		return err
	}
	if adapter != "" {
		a, err := lora.Load(m, adapter)
		if err != nil {
			return err
		}
		if m, err = a.Merge(); err != nil {
			return err
		}
	}
	return m.Save(dir)
}
