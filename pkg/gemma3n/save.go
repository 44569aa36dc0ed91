package gemma3n

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gomlx/compute/dtypes"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
)

// Save writes the model as a Hugging Face checkpoint directory that Load
// (and transformers' Gemma3nForCausalLM) reads: config.json and
// model.safetensors with the "model." prefix, in the model's dtype. Both
// files are written atomically; dir is created if needed.
func (m *Model) Save(dir string) error {
	return m.SaveAs(dir, m.DType)
}

// SaveAs is Save with the weights written in dtype (Float32 or BFloat16),
// converted from the model's own (e.g. float32 master weights saved in
// bfloat16, rounded to nearest even).
func (m *Model) SaveAs(dir string, dtype dtypes.DType) error {
	stDType, ok := safetensors.FromGoMLX(dtype)
	if !ok || (dtype != dtypes.Float32 && dtype != dtypes.BFloat16) {
		return fmt.Errorf("gemma3n: save: dtype %s: want float32 or bfloat16", dtype)
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
