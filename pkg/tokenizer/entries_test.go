package tokenizer

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestEntries(t *testing.T) {
	tok, err := Tiny()
	if err != nil {
		t.Fatal(err)
	}
	entries := tok.Entries()
	if len(entries) != tok.VocabSize() {
		t.Fatalf("%d entries for %d ids", len(entries), tok.VocabSize())
	}
	for _, tc := range []struct {
		text                             string
		added, special, byteTok, unknown bool
		merged                           bool
	}{
		{"<bos>", true, true, false, false, false},
		{"<unk>", true, true, false, true, false},
		{"<start_of_turn>", true, true, false, false, false},
		{"<0x0A>", false, false, true, false, false},
		{"\n\n", true, false, false, false, true},
		{"▁the", false, false, false, false, true},
	} {
		id, ok := tok.TokenToID(tc.text)
		if !ok {
			t.Fatalf("%q is not in the tiny vocabulary", tc.text)
		}
		e := entries[id]
		if e.Text != tc.text || e.Added != tc.added || e.Special != tc.special || e.Byte != tc.byteTok || e.Unknown != tc.unknown || (e.MergeRank >= 0) != tc.merged {
			t.Errorf("%q: %+v", tc.text, e)
		}
	}
}

func TestWriteDefault(t *testing.T) {
	dir := t.TempDir()
	if err := WriteDefault(dir); err != nil {
		t.Fatal(err)
	}
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	def, _ := Default()
	if tok.VocabSize() != def.VocabSize() || tok.EOS() != def.EOS() {
		t.Errorf("written tokenizer: %d ids, eos %d", tok.VocabSize(), tok.EOS())
	}
	notice, err := os.ReadFile(filepath.Join(dir, "NOTICE"))
	if err != nil || !bytes.Equal(notice, []byte(DefaultNotice())) {
		t.Errorf("NOTICE: %v", err)
	}
}
