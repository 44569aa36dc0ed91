package tokenizer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ForModel returns the tokenizer that goes with a model: the tokenizer.json
// (or tokenizer.json.gz) of its directory when it has one, else an embedded
// tokenizer chosen by the model's vocabulary size — Tiny for TinyVocabSize
// (the built-in mini and tiny presets), Gemma 3's otherwise. dir may be empty (a
// preset without files).
func ForModel(dir string, vocabSize int) (*Tokenizer, error) {
	if dir != "" {
		for _, name := range []string{TokenizerFile, TokenizerFile + ".gz"} {
			_, err := os.Stat(filepath.Join(dir, name))
			if err == nil {
				return Load(dir)
			}
			if !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("tokenizer: %w", err)
			}
		}
	}
	if vocabSize == TinyVocabSize {
		return Tiny()
	}
	return Default()
}
