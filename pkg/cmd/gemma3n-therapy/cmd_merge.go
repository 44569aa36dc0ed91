package main

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/curriculum"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/export"
)

func init() {
	register("merge", "merge a LoRA adapter into its base model and export a Hugging Face model directory", mergeUsage, runMerge)
}

const mergeUsage = "--model M --adapter ADAPTER_DIR --out DIR [--text-only] [--test-generation] [--verify] [--dtype float32|bfloat16]"

func runMerge(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "merge", mergeUsage,
		"Write the base model with the adapter merged into its weights (W + s·B·A) as a deployment-ready Hugging Face\n"+
			"model directory. From the official multimodal checkpoint it keeps that layout (Gemma3nForConditionalGeneration,\n"+
			"model.language_model.* names, vision and audio towers and the K/V of KV-shared layers byte for byte, same\n"+
			"shards and index), which Ollama, llama.cpp's converter and vLLM load; --text-only writes the text decoder\n"+
			"alone as Gemma3nForCausalLM. Tensors stream one at a time. config.json, generation_config.json, tokenizer\n"+
			"files (the embedded tokenizer when the base has none) and merge_info.json come along. DIR must not exist or\n"+
			"be empty. The last line of stdout is DIR.")
	var o export.MergeOptions
	fs.StringVar(&o.Model, "model", "", "base model: the preset tiny, a checkpoint directory or a Hugging Face repo id (required)")
	fs.StringVar(&o.Adapter, "adapter", "", "PEFT adapter directory (adapter_config.json + adapter_model.safetensors) (required)")
	fs.StringVar(&o.Out, "out", "", "output model directory (required)")
	fs.StringVar(&o.DType, "dtype", "", "dtype of a preset's merged weights: float32 (default) or bfloat16; a checkpoint keeps its own")
	fs.BoolVar(&o.TextOnly, "text-only", false, "write the text decoder alone (Gemma3nForCausalLM, model.* names) even from the multimodal checkpoint")
	fs.BoolVar(&o.Verify, "verify", false, "reload the merged model and check its logits against the base model with the adapter")
	testGen := fs.Bool("test-generation", false, "print the merged model's reply to a sample client message")
	message := fs.String("message", curriculum.SampleClientMessage, "client message of --test-generation")
	maxNew := fs.Int("max-new-tokens", 48, "tokens generated at most by --test-generation")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("merge: unexpected argument %q", fs.Arg(0))
	}
	if o.Model == "" || o.Adapter == "" || o.Out == "" {
		return errors.New("merge: --model, --adapter and --out are required")
	}
	if *testGen && *maxNew < 1 {
		return errors.New("merge: --max-new-tokens must be ≥ 1")
	}
	o.Logger = slog.New(slog.NewTextHandler(ctx.stderr, nil))
	runCtx, stop := stopContext()
	defer stop()
	res, err := export.Merge(runCtx, o)
	if err != nil {
		return signalled(runCtx, "merge", err)
	}
	w := ctx.stdout
	fmt.Fprintf(w, "merged %d of %d tensors (%s, %s, %s) into %d file(s)\n", res.MergedTensors, res.Tensors, res.DType, res.Architecture, res.Layout, res.Shards)
	fmt.Fprintf(w, "tokenizer: %s\n", res.Tokenizer)
	if res.MaxLogitDiff != nil {
		fmt.Fprintf(w, "verified: reloaded logits within %.3g of the adapter model's\n", *res.MaxLogitDiff)
	}
	if *testGen {
		reply, err := curriculum.SampleReply(res.Dir, *message, *maxNew, nil)
		if err != nil {
			return fmt.Errorf("merge: test generation: %w", err)
		}
		fmt.Fprintf(w, "client: %s\ncounsellor: %s\n", *message, reply.Text)
		if !reply.Stopped {
			fmt.Fprintf(w, "(cut at %d tokens)\n", *maxNew)
		}
	}
	fmt.Fprintln(w, res.Dir)
	return nil
}
