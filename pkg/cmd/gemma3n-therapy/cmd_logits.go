package main

import (
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/backend"
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
	if info, err := os.Stat(*outPath); err == nil && info.IsDir() {
		return fmt.Errorf("logits: --out %s is a directory; give the path of the .safetensors file to write", *outPath)
	}
	b, err := backend.New(*backendFlag)
	if err != nil {
		return fmt.Errorf("logits: %w", err)
	}
	m, err := openModel(ctx, b, *model, *adapterDir, dtypes.Float32)
	if err != nil {
		return fmt.Errorf("logits: %w", err)
	}
	ids, err := readInputIDs(*idsPath, m.Config.VocabSize, true)
	if err != nil {
		return fmt.Errorf("logits: %w", err)
	}
	if err := checkContext(m.Config, "input_ids", ids, 0); err != nil {
		return fmt.Errorf("logits: %s: %w", *idsPath, err)
	}
	logits, loss, err := m.Score(b, ids)
	if err != nil {
		return fmt.Errorf("logits: %w", err)
	}
	if i, what := firstNonFinite(logits); i >= 0 || math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
		where := fmt.Sprintf("the loss is %v", loss)
		if i >= 0 {
			dims := logits.Shape().Dimensions // [B, T, V]
			v, t := dims[2], dims[1]
			where = fmt.Sprintf("the logits are not finite: row %d, position %d, token id %d is %s", i/(t*v)+1, i/v%t+1, i%v, what)
		}
		return fmt.Errorf("logits: %s; %s (nothing was written)", where, nonFiniteCause(b, m, ids))
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
