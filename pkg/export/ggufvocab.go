package export

import (
	"fmt"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

// SentencePiece token types, as GGUF's tokenizer.ggml.token_type holds them.
const (
	tokNormal      int32 = 1
	tokUnknown     int32 = 2
	tokControl     int32 = 3
	tokUserDefined int32 = 4
	tokUnused      int32 = 5
	tokByte        int32 = 6
)

// ggufVocab is the vocabulary as GGUF's "llama" (SentencePiece) tokenizer
// model holds it.
type ggufVocab struct {
	tokens []string
	scores []float32
	types  []int32
}

// buildVocab turns the project's tokenizer (Hugging Face BPE with byte
// fallback) into llama.cpp's SentencePiece vocabulary for a model of
// vocabSize rows, so that llama.cpp's tokenizer gives the project's ids:
//
//   - llama.cpp's SPM merges adjacent symbols by the score of the merged
//     token, highest first, leftmost on ties; Hugging Face's BPE applies
//     the merge of lowest rank. A token's score is minus the rank of the
//     first merge that produces it, so both choose the same merge.
//   - Added tokens score -1000, as the converter gives them; special ones
//     are CONTROL (matched only when parsing specials), the others
//     USER_DEFINED (always matched first, like Hugging Face's added tokens),
//     with "▁" written as a space as the converter does, since llama.cpp
//     matches them in the raw text (Gemma's runs of spaces).
//   - <0xNN> tokens are BYTE, <unk> UNKNOWN; ids past the tokenizer's
//     (E2B's multimodal slots) are "[PADn]" of type UNUSED, as the
//     converter pads them.
func buildVocab(tok *tokenizer.Tokenizer, vocabSize int) (*ggufVocab, error) {
	entries := tok.Entries()
	if len(entries) > vocabSize {
		return nil, fmt.Errorf("the tokenizer (%s) has %d ids, the model's embedding %d rows", tok.Name(), len(entries), vocabSize)
	}
	v := &ggufVocab{tokens: make([]string, vocabSize), scores: make([]float32, vocabSize), types: make([]int32, vocabSize)}
	for id := range vocabSize {
		if id >= len(entries) || entries[id].Text == "" {
			v.tokens[id], v.scores[id], v.types[id] = fmt.Sprintf("[PAD%d]", id), -1000, tokUnused
			continue
		}
		e := entries[id]
		v.tokens[id] = e.Text
		switch {
		case e.Added:
			v.scores[id] = -1000
		case e.MergeRank >= 0:
			v.scores[id] = -float32(e.MergeRank)
		}
		switch {
		case e.Unknown:
			v.types[id] = tokUnknown
		case e.Byte:
			v.types[id] = tokByte
		case e.Added && e.Special:
			v.types[id] = tokControl
		case e.Added:
			v.types[id] = tokUserDefined
			v.tokens[id] = strings.ReplaceAll(e.Text, "▁", " ")
		default:
			v.types[id] = tokNormal
		}
	}
	return v, nil
}
