package stage

import (
	"fmt"
	"strings"

	"github.com/gomlx/compute/dtypes"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
)

// ParseDType maps a dtype name to the dtype: "float32" (or "f32") and
// "bfloat16" (or "bf16"), in any case. The error reads `dtype "x": want
// float32 or bfloat16`; callers prefix what the name was (a flag, a key).
func ParseDType(name string) (dtypes.DType, error) {
	switch strings.ToLower(name) {
	case config.DTypeFloat32, "f32":
		return dtypes.Float32, nil
	case config.DTypeBFloat16, "bf16":
		return dtypes.BFloat16, nil
	}
	return dtypes.InvalidDType, fmt.Errorf("dtype %q: want float32 or bfloat16", name)
}

// DTypeName is the name ParseDType reads for a model dtype ("bfloat16",
// "float32"); any other dtype, which no flag or configuration names, by
// GoMLX's name for it.
func DTypeName(d dtypes.DType) string {
	switch d {
	case dtypes.BFloat16:
		return config.DTypeBFloat16
	case dtypes.Float32:
		return config.DTypeFloat32
	}
	return d.String()
}

// ModelDType is the dtype the base weights (and activations) of a training
// run are loaded in: bfloat16 when model.dtype is bfloat16 and
// training.bf16 is on, else float32. Adapters and optimizer state are
// float32 either way.
func ModelDType(cfg *config.All) string {
	if cfg.Model.DType == config.DTypeBFloat16 && cfg.Training.BF16 {
		return config.DTypeBFloat16
	}
	return config.DTypeFloat32
}
