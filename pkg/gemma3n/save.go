package gemma3n

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
)

// Save writes the model as a Hugging Face checkpoint directory that Load
// (and transformers' Gemma3nForCausalLM) reads: config.json and
// model.safetensors with the "model." prefix, in the model's dtype. Both
// files are written atomically; dir is created if needed.
func (m *Model) Save(dir string) error {
	stDType, ok := safetensors.FromGoMLX(m.DType)
	if !ok {
		return fmt.Errorf("gemma3n: save: dtype %s has no safetensors counterpart", m.DType)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("gemma3n: save: %w", err)
	}
	specs := m.Config.Weights()
	entries := make([]safetensors.Entry, 0, len(specs))
	for _, s := range specs {
		v := m.WeightVariable(s.Name)
		if v == nil {
			return fmt.Errorf("gemma3n: save: weight %q is not in the context", s.Name)
		}
		value, err := v.Value()
		if err != nil {
			return fmt.Errorf("gemma3n: save: weight %q: %w", s.Name, err)
		}
		e, err := safetensors.EntryFromTensor(textPrefix+s.Name, value, stDType)
		if err != nil {
			return fmt.Errorf("gemma3n: save: %w", err)
		}
		entries = append(entries, e)
	}
	if err := safetensors.Write(filepath.Join(dir, safetensors.SingleFileName), entries, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("gemma3n: save: %w", err)
	}
	cfg := m.Config.Clone()
	cfg.TorchDType = map[safetensors.DType]string{safetensors.BF16: "bfloat16", safetensors.F32: "float32"}[stDType]
	data, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("gemma3n: save: %w", err)
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, ConfigFileName), append(data, '\n')); err != nil {
		return fmt.Errorf("gemma3n: save: %w", err)
	}
	return nil
}
