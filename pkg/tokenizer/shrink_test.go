package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

func tinyTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	tok, err := Tiny()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func gunzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	out, err := maybeGunzip("test", data)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTinyIsUpToDate checks that the embedded tiny tokenizer is what
// ShrinkShipped makes now from the shipped data (so it can be remade with
// go generate), and reports its compression next to Gemma's.
func TestTinyIsUpToDate(t *testing.T) {
	s, err := ShrinkShipped("../../datasets", TinyVocabSize)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.TokenizerJSON, gunzipped(t, tinyTokenizerJSON)) ||
		!bytes.Equal(s.ConfigJSON, gunzipped(t, tinyConfigJSON)) || s.Notice != tinyNotice {
		t.Fatal("assets/tiny differs from what ShrinkShipped makes: run 'go generate ./pkg/tokenizer'")
	}
	st := s.Stats
	t.Logf("corpus: %d texts, %d characters; Gemma %d tokens (%.4f/char), tiny %d tokens (%.4f/char): ×%.4f; %d texts cut identically",
		st.CorpusTexts, st.CorpusChars, st.BaseTokens, st.BaseTokensPerChar(), st.Tokens, st.TokensPerChar(), st.TokenRatio(), st.IdenticalTexts)
	if st.VocabSize != TinyVocabSize || st.Fixed != 494 || st.BaseVocabSize != 262145 {
		t.Errorf("stats: %+v", st)
	}
	// A guard on quality: 8k tokens fitted to the corpus should cost
	// little more than Gemma's 262k on that corpus.
	if r := st.TokenRatio(); r < 1 || r > 1.1 {
		t.Errorf("tiny needs %.3f× Gemma's tokens on the corpus", r)
	}
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

// TestTinyCutsLikeGemma checks the promise of Shrink on the corpus's
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
	for _, name := range []string{TokenizerFile, TokenizerConfigFile, "NOTICE"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
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

var (
	shrinkSmallOnce sync.Once
	shrinkSmall     *Shrunk
	shrinkSmallErr  error
)

// shrinkSmallFixture shrinks Gemma to 1,024 ids on a slice of the corpus.
func shrinkSmallFixture(t *testing.T) (*Shrunk, []string) {
	t.Helper()
	texts := corpusTexts(t)[:300]
	shrinkSmallOnce.Do(func() {
		shrinkSmall, shrinkSmallErr = Shrink(defaultTokenizerJSON, defaultConfigJSON, texts, 1024)
	})
	if shrinkSmallErr != nil {
		t.Fatal(shrinkSmallErr)
	}
	return shrinkSmall, texts
}

func TestShrinkIsDeterministic(t *testing.T) {
	first, texts := shrinkSmallFixture(t)
	again, err := Shrink(defaultTokenizerJSON, defaultConfigJSON, texts, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.TokenizerJSON, again.TokenizerJSON) || !bytes.Equal(first.ConfigJSON, again.ConfigJSON) {
		t.Error("two runs gave different files")
	}
	tok, err := Parse("small", first.TokenizerJSON, first.ConfigJSON)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 1024 || first.Stats.VocabSize != 1024 || tok.EOS() != 106 {
		t.Errorf("VocabSize %d, stats %+v, eos %d", tok.VocabSize(), first.Stats, tok.EOS())
	}
	// Both files are plain JSON that a generic parser accepts.
	for _, doc := range [][]byte{first.TokenizerJSON, first.ConfigJSON} {
		if !json.Valid(doc) {
			t.Error("output is not valid JSON")
		}
	}
	// With 1,024 ids a compact tokenizer still beats bytes by far.
	if r := first.Stats.TokenRatio(); r < 1 || r > 2.5 {
		t.Errorf("token ratio %.3f", r)
	}
}

// TestShrinkFillsFromBase: a corpus too small to fill the vocabulary is
// completed with the base's tokens in id order.
func TestShrinkFillsFromBase(t *testing.T) {
	s, err := Shrink(defaultTokenizerJSON, nil, []string{"Hello there"}, 600)
	if err != nil {
		t.Fatal(err)
	}
	if s.ConfigJSON != nil {
		t.Error("config written without a base config")
	}
	tok, err := Parse("small", s.TokenizerJSON, nil)
	if err != nil {
		t.Fatal(err)
	}
	gemma := defaultTokenizer(t)
	if tok.VocabSize() != 600 {
		t.Fatalf("VocabSize = %d", tok.VocabSize())
	}
	if got := tok.Decode(tok.Encode("Hello there"), false); got != "Hello there" || len(tok.Encode("Hello there")) != 2 {
		t.Errorf("Hello there: %v → %q", tok.Encode("Hello there"), got)
	}
	// The filled tokens come in base order, each with what builds it: the
	// first fill candidate is Gemma's id 494 (after the fixed block).
	if id, ok := tok.TokenToID(gemma.IDToToken(494)); !ok || id < 494 {
		t.Errorf("Gemma's token 494 %q: %d, %t", gemma.IDToToken(494), id, ok)
	}
}

// synthBase is a small tokenizer.json whose <bos> lies outside the leading
// block of added tokens, so that the post-processor's ids must move, with
// byte fallback and an added token with flags.
func synthBase() string {
	vocab := []string{"<pad>", "<eos>", "<unk>", "a", "b", "c", "▁", "ab", "abc", "▁a", "bc", "<bos>", "<tag>", "x", "xx"}
	var b strings.Builder
	b.WriteString(`{"version": "1.0", "truncation": null, "padding": null, "added_tokens": [
	  {"id": 0, "content": "<pad>", "special": true}, {"id": 1, "content": "<eos>", "special": true},
	  {"id": 2, "content": "<unk>", "special": true}, {"id": 11, "content": "<bos>", "special": true},
	  {"id": 12, "content": "<tag>", "special": false, "lstrip": true}],
	"normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
	"pre_tokenizer": null,
	"post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
	  "special_tokens": {"<bos>": {"id": "<bos>", "ids": [11], "tokens": ["<bos>"]}}},
	"decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}]},
	"model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "fuse_unk": true, "byte_fallback": true, "vocab": {`)
	for i, tok := range vocab {
		fmt.Fprintf(&b, "%q: %d, ", tok, i)
	}
	for i := range 256 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `"<0x%02X>": %d`, i, len(vocab)+i)
	}
	b.WriteString(`}, "merges": [["a", "b"], ["ab", "c"], ["▁", "a"], ["b", "c"], ["x", "x"]]}}`)
	return b.String()
}

