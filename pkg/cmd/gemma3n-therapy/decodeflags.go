package main

import (
	"flag"
	"fmt"

	"github.com/gomlx/compute"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/backend"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
)

// decodeFlags are the flags chat and generate share: the model, its adapter
// and dtype, the backend, sampling, and the safety gate.
type decodeFlags struct {
	model, adapter, dtype, backend, safetyConfig *string
	temperature, topP, penalty                   *float64
	topK                                         *int
	seed                                         *uint64
	noGate                                       *bool
}

func addDecodeFlags(fs *flag.FlagSet) *decodeFlags {
	return &decodeFlags{
		model:        fs.String("model", gemma3n.MiniName, modelHelp),
		adapter:      fs.String("adapter", "", "PEFT LoRA adapter directory to apply on top of --model"),
		temperature:  fs.Float64("temperature", 0, "sampling temperature (0: greedy)"),
		topK:         fs.Int("top-k", 0, "sample among the K most likely tokens (0: all)"),
		topP:         fs.Float64("top-p", 0, "nucleus sampling probability mass (0 or 1: all)"),
		penalty:      fs.Float64("repetition-penalty", 0, "penalty > 1 for tokens already in the sequence (0 or 1: none)"),
		seed:         fs.Uint64("seed", 0, "random seed for sampling"),
		dtype:        fs.String("dtype", "float32", "weight and activation dtype: float32 or bfloat16"),
		backend:      fs.String("backend", "", backendHelp),
		noGate:       fs.Bool("no-safety-gate", false, noGateHelp),
		safetyConfig: fs.String("safety-config", "", safetyConfigHelp),
	}
}

// sampling is the sampling the flags ask for (zero: greedy).
func (f *decodeFlags) sampling() gemma3n.SamplingOptions {
	return gemma3n.SamplingOptions{Temperature: *f.temperature, TopK: *f.topK, TopP: *f.topP, RepetitionPenalty: *f.penalty}
}

// checkSampling refuses --top-k and --top-p without a temperature.
func (f *decodeFlags) checkSampling(cmd string) error {
	if *f.temperature == 0 && (*f.topK != 0 || *f.topP != 0) {
		return fmt.Errorf("%s: --top-k and --top-p need --temperature > 0", cmd)
	}
	return nil
}

// load creates the backend and opens the model in the flags' dtype with
// the adapter applied (openModel).
func (f *decodeFlags) load(ctx *runContext) (compute.Backend, *gemma3n.Model, error) {
	dtype, err := parseModelDType(*f.dtype)
	if err != nil {
		return nil, nil, err
	}
	b, err := backend.New(*f.backend)
	if err != nil {
		return nil, nil, err
	}
	m, err := openModel(ctx, b, *f.model, *f.adapter, dtype)
	if err != nil {
		return nil, nil, err
	}
	return b, m, nil
}
