package main

import (
	"encoding/json"
	"fmt"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/tokshrink"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

func init() {
	register("tokenizer-shrink", "derive a compact tokenizer from Gemma's, fitted to the shipped corpus",
		tokenizerShrinkUsage, runTokenizerShrink)
}

const tokenizerShrinkUsage = "--out DIR [--vocab N] [--gzip] [--data-dir DIR] [--json]"

func runTokenizerShrink(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "tokenizer-shrink", tokenizerShrinkUsage,
		"Cut the embedded Gemma 3 tokenizer to N ids: its control and byte tokens plus the tokens most\n"+
			"used by the shipped CounselChat and AnnoMI texts, with the merges that build them. Writes\n"+
			"tokenizer.json, tokenizer_config.json and NOTICE into DIR and prints how well it compresses\n"+
			"the corpus next to Gemma's. With the defaults and --gzip it remakes pkg/tokenizer/assets/tiny.")
	out := fs.String("out", "", "directory to write the tokenizer files into (required)")
	vocab := fs.Int("vocab", tokenizer.TinyVocabSize, "number of ids of the compact tokenizer")
	compress := fs.Bool("gzip", false, "write tokenizer.json.gz and tokenizer_config.json.gz")
	dir := fs.String("data-dir", "", dataDirHelp)
	asJSON := fs.Bool("json", false, "print the statistics as one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("tokenizer-shrink: unexpected argument %q", fs.Arg(0))
	}
	if *out == "" {
		return fmt.Errorf("tokenizer-shrink: --out DIR is required")
	}
	s, err := tokshrink.Shipped(*dir, *vocab)
	if err != nil {
		return err
	}
	if err := s.WriteDir(*out, *compress); err != nil {
		return err
	}
	st := s.Stats
	if *asJSON {
		return json.NewEncoder(ctx.stdout).Encode(struct {
			Dir string `json:"dir"`
			tokshrink.Stats
			BaseTokensPerChar float64 `json:"base_tokens_per_char"`
			TokensPerChar     float64 `json:"tokens_per_char"`
			TokenRatio        float64 `json:"token_ratio"`
		}{*out, st, st.BaseTokensPerChar(), st.TokensPerChar(), st.TokenRatio()})
	}
	fmt.Fprintf(ctx.stdout, "vocabulary  %d ids (base %d; %d leading ids kept in place), %d merges (base %d)\n",
		st.VocabSize, st.BaseVocabSize, st.Fixed, st.Merges, st.BaseMerges)
	fmt.Fprintf(ctx.stdout, "corpus      %d texts, %d characters\n", st.CorpusTexts, st.CorpusChars)
	fmt.Fprintf(ctx.stdout, "base        %d tokens, %.4f per character\n", st.BaseTokens, st.BaseTokensPerChar())
	fmt.Fprintf(ctx.stdout, "compact     %d tokens, %.4f per character (×%.4f)\n", st.Tokens, st.TokensPerChar(), st.TokenRatio())
	fmt.Fprintf(ctx.stdout, "wrote       %s\n", *out)
	return nil
}
