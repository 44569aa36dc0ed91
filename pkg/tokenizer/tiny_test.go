package tokenizer

import (
	"slices"
	"strings"
	"testing"
)

// tinyJSON is a small tokenizer.json in Gemma's format; tests swap parts of
// it with strings.Replace to exercise other configurations.
const tinyJSON = `{
  "version": "1.0",
  "added_tokens": [
    {"id": 0, "content": "<pad>", "special": true},
    {"id": 1, "content": "<eos>", "special": true},
    {"id": 2, "content": "<bos>", "special": true},
    {"id": 3, "content": "<unk>", "special": true},
    {"id": 14, "content": "<tag>", "special": false}
  ],
  "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"},
  "pre_tokenizer": null,
  "post_processor": null,
  "decoder": {"type": "Sequence", "decoders": [
    {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
    {"type": "ByteFallback"}, {"type": "Fuse"}]},
  "model": {
    "type": "BPE", "dropout": null, "unk_token": "<unk>", "fuse_unk": true,
    "byte_fallback": false, "ignore_merges": false,
    "continuing_subword_prefix": null, "end_of_word_suffix": null,
    "vocab": {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3, "a": 4, "b": 5, "c": 6,
      "\u2581": 7, "ab": 8, "abc": 9, "▁a": 10, "bc": 11, "c▁": 12, "\"q\/": 13, "<tag>": 14},
    "merges": [["a", "b"], ["ab", "c"], ["▁", "a"], ["b", "c"], ["c", "▁"]]
  }
}`

