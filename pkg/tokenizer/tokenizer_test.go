package tokenizer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestGemmaSpecialTokens(t *testing.T) {
	tok := defaultTokenizer(t)
	for _, c := range []struct {
		name string
		got  int32
		want int32
	}{
		{"BOS", tok.BOS(), 2},
		{"EOS (instruction-tuned config)", tok.EOS(), 106},
		{"PAD", tok.PAD(), 0},
		{"UNK", tok.UNK(), 3},
		{"StartOfTurn", tok.StartOfTurn(), 105},
		{"EndOfTurn", tok.EndOfTurn(), 106},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if got := tok.VocabSize(); got != 262145 {
		t.Errorf("VocabSize = %d, want 262145", got)
	}
	for token, id := range map[string]int32{
		"<eos>": 1, "<0x0A>": 248, "<0x00>": 238, "<0xFF>": 493, "\n": 107, "▁▁": 138,
		"<image_soft_token>": 262144, "<start_of_image>": 255999, "▁Hello": 26352,
	} {
		if got, ok := tok.TokenToID(token); !ok || got != id {
			t.Errorf("TokenToID(%q) = %d, %v; want %d", token, got, ok, id)
		}
		if got := tok.IDToToken(id); got != token {
			t.Errorf("IDToToken(%d) = %q, want %q", id, got, token)
		}
	}
	if _, ok := tok.TokenToID("no such token here"); ok {
		t.Error("TokenToID found a token that does not exist")
	}
	for _, id := range []int32{-1, 262145, 1 << 30} {
		if got := tok.IDToToken(id); got != "" {
			t.Errorf("IDToToken(%d) = %q, want \"\"", id, got)
		}
	}
	if !tok.IsSpecial(106) || tok.IsSpecial(107) || tok.IsSpecial(-5) {
		t.Error("IsSpecial is wrong for <end_of_turn>, \\n or an invalid id")
	}
	if !tok.AddsBOS() {
		t.Error("AddsBOS = false, want true (add_bos_token)")
	}
	if !strings.Contains(tok.ChatTemplate(), "<start_of_turn>") {
		t.Error("chat template not loaded from tokenizer_config.json")
	}
	if !strings.Contains(DefaultNotice(), "Gemma Terms of Use") {
		t.Error("the embedded NOTICE lacks the Gemma Terms of Use")
	}
}

// TestCheckVectors are the two examples of the tokenizer's README, with
// <bos>.
func TestCheckVectors(t *testing.T) {
	tok := defaultTokenizer(t)
	for text, want := range map[string][]int32{
		"Hello, my dog is cute": {2, 9259, 236764, 1041, 4799, 563, 12864},
		"<start_of_turn>user\nI feel anxious.<end_of_turn>\n<start_of_turn>model\n": {
			2, 105, 2364, 107, 236777, 2597, 34835, 236761, 106, 107, 105, 4368, 107},
		"": {2},
	} {
		if got := tok.EncodeWithBOS(text); !slices.Equal(got, want) {
			t.Errorf("EncodeWithBOS(%q) = %v, want %v", text, got, want)
		}
	}
	if got := tok.Encode(""); got == nil || len(got) != 0 {
		t.Errorf("Encode(\"\") = %#v, want an empty non-nil slice", got)
	}
	if got := tok.Append([]int32{7}, "Hello"); !slices.Equal(got, []int32{7, 9259}) {
		t.Errorf("Append = %v", got)
	}
}

func TestDecode(t *testing.T) {
	tok := defaultTokenizer(t)
	ids := tok.EncodeWithBOS("<start_of_turn>user\nHi there<end_of_turn>\n")
	if got, want := tok.Decode(ids, false), "<bos><start_of_turn>user\nHi there<end_of_turn>\n"; got != want {
		t.Errorf("Decode = %q, want %q", got, want)
	}
	if got, want := tok.Decode(ids, true), "user\nHi there\n"; got != want {
		t.Errorf("Decode(skipSpecial) = %q, want %q", got, want)
	}
	for _, c := range []struct {
		ids  []int32
		want string
	}{
		{[]int32{-1, 9259, 1 << 30}, "Hello"},              // invalid ids are skipped
		{[]int32{238 + 0xE2, 238 + 0x82, 238 + 0xAC}, "€"}, // byte fallback fuses into UTF-8
		{[]int32{238 + 0xE2, 9259}, "\uFFFDHello"},         // a broken sequence: U+FFFD per byte
		{[]int32{238 + 0xE2, 238 + 0x82, 9259}, "\uFFFD\uFFFDHello"},
		{[]int32{138, 107, 255968}, "  \n\t"},
	} {
		if got := tok.Decode(c.ids, false); got != c.want {
			t.Errorf("Decode(%v) = %q, want %q", c.ids, got, c.want)
		}
	}
}

// TestEdgeCases pins behaviours that are easy to get wrong: long runs of
// added tokens, text that spells special tokens, invalid UTF-8.
func TestEdgeCases(t *testing.T) {
	tok := defaultTokenizer(t)
	nl40 := strings.Repeat("\n", 40)
	if got := tok.Encode(nl40); !slices.Equal(got, []int32{137, 115}) { // 31 + 9 newlines
		t.Errorf("40 newlines = %v", got)
	}
	if got := tok.Encode("<bos><eos>"); !slices.Equal(got, []int32{2, 1}) {
		t.Errorf("literal special tokens = %v", got)
	}
	if got := tok.Encode("<start_of_turn"); slices.Contains(got, 105) {
		t.Errorf("a partial special token matched: %v", got)
	}
	// Invalid UTF-8 falls back to bytes and never panics.
	if got := tok.Encode("a\xffb"); !slices.Contains(got, 238+0xff) {
		t.Errorf("invalid byte not byte-encoded: %v", got)
	}
	// A long text without spaces is one BPE word: it must stay fast and
	// agree with the encoder without caching and chunking.
	long := strings.Repeat("abcdefghij", 2000)
	if got := tok.Encode(long); len(got) == 0 || tok.Decode(got, false) != long {
		t.Errorf("long word did not round-trip")
	}
}

var (
	plainOnce sync.Once
	plainTok  *Tokenizer
	plainErr  error
)

// plainTokenizer is the Gemma tokenizer with the speed-ups off: no chunk
// cache and no cutting of words at spaces, i.e. one BPE over the whole
// text between added tokens, as the reference does.
func plainTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	plainOnce.Do(func() {
		plainTok, plainErr = Parse("tokenizer.json.gz", defaultTokenizerJSON, defaultConfigJSON)
		if plainErr == nil {
			plainTok.noCache = true
			plainTok.model.chunking = false
		}
	})
	if plainErr != nil {
		t.Fatal(plainErr)
	}
	return plainTok
}