func TestShrinkSynthetic(t *testing.T) {
	base := synthBase()
	if _, err := Parse("synth", []byte(base), nil); err != nil {
		t.Fatal(err)
	}
	cfg := []byte(`{"bos_token": "<bos>", "eos_token": {"content": "<eos>"}, "chat_template": "{{ '<tag>' }}",
	  "added_tokens_decoder": {"0": {"content": "<pad>", "special": true}, "12": {"content": "<tag>", "special": false, "lstrip": true}}}`)
	// Kept: <pad> <eos> <unk> in place, then <bos> (post-processor,
	// config), <tag> (template) and the 256 bytes: 261 tokens. The corpus
	// cuts to "abc", "▁" ×3 each and "xx" once: "▁" fits, then "abc" with
	// what it is built from ("a", "b", "c", "ab": merges a+b, ab+c), and
	// then the room is full.
	s, err := Shrink([]byte(base), cfg, []string{"abc abc abc xx"}, 261+1+5)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Parse("shrunk", s.TokenizerJSON, s.ConfigJSON)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int32{"<pad>": 0, "<eos>": 1, "<unk>": 2, "<bos>": 3, "<tag>": 4, "<0x00>": 5, "<0xFF>": 260,
		"▁": 261, "abc": 262, "a": 263, "b": 264, "c": 265, "ab": 266}
	for tokText, id := range want {
		if got, ok := tok.TokenToID(tokText); !ok || got != id {
			t.Errorf("%q: id %d (%t), want %d", tokText, got, ok, id)
		}
	}
	if tok.VocabSize() != 267 || tok.BOS() != 3 || tok.EOS() != 1 || s.Stats.Merges != 2 {
		t.Errorf("VocabSize %d, bos %d, eos %d, stats %+v", tok.VocabSize(), tok.BOS(), tok.EOS(), s.Stats)
	}
	if !bytes.Contains(s.TokenizerJSON, []byte(`"ids": [`+"\n"+`          3`)) {
		t.Errorf("post_processor ids not moved:\n%s", s.TokenizerJSON)
	}
	if !bytes.Contains(s.ConfigJSON, []byte(`"4": {`)) || bytes.Contains(s.ConfigJSON, []byte(`"12"`)) {
		t.Errorf("added_tokens_decoder not renumbered:\n%s", s.ConfigJSON)
	}
	// <tag> keeps its lstrip flag; "x" was dropped, so it falls back to
	// bytes.
	if got := tok.Encode("abc <tag>"); !slices.Equal(got, []int32{262, 4}) {
		t.Errorf(`Encode("abc <tag>") = %v`, got)
	}
	if got := tok.Encode(" xx"); !slices.Equal(got, []int32{261, 5 + 'x', 5 + 'x'}) {
		t.Errorf(`Encode(" xx") = %v`, got)
	}
	if got := tok.Decode(tok.Encode("bca x"), false); got != "bca x" {
		t.Errorf("round trip: %q", got)
	}
}

func TestShrinkErrors(t *testing.T) {
	base := []byte(synthBase())
	for _, c := range []struct {
		name      string
		base, cfg string
		vocab     int
		want      string
	}{
		{"too small", "", "", 100, "below the 260 tokens that must be kept"},
		{"too large", "", "", 1000, "exceeds the base's 271 ids"},
		{"bad base", `{"model": {"type": "WordPiece", "vocab": {"a": 0}}}`, "", 300, `model type "WordPiece" is not supported`},
		{"truncated base", `{"model": `, "", 300, "found end of input"},
		{"unknown config token", "", `{"pad_token": "<nope>"}`, 300, `pad_token names "<nope>"`},
		{"bad config", "", `{"pad_token": }`, 300, "base tokenizer_config.json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := base
			if c.base != "" {
				b = []byte(c.base)
			}
			var cfg []byte
			if c.cfg != "" {
				cfg = []byte(c.cfg)
			}
			_, err := Shrink(b, cfg, []string{"abc"}, c.vocab)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain", `"plain"`},
		{"<b>&", `"<b>&"`},
		{"▁the", `"▁the"`},
		{"q\"\\", `"q\"\\"`},
		{"\n\t\r\x00\x1f", `"\n\t\r\u0000\u001f"`},
		{"\u2028", `"\u2028"`},
		{"\xff", `"\ufffd"`},
	} {
		if got := string(appendJSONString(nil, c.in)); got != c.want {
			t.Errorf("appendJSONString(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("a\"b\\c\n\u2029é\x80")
	f.Fuzz(func(t *testing.T, s string) {
		var got string
		if err := json.Unmarshal(appendJSONString(nil, s), &got); err != nil {
			t.Fatal(err)
		}
		if want := strings.ToValidUTF8(s, "\uFFFD"); utf8.ValidString(s) && got != want {
			t.Fatalf("%q came back as %q", s, got)
		}
	})
}