func parseTiny(t *testing.T, replacements ...string) *Tokenizer {
	t.Helper()
	tok, err := Parse("tiny.json", []byte(strings.NewReplacer(replacements...).Replace(tinyJSON)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestTinyTokenizer(t *testing.T) {
	tok := parseTiny(t)
	for _, c := range []struct {
		text string
		want []int32
	}{
		{"abc", []int32{9}},           // (a,b) rank 0, then (ab,c) rank 1
		{"bc", []int32{11}},           // (b,c)
		{" abc", []int32{7, 9}},       // (a,b) outranks (▁,a)
		{" a", []int32{10}},           //
		{"bcx", []int32{11, 3}},       // unknown character → <unk>
		{"xyz", []int32{3}},           // consecutive unknowns fuse
		{"axyb", []int32{4, 3, 5}},    //
		{"<tag>a", []int32{14, 4}},    // added token
		{"c a", []int32{6, 10}},       // (▁,a) outranks (c,▁)
		{"c b", []int32{12, 5}},       // "c▁" merges across the space: no cut there
		{"abc abc", []int32{9, 7, 9}}, // (ab,c) outranks (c,▁)
		{`"q/`, []int32{3}},           // characters outside the vocabulary
	} {
		if got := tok.Encode(c.text); !slices.Equal(got, c.want) {
			t.Errorf("Encode(%q) = %v, want %v", c.text, got, c.want)
		}
	}
	if tok.VocabSize() != 15 || tok.BOS() != 2 || tok.EOS() != 1 || tok.PAD() != 0 || tok.UNK() != 3 {
		t.Errorf("special ids: size %d bos %d eos %d pad %d unk %d", tok.VocabSize(), tok.BOS(), tok.EOS(), tok.PAD(), tok.UNK())
	}
	if tok.StartOfTurn() != -1 || tok.EndOfTurn() != -1 {
		t.Error("turn tokens should be absent")
	}
	if id, ok := tok.TokenToID(`"q/`); !ok || id != 13 {
		t.Errorf("escaped vocabulary entry: TokenToID = %d, %v", id, ok)
	}
	if got := tok.Decode([]int32{2, 7, 9, 14, 3}, true); got != " abc<tag>" {
		t.Errorf("Decode = %q", got)
	}
}

func TestTinyVariants(t *testing.T) {
	for _, c := range []struct {
		name         string
		replacements []string
		text         string
		want         []int32
		decoded      string // of want, without skipping
	}{
		{"no fuse_unk", []string{`"fuse_unk": true`, `"fuse_unk": false`}, "xyz", []int32{3, 3, 3}, "<unk><unk><unk>"},
		{"no unk token", []string{`"unk_token": "<unk>"`, `"unk_token": null`}, "axb", []int32{8}, "ab"},
		{"merges as strings",
			[]string{`[["a", "b"], ["ab", "c"], ["▁", "a"], ["b", "c"], ["c", "▁"]]`, `["a b", "ab c", "▁ a", "b c", "c ▁"]`},
			" abc", []int32{7, 9}, " abc"},
		{"merges before vocab",
			[]string{`"vocab":`, `"merges": [["a", "b"]], "vocab":`, `"merges": [["a", "b"], ["ab", "c"], ["▁", "a"], ["b", "c"], ["c", "▁"]]`, `"type2": 0`},
			"abc", []int32{8, 6}, "abc"},
		{"ignore_merges", []string{`"ignore_merges": false`, `"ignore_merges": true`}, `"q/`, []int32{13}, `"q/`},
		{"ignore_merges, word not in vocabulary", []string{`"ignore_merges": false`, `"ignore_merges": true`}, "abc▁c", []int32{9, 7, 6}, "abc c"},
		{"prepend normalizer",
			[]string{`"normalizer": {"type": "Replace"`, `"normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, {"type": "Replace"`,
				`"content": "\u2581"},`, `"content": "\u2581"}]},`,
				`{"type": "Fuse"}]}`, `{"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}`},
			"abc<tag>a", []int32{7, 9, 14, 10}, "abc<tag> a"},
		{"split removed",
			[]string{`"pre_tokenizer": null`, `"pre_tokenizer": {"type": "Split", "pattern": {"String": "▁"}, "behavior": "Removed", "invert": false}`},
			"c a  b", []int32{6, 4, 5}, "cab"},
		{"split isolated",
			[]string{`"pre_tokenizer": null`, `"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"String": "▁"}, "behavior": "Isolated", "invert": false}]}`},
			"c a", []int32{6, 7, 4}, "c a"},
		{"split merged with previous",
			[]string{`"pre_tokenizer": null`, `"pre_tokenizer": {"type": "Split", "pattern": {"String": "▁"}, "behavior": "MergedWithPrevious", "invert": false}`},
			"c a", []int32{12, 4}, "c a"},
		{"split merged with next",
			[]string{`"pre_tokenizer": null`, `"pre_tokenizer": {"type": "Split", "pattern": {"String": "▁"}, "behavior": "MergedWithNext", "invert": false}`},
			"c a", []int32{6, 10}, "c a"},
		{"split contiguous",
			[]string{`"pre_tokenizer": null`, `"pre_tokenizer": {"type": "Split", "pattern": {"String": "b"}, "behavior": "Contiguous", "invert": false}`},
			"abbc", []int32{4, 5, 5, 6}, "abbc"},
		{"byte fallback",
			[]string{`"byte_fallback": false`, `"byte_fallback": true`, `"<tag>": 14}`, `"<tag>": 14, "<0xC3>": 15, "<0xA9>": 16}`},
			"é", []int32{15, 16}, "é"},
		{"byte fallback incomplete",
			[]string{`"byte_fallback": false`, `"byte_fallback": true`, `"<tag>": 14}`, `"<tag>": 14, "<0xC3>": 15}`},
			"éa", []int32{3, 4}, "<unk>a"},
		{"lstrip and rstrip",
			[]string{`"content": "<tag>", "special": false`, `"content": "<tag>", "special": false, "lstrip": true, "rstrip": true`},
			"a <tag> b", []int32{4, 14, 5}, "a<tag>b"},
		{"single word",
			[]string{`"content": "<tag>", "special": false`, `"content": "<tag>", "special": false, "single_word": true`},
			"a<tag>", []int32{4, 3, 4, 3}, "a<unk>a<unk>"},
		{"normalized added token",
			[]string{`"content": "<tag>", "special": false`, `"content": "<tag>", "special": false, "normalized": true`},
			"a<tag>", []int32{4, 14}, "a<tag>"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tok := parseTiny(t, c.replacements...)
			got := tok.Encode(c.text)
			if !slices.Equal(got, c.want) {
				t.Errorf("Encode(%q) = %v, want %v", c.text, got, c.want)
			}
			if dec := tok.Decode(got, false); dec != c.decoded {
				t.Errorf("Decode = %q, want %q", dec, c.decoded)
			}
		})
	}
}

// TestMalformed checks that broken or unsupported files give an error that
// says what is wrong (and where, for syntax errors).
func TestMalformed(t *testing.T) {
	for _, c := range []struct {
		name         string
		replacements []string
		want         string
	}{
		{"wrong model type", []string{`"type": "BPE"`, `"type": "WordPiece"`}, `model type "WordPiece" is not supported`},
		{"no model type", []string{`"type": "BPE",`, ``}, `model has no "type"`},
		{"missing vocab", []string{`"vocab":`, `"vocabulary":`}, `model has no "vocab"`},
		{"empty vocab", []string{`"vocab": {`, `"vocab": {}, "x": {`}, `model.vocab is empty`},
		{"no model", []string{`"model":`, `"modell":`}, `no "model" section`},
		{"merge of unknown token", []string{`["b", "c"]`, `["b", "zz"]`}, `model.merges[3]: token "zz" is not in the vocabulary`},
		{"merge result unknown", []string{`["b", "c"]`, `["c", "b"]`}, `model.merges[3]: merged token "cb" is not in the vocabulary`},
		{"merge of three", []string{`["b", "c"]`, `["b", "c", "a"]`}, `model.merges[3]: want two tokens, found 3`},
		{"merge not a pair", []string{`["b", "c"]`, `42`}, `model.merges[3]: want a pair of tokens`},
		{"merge string", []string{`["b", "c"]`, `"bc"`}, `"bc" is not two tokens separated by one space`},
		{"negative id", []string{`"a": 4`, `"a": -4`}, `model.vocab: id -4 of "a" is out of range`},
		{"fractional id", []string{`"a": 4`, `"a": 4.5`}, `expected an integer`},
		{"duplicate id", []string{`"b": 5`, `"b": 4`}, `id 4 is given to both`},
		{"duplicate token", []string{`"▁a": 10`, `"a": 10`}, `token "a" appears twice`},
		{"unk not in vocab", []string{`"unk_token": "<unk>"`, `"unk_token": "<nope>"`}, `unk_token "<nope>" is not in the vocabulary`},
		{"dropout", []string{`"dropout": null`, `"dropout": 0.1`}, `dropout 0.1 is not supported`},
		{"subword prefix", []string{`"continuing_subword_prefix": null`, `"continuing_subword_prefix": "##"`}, `continuing_subword_prefix "##" is not supported`},
		{"bad bool", []string{`"fuse_unk": true`, `"fuse_unk": 1`}, `model.fuse_unk: want true or false`},
		{"unsupported normalizer", []string{`{"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}`, `{"type": "NFKC"}`}, `normalizer type "NFKC" is not supported`},
		{"regex normalizer", []string{`"pattern": {"String": " "}`, `"pattern": {"Regex": " +"}`}, `regular-expression patterns are not supported`},
		{"unsupported pre-tokenizer", []string{`"pre_tokenizer": null`, `"pre_tokenizer": {"type": "ByteLevel"}`}, `pre-tokenizer type "ByteLevel" is not supported`},
		{"bad split behaviour", []string{`"pre_tokenizer": null`, `"pre_tokenizer": {"type": "Split", "pattern": {"String": "x"}, "behavior": "Sideways"}`}, `unknown behavior "Sideways"`},
		{"unsupported decoder", []string{`{"type": "Fuse"}`, `{"type": "WordPiece"}`}, `decoder type "WordPiece" is not supported`},
		{"added token without id", []string{`{"id": 14, "content": "<tag>"`, `{"content": "<tag>"`}, `added_tokens[4]: want "id" and "content"`},
		{"added token empty", []string{`"content": "<tag>"`, `"content": ""`}, `added_tokens[4]: empty content`},
		{"added token clash", []string{`{"id": 14, "content": "<tag>"`, `{"id": 4, "content": "<tag>"`}, `id 4 is "a" in the vocabulary, not "<tag>"`},
		{"syntax: missing comma", []string{`"b": 5,`, `"b": 5`}, `tiny.json:20:78: expected ',' or '}', found '"'`},
		{"syntax: bad literal", []string{`"post_processor": null`, `"post_processor": nul`}, `invalid literal "nul"`},
		{"syntax: unterminated", []string{`"bc": 11`, `"bc: 11`}, `tiny.json:`},
		{"syntax: bad escape", []string{`\/`, `\x`}, `invalid escape \x`},
		{"trailing data", []string{"\n  }\n}", "\n  }\n} {}"}, `after the top-level value`},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := strings.NewReplacer(c.replacements...).Replace(tinyJSON)
			if doc == tinyJSON {
				t.Fatal("the replacement changed nothing")
			}
			_, err := Parse("tiny.json", []byte(doc), nil)
			if err == nil {
				t.Fatalf("Parse succeeded, want an error containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
		})
	}
	for name, doc := range map[string]string{"empty": "", "array": "[]", "number": "12", "truncated": tinyJSON[:500]} {
		if _, err := Parse(name, []byte(doc), nil); err == nil {
			t.Errorf("Parse(%s) succeeded", name)
		}
	}
}

func TestConfig(t *testing.T) {
	tiny := []byte(tinyJSON)
	for _, c := range []struct {
		name, config string
		bos, eos     int32
		addBOS       bool
		template     string
		wantErr      string
	}{
		{"strings", `{"bos_token": "<bos>", "eos_token": "<eos>", "chat_template": "T"}`, 2, 1, true, "T", ""},
		{"objects", `{"bos_token": {"content": "<pad>"}, "eos_token": {"content": "<tag>", "lstrip": false}}`, 0, 14, true, "", ""},
		{"no bos", `{"add_bos_token": false, "chat_template": [{"name": "tool", "template": "X"}, {"name": "default", "template": "D"}]}`, 2, 1, false, "D", ""},
		{"unknown token", `{"eos_token": "<end_of_turn>"}`, 0, 0, false, "", `eos_token "<end_of_turn>" is not in the vocabulary`},
		{"bad token", `{"eos_token": 12}`, 0, 0, false, "", `eos_token: want a string`},
		{"bad template", `{"chat_template": 12}`, 0, 0, false, "", `chat_template`},
		{"bad json", `{"eos_token": `, 0, 0, false, "", `tiny.json (tokenizer_config.json)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			tok, err := Parse("tiny.json", tiny, []byte(c.config))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok.BOS() != c.bos || tok.EOS() != c.eos || tok.AddsBOS() != c.addBOS || tok.ChatTemplate() != c.template {
				t.Errorf("bos %d eos %d addBOS %v template %q", tok.BOS(), tok.EOS(), tok.AddsBOS(), tok.ChatTemplate())
			}
		})
	}
}
