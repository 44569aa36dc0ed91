package tokenizer

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzRoundTrip checks that decoding the ids of any valid UTF-8 text gives
// the text back (with "▁" read as a space, as the reference decoder does),
// and that the fast encoder agrees with plain whole-text BPE.
func FuzzRoundTrip(f *testing.F) {
	for _, c := range loadGoldens(f) {
		f.Add(c.Text)
	}
	for _, s := range []string{"", " ", "  a  ", "\t\t x", "a>▁</b", "> </", "<bos>", "<start_of_turn", "é\u0301",
		"👩‍👩‍👧", "\x00\x01", "\r\n", "日本語のテキスト", "▁▁ ▁", strings.Repeat("ab ", 50)} {
		f.Add(s)
	}
	tok, plain := defaultTokenizer(f), plainTokenizer(f)
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			ids := tok.Encode(s) // must not panic
			_ = tok.Decode(ids, false)
			return
		}
		ids := tok.Encode(s)
		want := strings.ReplaceAll(s, spaceMark, " ")
		if got := tok.Decode(ids, false); got != want {
			t.Fatalf("Decode(Encode(%q)) = %q", s, got)
		}
		if p := plain.Encode(s); !slices.Equal(ids, p) {
			t.Fatalf("Encode(%q) = %v, whole-text BPE gives %v", s, ids, p)
		}
		for _, id := range ids {
			if id < 0 || int(id) >= tok.VocabSize() {
				t.Fatalf("id %d out of range", id)
			}
		}
	})
}

// FuzzParse feeds arbitrary documents to the tokenizer.json loader: it
// must return an error or a tokenizer that encodes and decodes without
// panicking.
func FuzzParse(f *testing.F) {
	f.Add(tinyJSON, "abc abc<tag>x")
	f.Add(strings.Replace(tinyJSON, `"pre_tokenizer": null`, `"pre_tokenizer": {"type": "Split", "pattern": {"String": "b"}, "behavior": "MergedWithNext"}`, 1), "abba cb")
	f.Add(strings.Replace(tinyJSON, `"byte_fallback": false`, `"byte_fallback": true`, 1), "é")
	f.Add(strings.Replace(tinyJSON, `"special": false`, `"special": false, "lstrip": true, "single_word": true`, 1), " <tag> a<tag>")
	f.Add(`{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}`, "aaa")
	f.Add(`{"model": {"type": "BPE", "vocab": {"a": 0, "aa": 1}, "merges": ["a a"]}}`, "aaa")
	f.Add(`{"model": {"vocab": {"\ud800": 0}}}`, "x")
	f.Fuzz(func(t *testing.T, doc, text string) {
		tok, err := Parse("fuzz.json", []byte(doc), nil)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		ids := tok.EncodeWithBOS(text)
		for _, id := range ids {
			if id < 0 || int(id) >= tok.VocabSize() {
				t.Fatalf("id %d out of range [0, %d)", id, tok.VocabSize())
			}
		}
		_ = tok.Decode(ids, true)
		_ = tok.Decode(append(ids, -1, 1<<20), false)
	})
}

// FuzzEncodeJSONLines checks the JSON-lines reader: an error, or one
// output line per non-blank input line.
func FuzzEncodeJSONLines(f *testing.F) {
	f.Add("{\"text\": \"a\"}\n\n{\"text\": \"<bos>b\"}")
	f.Add("{\"text\": 1}")
	f.Add("{\"text\": \"\\ud800\"}\r\n")
	tok, err := Parse("tiny.json", []byte(tinyJSON), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var out strings.Builder
		if err := tok.EncodeJSONLines(strings.NewReader(in), &out, true); err != nil {
			return
		}
		want := 0
		for _, line := range strings.Split(in, "\n") {
			if strings.TrimSpace(line) != "" {
				want++
			}
		}
		if got := strings.Count(out.String(), "\n"); got != want {
			t.Fatalf("%d output lines for %d input lines", got, want)
		}
	})
}
