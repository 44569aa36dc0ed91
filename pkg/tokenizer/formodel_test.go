package tokenizer

import (
	"os"
	"path/filepath"
	"testing"
)

func TestForModel(t *testing.T) {
	tiny, err := ForModel("", TinyVocabSize)
	if err != nil {
		t.Fatal(err)
	}
	if tiny.VocabSize() != TinyVocabSize {
		t.Errorf("preset with %d ids got a tokenizer of %d", TinyVocabSize, tiny.VocabSize())
	}
	// A directory's own tokenizer wins over the vocabulary-size rule.
	dir := t.TempDir()
	if err := WriteTiny(dir); err != nil {
		t.Fatal(err)
	}
	own, err := ForModel(dir, 262400)
	if err != nil {
		t.Fatal(err)
	}
	if own.VocabSize() != TinyVocabSize {
		t.Errorf("directory tokenizer not used: vocab %d", own.VocabSize())
	}
	// A broken tokenizer file is an error, not a silent fallback.
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, TokenizerFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ForModel(bad, TinyVocabSize); err == nil {
		t.Error("ForModel accepted a malformed tokenizer.json")
	}
}
