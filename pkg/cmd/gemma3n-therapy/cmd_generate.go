package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/dtypes"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/backend"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
)

func init() {
	register("generate", "continue token ids with a model (greedy or sampled)", generateUsage, runGenerate)
}

const generateUsage = "--model DIR|tiny --ids FILE.json --max-new-tokens N [--greedy | --temperature T [--top-k K] [--top-p P] [--seed S]] [--repetition-penalty R] [--backend CONFIG]"

func runGenerate(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "generate", generateUsage,
		"Continue each row of {\"input_ids\": [[...], ...]} (rows may differ in length; they are decoded as one\n"+
			"left-padded batch) and print {\"ids\": [[prompt + continuation], ...]}. Decoding stops at the model's\n"+
			"end-of-sequence ids (kept in the output) or after --max-new-tokens.")
	model := fs.String("model", "", modelHelp)
	idsPath := fs.String("ids", "", "JSON file {\"input_ids\": [[...], ...]}")
	maxNew := fs.Int("max-new-tokens", 0, "maximum number of tokens to generate per row (required)")
	minNew := fs.Int("min-new-tokens", 0, "suppress the stop ids for this many tokens")
	greedy := fs.Bool("greedy", false, "greedy decoding (the default when --temperature is 0)")
	temperature := fs.Float64("temperature", 0, "sampling temperature (0: greedy)")
	topK := fs.Int("top-k", 0, "sample among the K most likely tokens (0: all)")
	topP := fs.Float64("top-p", 0, "nucleus sampling probability mass (0 or 1: all)")
	penalty := fs.Float64("repetition-penalty", 0, "penalty > 1 for tokens already in the sequence (0 or 1: none)")
	seed := fs.Uint64("seed", 0, "random seed for sampling")
	dtypeName := fs.String("dtype", "float32", "weight and activation dtype: float32 or bfloat16")
	backendFlag := fs.String("backend", "", backendHelp)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("generate: unexpected argument %q", fs.Arg(0))
	}
	if *model == "" || *idsPath == "" {
		return errors.New("generate: --model and --ids are required")
	}
	if *maxNew <= 0 {
		return errors.New("generate: --max-new-tokens must be positive")
	}
	if *greedy && (*temperature != 0 || *topK != 0 || *topP != 0) {
		return errors.New("generate: --greedy excludes --temperature, --top-k and --top-p")
	}
	if *temperature == 0 && (*topK != 0 || *topP != 0) {
		return errors.New("generate: --top-k and --top-p need --temperature > 0")
	}
	dtype, err := parseModelDType(*dtypeName)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	b, err := backend.New(*backendFlag)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	m, err := gemma3n.Open(*model, dtype)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	prompts, err := gemma3n.ReadInputIDs(*idsPath, m.Config.VocabSize, false)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	out, err := m.Generate(b, prompts, gemma3n.GenerateOptions{
		MaxNewTokens: *maxNew,
		MinNewTokens: *minNew,
		SamplingOptions: gemma3n.SamplingOptions{
			Temperature: *temperature, TopK: *topK, TopP: *topP, RepetitionPenalty: *penalty,
		},
		Seed: *seed,
	})
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	rows := make([][]int32, len(prompts))
	for i := range prompts {
		rows[i] = slices.Concat(prompts[i], out[i])
	}
	data, err := json.Marshal(map[string][][]int32{"ids": rows})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(ctx.stdout, "%s\n", data)
	return err
}

// parseModelDType maps a --dtype flag to the model dtype.
func parseModelDType(name string) (dtypes.DType, error) {
	switch name {
	case "float32", "f32":
		return dtypes.Float32, nil
	case "bfloat16", "bf16":
		return dtypes.BFloat16, nil
	}
	return dtypes.InvalidDType, fmt.Errorf("--dtype %q: want float32 or bfloat16", name)
}
