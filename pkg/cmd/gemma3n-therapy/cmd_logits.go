package main

import (
	"errors"
	"fmt"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/backend"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
)

func init() {
	register("logits", "write a model's logits and loss for token ids", logitsUsage, runLogits)
}

const (
	logitsUsage = "--model DIR|tiny [--adapter DIR] --ids FILE.json --out FILE.safetensors [--backend CONFIG]"
	modelHelp   = "Gemma 3n checkpoint directory (config.json + safetensors), or a preset: mini (the embedded pretrained default), tiny (random weights), e2b (random weights)"
	backendHelp = `GoMLX backend: "go" or "xla:/abs/path/plugin.so" (default $GOMLX_BACKEND, else go)`
)

func runLogits(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "logits", logitsUsage,
		"Run the model in float32 on {\"input_ids\": [[...], ...]} (rows of equal length) and write a safetensors\n"+
			"file with float32 \"logits\" [B,T,V] and \"loss\" [1], the mean next-token cross-entropy with the ids as labels.")
	model := fs.String("model", "", modelHelp)
	idsPath := fs.String("ids", "", "JSON file {\"input_ids\": [[...], ...]}")
	outPath := fs.String("out", "", "output .safetensors file (written atomically)")
	adapterDir := fs.String("adapter", "", "PEFT LoRA adapter directory to apply on top of --model")
	backendFlag := fs.String("backend", "", backendHelp)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("logits: unexpected argument %q", fs.Arg(0))
	}
	if *model == "" || *idsPath == "" || *outPath == "" {
		return errors.New("logits: --model, --ids and --out are required")
	}
	b, err := backend.New(*backendFlag)
	if err != nil {
		return fmt.Errorf("logits: %w", err)
	}
	m, err := openModel(ctx, *model, *adapterDir, dtypes.Float32)
	if err != nil {
		return fmt.Errorf("logits: %w", err)
	}
	ids, err := gemma3n.ReadInputIDs(*idsPath, m.Config.VocabSize, true)
	if err != nil {
		return fmt.Errorf("logits: %w", err)
	}
	logits, loss, err := m.Score(b, ids)
	if err != nil {
		return fmt.Errorf("logits: %w", err)
	}
	logitsEntry, err := safetensors.EntryFromTensor("logits", logits, safetensors.F32)
	if err != nil {
		return fmt.Errorf("logits: %w", err)
	}
	lossEntry, err := safetensors.EntryFromTensor("loss", tensors.FromValue([]float32{loss}), safetensors.F32)
	if err != nil {
		return fmt.Errorf("logits: %w", err)
	}
	if err := safetensors.Write(*outPath, []safetensors.Entry{logitsEntry, lossEntry}, nil); err != nil {
		return fmt.Errorf("logits: %w", err)
	}
	fmt.Fprintf(ctx.stdout, "wrote %s: logits %v, loss %.6f\n", *outPath, logits.Shape().Dimensions, loss)
	return nil
}
