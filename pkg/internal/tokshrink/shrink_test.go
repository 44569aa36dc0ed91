package tokshrink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

// TestTinyIsUpToDate checks that the embedded tiny tokenizer is what
// Shipped makes now from the shipped data (so it can be remade with
// go generate), and reports its compression next to Gemma's.
func TestTinyIsUpToDate(t *testing.T) {
	s, err := Shipped(testutil.RepoPath(t, "datasets"), tokenizer.TinyVocabSize)
	if err != nil {
		t.Fatal(err)
	}
	tiny, err := tokenizer.TinyFiles()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.TokenizerJSON, tiny.TokenizerJSON) || !bytes.Equal(s.ConfigJSON, tiny.ConfigJSON) || s.Notice != tiny.Notice {
		t.Fatal("pkg/tokenizer/assets/tiny differs from what Shipped makes: run 'go generate ./pkg/tokenizer'")
	}
	st := s.Stats
	t.Logf("corpus: %d texts, %d characters; Gemma %d tokens (%.4f/char), tiny %d tokens (%.4f/char): ×%.4f; %d texts cut identically",
		st.CorpusTexts, st.CorpusChars, st.BaseTokens, st.BaseTokensPerChar(), st.Tokens, st.TokensPerChar(), st.TokenRatio(), st.IdenticalTexts)
	if st.VocabSize != tokenizer.TinyVocabSize || st.Fixed != 494 || st.BaseVocabSize != 262145 {
		t.Errorf("stats: %+v", st)
	}
	// A guard on quality: 8k tokens fitted to the corpus should cost
	// little more than Gemma's 262k on that corpus.
	if r := st.TokenRatio(); r < 1 || r > 1.1 {
		t.Errorf("tiny needs %.3f× Gemma's tokens on the corpus", r)
	}
}

// gemmaFiles are the embedded Gemma 3 tokenizer's files.
func gemmaFiles(t testing.TB) tokenizer.Files {
	t.Helper()
	f, err := tokenizer.DefaultFiles()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// gemmaTokenizer is the embedded Gemma 3 tokenizer.
func gemmaTokenizer(t testing.TB) *tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.Default()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

var (
	shrinkSmallOnce sync.Once
	shrinkSmall     *Shrunk
	shrinkSmallErr  error
)

// shrinkSmallFixture shrinks Gemma to 1,024 ids on a slice of the corpus.
func shrinkSmallFixture(t *testing.T) (*Shrunk, []string) {
	t.Helper()
	texts := testutil.ShippedTexts(t)[:300]
	shrinkSmallOnce.Do(func() {
		gemma := gemmaFiles(t)
		shrinkSmall, shrinkSmallErr = Shrink(gemma.TokenizerJSON, gemma.ConfigJSON, texts, 1024)
	})
	if shrinkSmallErr != nil {
		t.Fatal(shrinkSmallErr)
	}
	return shrinkSmall, texts
}

func TestShrinkIsDeterministic(t *testing.T) {
	first, texts := shrinkSmallFixture(t)
	gemma := gemmaFiles(t)
	again, err := Shrink(gemma.TokenizerJSON, gemma.ConfigJSON, texts, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.TokenizerJSON, again.TokenizerJSON) || !bytes.Equal(first.ConfigJSON, again.ConfigJSON) {
		t.Error("two runs gave different files")
	}
	tok, err := tokenizer.Parse("small", first.TokenizerJSON, first.ConfigJSON)
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
	s, err := Shrink(gemmaFiles(t).TokenizerJSON, nil, []string{"Hello there"}, 600)
	if err != nil {
		t.Fatal(err)
	}
	if s.ConfigJSON != nil {
		t.Error("config written without a base config")
	}
	tok, err := tokenizer.Parse("small", s.TokenizerJSON, nil)
	if err != nil {
		t.Fatal(err)
	}
	gemma := gemmaTokenizer(t)
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
	if _, err := tokenizer.Parse("synth", []byte(base), nil); err != nil {
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
	tok, err := tokenizer.Parse("shrunk", s.TokenizerJSON, s.ConfigJSON)
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
