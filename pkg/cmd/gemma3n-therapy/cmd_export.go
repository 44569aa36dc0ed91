package main

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/export"
)

func init() {
	register("export gguf", "write a GGUF file for llama.cpp and Ollama (with --ollama, a Modelfile)", exportGGUFUsage, runExportGGUF)
}

const exportGGUFUsage = "--model DIR|PRESET [--adapter DIR] --out F.gguf [--type f32|f16|bf16|q8_0] [--ollama] [--vocab-only] [--name NAME]"

func runExportGGUF(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "export gguf", exportGGUFUsage,
		"Write the text model as a GGUF v3 file of architecture gemma3n, laid out as llama.cpp's convert_hf_to_gguf.py\n"+
			"writes it (hyperparameters, tensor names and types, the stacked AltUp projections, the Gemma vocabulary with\n"+
			"scores and token types, special ids, add-BOS, the chat template), so that llama.cpp and Ollama load it.\n"+
			"--adapter merges a LoRA adapter on the way. Tensors stream one at a time; progress goes to stderr.\n"+
			"With --ollama a NAME.Modelfile beside F.gguf gives Ollama the Gemma 3n turn template, the stop tokens\n"+
			"and the project's safety disclaimer as the system prompt. The last line of stdout is F.gguf.")
	var o export.GGUFOptions
	fs.StringVar(&o.Model, "model", "", "a checkpoint directory (official, merged or text-only), a Hugging Face repo id or a preset (required)")
	fs.StringVar(&o.Adapter, "adapter", "", "PEFT adapter directory to merge on the way")
	fs.StringVar(&o.Out, "out", "", "the .gguf file to write (required)")
	fs.StringVar(&o.Type, "type", "f16", "type of the weight matrices: "+strings.Join(export.GGUFTypes(), ", ")+" (norms and AltUp coefficients stay f32)")
	fs.BoolVar(&o.Ollama, "ollama", false, "also write an Ollama Modelfile beside the GGUF file")
	fs.BoolVar(&o.VocabOnly, "vocab-only", false, "write the metadata and vocabulary only (for tokenizing)")
	fs.StringVar(&o.Name, "name", "", "general.name of the file (default: the model directory's name)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("export gguf: unexpected argument %q", fs.Arg(0))
	}
	if o.Model == "" || o.Out == "" {
		return errors.New("export gguf: --model and --out are required")
	}
	o.Logger = slog.New(slog.NewTextHandler(ctx.stderr, nil))
	runCtx, stop := stopContext()
	defer stop()
	res, err := export.ExportGGUF(runCtx, o)
	if err != nil {
		return signalled(runCtx, "export gguf", err)
	}
	w := ctx.stdout
	var types []string
	for t, n := range res.TensorTypes {
		types = append(types, fmt.Sprintf("%d %s", n, t))
	}
	sort.Strings(types)
	fmt.Fprintf(w, "wrote %d tensors (%s), %d tokens, %.2f GB in %.1f s\n", res.Tensors, strings.Join(types, ", "), res.VocabSize, float64(res.Bytes)/1e9, res.Seconds)
	for _, warning := range res.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warning)
	}
	if res.Modelfile != "" {
		fmt.Fprintf(w, "Modelfile: %s\n", res.Modelfile)
	}
	fmt.Fprintln(w, res.Path)
	return nil
}
