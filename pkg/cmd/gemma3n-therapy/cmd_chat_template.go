package main

import (
	"fmt"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/chat"
)

func init() {
	register("chat-template", "render conversations with Gemma's chat template and tokenize them", "[--tokenizer PATH] < in.jsonl", runChatTemplate)
}

func runChatTemplate(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "chat-template", "[--tokenizer PATH] < in.jsonl",
		"Read JSON lines {\"messages\": [{\"role\", \"content\"}...], \"add_generation_prompt\": bool} on stdin and\n"+
			"write {\"text\", \"ids\", \"mask\"} for each, in order: the rendered text (with <bos>), its token ids\n"+
			"and the loss mask (1 on the model turns' content and closing <end_of_turn>).")
	path := fs.String("tokenizer", "", tokenizerHelp)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("chat-template: unexpected argument %q", fs.Arg(0))
	}
	tok, err := loadTokenizer(*path)
	if err != nil {
		return err
	}
	if err := chat.TemplateJSONLines(tok, ctx.stdin, ctx.stdout); err != nil {
		return fmt.Errorf("chat-template: stdin %w", err)
	}
	return nil
}
