package tokenizer

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
)

// Tests of the embedded tiny tokenizer (made by the shrinker of
// pkg/internal/tokshrink, whose own tests check it is up to date).

func tinyTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	tok, err := Tiny()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestTinyControlTokens checks that the control tokens, the newline, the
// byte tokens and the configuration are Gemma's.
func TestTinyControlTokens(t *testing.T) {
	tiny, gemma := tinyTokenizer(t), defaultTokenizer(t)
	if tiny.VocabSize() != TinyVocabSize {
		t.Fatalf("VocabSize = %d, want %d", tiny.VocabSize(), TinyVocabSize)
	}
	for _, c := range []struct {
		name      string
		got, want int32
	}{
		{"bos", tiny.BOS(), 2}, {"eos", tiny.EOS(), 106}, {"pad", tiny.PAD(), 0}, {"unk", tiny.UNK(), 3},
		{"start_of_turn", tiny.StartOfTurn(), 105}, {"end_of_turn", tiny.EndOfTurn(), 106},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	for id := int32(0); id < 494; id++ {
		if tiny.IDToToken(id) != gemma.IDToToken(id) || tiny.IsSpecial(id) != gemma.IsSpecial(id) {
			t.Errorf("id %d: tiny %q (special %t), Gemma %q (special %t)", id,
				tiny.IDToToken(id), tiny.IsSpecial(id), gemma.IDToToken(id), gemma.IsSpecial(id))
		}
	}
	for _, tok := range []string{"<start_of_image>", "<end_of_image>", "<image_soft_token>"} {
		if id, ok := tiny.TokenToID(tok); !ok || !tiny.IsSpecial(id) {
			t.Errorf("%s: id %d, %t", tok, id, ok)
		}
	}
	text := "<bos><start_of_turn>user\nI feel anxious.<end_of_turn>\n<start_of_turn>model\n"
	ids := tiny.Encode(text)
	if !slices.Equal(ids[:4], []int32{2, 105, tiny.idOf("user"), 107}) || ids[len(ids)-1] != 107 || len(ids) > 14 {
		t.Errorf("Encode(%q) = %v", text, ids)
	}
	if tiny.ChatTemplate() != gemma.ChatTemplate() || tiny.ChatTemplate() == "" || !tiny.AddsBOS() {
		t.Error("chat template or add_bos_token differs from Gemma's")
	}
	if !strings.Contains(TinyNotice(), "Gemma Terms of Use") {
		t.Error("NOTICE lacks the Gemma Terms of Use")
	}
}

// TestTinyOnCorpus encodes the shipped corpus: every id is in range, every
// text decodes back, and every kept token is built by the kept merges.
func TestTinyOnCorpus(t *testing.T) {
	tiny := tinyTokenizer(t)
	texts := corpusTexts(t)
	for i, ids := range tiny.EncodeBatch(texts) {
		for _, id := range ids {
			if id < 0 || id >= TinyVocabSize {
				t.Fatalf("text %d: id %d out of range", i, id)
			}
		}
		if got, want := tiny.Decode(ids, false), strings.ReplaceAll(texts[i], spaceMark, " "); got != want {
			t.Fatalf("text %d: Decode(Encode(%.60q)) = %.60q", i, texts[i], got)
		}
	}
	for id := int32(494); id < TinyVocabSize; id++ {
		tok := tiny.IDToToken(id)
		if _, added := tiny.addedIDs[tok]; added {
			continue
		}
		if final, _ := tiny.model.trace([]byte(tok)); !slices.Equal(final, []int32{id}) {
			t.Errorf("token %d %q is not built by the kept merges: BPE gives %v", id, tok, final)
		}
	}
}

// TestTinyCutsLikeGemma checks the shrinker's promise on the corpus's
// words: a word whose Gemma tokens were all kept is cut exactly as Gemma
// cuts it.
func TestTinyCutsLikeGemma(t *testing.T) {
	tiny, gemma := tinyTokenizer(t), defaultTokenizer(t)
	count := map[string]int{}
	var words []string
	for _, text := range corpusTexts(t) {
		for _, w := range strings.Fields(text) {
			w = " " + w
			if count[w] == 0 {
				words = append(words, w)
			}
			count[w]++
		}
	}
	covered, all := 0, 0
	tinyIDs, gemmaIDs := tiny.EncodeBatch(words), gemma.EncodeBatch(words)
	for i, w := range words {
		all += count[w]
		mapped := make([]int32, 0, len(gemmaIDs[i]))
		for _, id := range gemmaIDs[i] {
			if tid, ok := tiny.TokenToID(gemma.IDToToken(id)); ok {
				mapped = append(mapped, tid)
			}
		}
		if len(mapped) < len(gemmaIDs[i]) {
			continue
		}
		covered += count[w]
		if !slices.Equal(tinyIDs[i], mapped) {
			t.Errorf("%q: tiny %v, Gemma's tokens %v", w, tinyIDs[i], mapped)
		}
	}
	t.Logf("%d of %d words of the corpus (%d distinct) keep Gemma's tokens", covered, all, len(words))
	if covered < all*9/10 {
		t.Errorf("only %d of %d words are covered", covered, all)
	}
}

func TestWriteTiny(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "model")
	if err := WriteTiny(dir); err != nil {
		t.Fatal(err)
	}
	testutil.WantFiles(t, dir, TokenizerFile, TokenizerConfigFile, "NOTICE")
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	tiny := tinyTokenizer(t)
	text := "<start_of_turn>model\nThat sounds hard.<end_of_turn>\n"
	if tok.VocabSize() != TinyVocabSize || !slices.Equal(tok.Encode(text), tiny.Encode(text)) || tok.EOS() != tiny.EOS() ||
		tok.ChatTemplate() != tiny.ChatTemplate() {
		t.Error("the written files differ from the embedded tokenizer")
	}
}

func FuzzTinyRoundTrip(f *testing.F) {
	for _, c := range loadGoldens(f) {
		f.Add(c.Text)
	}
	for _, s := range []string{"", " ", "  a  ", "\t\t x", "a>▁</b", "<start_of_image>x<bos>", "é\u0301", "👩‍👩‍👧",
		"\x00\x01", "\r\n", "日本語のテキスト", "▁▁ ▁", "schizophrenia counsellor", strings.Repeat("ab ", 50)} {
		f.Add(s)
	}
	tiny := tinyTokenizer(f)
	plain, err := Parse("tiny, whole-text BPE", tinyTokenizerJSON, tinyConfigJSON)
	if err != nil {
		f.Fatal(err)
	}
	plain.noCache, plain.model.chunking = true, false
	f.Fuzz(func(t *testing.T, s string) {
		ids := tiny.Encode(s)
		for _, id := range ids {
			if id < 0 || id >= TinyVocabSize {
				t.Fatalf("Encode(%q): id %d out of range", s, id)
			}
		}
		if !utf8.ValidString(s) {
			return
		}
		if got, want := tiny.Decode(ids, false), strings.ReplaceAll(s, spaceMark, " "); got != want {
			t.Fatalf("Decode(Encode(%q)) = %q", s, got)
		}
		if p := plain.Encode(s); !slices.Equal(ids, p) {
			t.Fatalf("Encode(%q) = %v, whole-text BPE gives %v", s, ids, p)
		}
	})
}

func BenchmarkTinyLoad(b *testing.B) {
	for b.Loop() {
		if _, err := Parse(TinyName, tinyTokenizerJSON, tinyConfigJSON); err != nil {
			b.Fatal(err)
		}
	}
}