// TestChunkingIsExact checks on the shipped corpus that cutting words at
// spaces (and caching them) gives the ids of whole-text BPE.
func TestChunkingIsExact(t *testing.T) {
	tok, plain := defaultTokenizer(t), plainTokenizer(t)
	texts := corpusTexts(t)
	if testing.Short() {
		texts = texts[:len(texts)/10]
	}
	texts = append(texts, "a>▁</b", "x> </y", "<p> </p>", "😊 </div>", "> </", "▁▁ ▁ x")
	got := tok.EncodeBatch(texts)
	for i, text := range texts {
		want := plain.Encode(text)
		if !slices.Equal(got[i], want) {
			t.Fatalf("text %d %.60q:\nchunked %v\n  whole %v", i, text, got[i], want)
		}
	}
}

func TestEncodeBatch(t *testing.T) {
	tok := defaultTokenizer(t)
	if got := tok.EncodeBatch(nil); len(got) != 0 {
		t.Errorf("EncodeBatch(nil) = %v", got)
	}
	texts := []string{"", "Hello", "", "How are you?\n", strings.Repeat("so ", 300)}
	got := tok.EncodeBatch(texts)
	for i, text := range texts {
		if want := tok.Encode(text); !slices.Equal(got[i], want) || got[i] == nil {
			t.Errorf("EncodeBatch[%d] = %v, want %v", i, got[i], want)
		}
	}
}

func TestConcurrentEncode(t *testing.T) {
	tok := defaultTokenizer(t)
	cases := loadGoldens(t)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range cases {
				c := cases[(i+w*13)%len(cases)]
				if got := tok.Encode(c.Text); !slices.Equal(got, c.IDs) {
					t.Errorf("worker %d: %.30q differs", w, c.Text)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestLoad loads the tokenizer from a directory, from a file, compressed
// and plain, and checks that the config beside it is read.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the 33 MB tokenizer several times")
	}
	plain, err := maybeGunzip("embedded", defaultTokenizerJSON)
	if err != nil {
		t.Fatal(err)
	}
	gzDir, plainDir, bareDir := t.TempDir(), t.TempDir(), t.TempDir()
	write := func(dir, name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write(gzDir, "tokenizer.json.gz", defaultTokenizerJSON)
	write(gzDir, "tokenizer_config.json.gz", defaultConfigJSON)
	plainFile := write(plainDir, "tokenizer.json", plain)
	cfg, err := maybeGunzip("embedded", defaultConfigJSON)
	if err != nil {
		t.Fatal(err)
	}
	write(plainDir, "tokenizer_config.json", cfg)
	bareFile := write(bareDir, "gemma.json", plain)

	text := "<start_of_turn>user\nHello, how are you?<end_of_turn>\n"
	want := defaultTokenizer(t).Encode(text)
	for _, c := range []struct {
		path    string
		wantEOS int32 // 106 with the config, 1 (<eos>) without
	}{
		{gzDir, 106}, {plainDir, 106}, {plainFile, 106}, {bareFile, 1},
	} {
		tok, err := Load(c.path)
		if err != nil {
			t.Fatalf("Load(%s): %v", c.path, err)
		}
		if got := tok.Encode(text); !slices.Equal(got, want) {
			t.Errorf("Load(%s): Encode = %v, want %v", c.path, got, want)
		}
		if tok.EOS() != c.wantEOS {
			t.Errorf("Load(%s): EOS = %d, want %d", c.path, tok.EOS(), c.wantEOS)
		}
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no tokenizer.json") {
		t.Errorf("Load(empty dir) error = %v", err)
	}
	if _, err := Load(filepath.Join(bareDir, "missing.json")); err == nil {
		t.Error("Load(missing file) succeeded")
	}
	bad := write(t.TempDir(), "tokenizer.json.gz", defaultTokenizerJSON[:1000])
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "tokenizer.json.gz") {
		t.Errorf("Load(truncated gzip) error = %v", err)
	}
}
