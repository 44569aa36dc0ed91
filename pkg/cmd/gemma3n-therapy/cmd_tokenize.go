package main

import (
	"fmt"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

func init() {
	register("tokenize", "encode JSON lines of text to token ids", "[--tokenizer PATH] [--bos] < in.jsonl", runTokenize)
}

const tokenizerHelp = "tokenizer.json, or a model directory holding it (default: the embedded Gemma 3 tokenizer)"

func runTokenize(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "tokenize", "[--tokenizer PATH] [--bos] < in.jsonl",
		"Read JSON lines {\"text\": \"...\"} on stdin and write {\"ids\": [...]} for each, in order.")
	path := fs.String("tokenizer", "", tokenizerHelp)
	bos := fs.Bool("bos", false, "start every sequence with <bos>")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("tokenize: unexpected argument %q", fs.Arg(0))
	}
	tok, err := loadTokenizer(*path)
	if err != nil {
		return err
	}
	if err := tok.EncodeJSONLines(ctx.stdin, ctx.stdout, *bos); err != nil {
		return fmt.Errorf("tokenize: stdin %w", err)
	}
	return nil
}

// loadTokenizer loads the tokenizer at path, or the embedded one.
func loadTokenizer(path string) (*tokenizer.Tokenizer, error) {
	if path == "" {
		return tokenizer.Default()
	}
	return tokenizer.Load(path)
}
