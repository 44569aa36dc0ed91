package safety

import (
	"strings"
	"testing"
)

func TestCanonicalize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"I'm fine", "i am fine ."},
		{"im fine, dont worry", "i am fine , do not worry ."},
		{"I can’t go on", "i can not go on ."},
		{"k!ll mys3lf", "kill myself ."},
		{"I want to kiII myself", "i want to kill myself ."},
		{"w4nt t0 d1e", "i want to die ."},
		{"k i l l  m y s e l f", "kill myself ."},
		{"k-i-l-l myself", "kill myself ."},
		{"s u i c i d e", "suicide ."},
		{"I want to k\u200bill myself", "i want to kill myself ."},
		{"unalive myself", "kill myself ."},
		{"i want to unalive", "i want to kill myself ."},
		{"kms", "kill myself ."},
		{"sewer slide", "suicide ."},
		{"sewerslide", "suicide ."},
		{"i sh'd again", "i self harmed again ."},
		{"my sh scars", "my self harm scars ."},
		{"sh. be quiet", "sh . be quiet ."},
		{"diiiie", "die ."},
		{"killlll myself", "kill myself ."},
		{"im so suicdal", "i am so suicidal ."},
		{"myslef", "myself ."},
		{"the steak was overdone", "the steak was overdone ."},
		{"meet at 10pm", "meet at 10pm ."},
		{"help!", "help !"},
		{"lol ok 😂", "<lol> ok <lol> ."},
		{"it's time", "it is time ."},
		{"mom's pills", "mom pills ."},
		{"line one\nline two", "line one . line two ."},
		{"c*tting again", "i am cutting again ."},
		{"$uicide", "suicide ."},
		// Dropped g's and subjects, chat spellings.
		{"thinkin bout endin it", "i am thinking about ending it ."},
		{"Overdosed when I was 19, survived.", "i overdosed when i was 19 , survived ."},
		{"honestly? suicidal again", "honestly ? i am suicidal again ."},
		{"ngl tried to od", "not going to lie i tried to overdose ."},
		{"kill urself", "kill yourself ."},
		{"Took the dog out. She was happy", "i took the dog out . she was happy ."},
		{"", ""},
	}
	for _, c := range cases {
		if got := strings.TrimSpace(canonicalize(c.in).text); got != c.want {
			t.Errorf("canonicalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// Every canonical token points back into the original text.
func TestCanonicalTokensPointIntoSource(t *testing.T) {
	for _, in := range []string{"k i l l  m y s e l f", "I’m   gonna kms 😂", "ab\u200bc d-e-f-g", "x\xffy kill myself"} {
		c := canonicalize(in)
		for _, tok := range c.tokens {
			if tok.start < 0 || tok.end < tok.start || tok.end > len(in) {
				t.Errorf("%q: token %+v outside the text", in, tok)
			}
		}
		for i, off := range c.offset {
			if !strings.HasPrefix(c.text[off:], c.tokens[i].word) {
				t.Errorf("%q: offset %d of token %q wrong in %q", in, off, c.tokens[i].word, c.text)
			}
		}
	}
}

func TestEditDistance(t *testing.T) {
	cases := []struct {
		a, b  string
		limit int
		want  int
	}{
		{"myslef", "myself", 2, 1}, // transposition
		{"suicde", "suicide", 2, 1},
		{"sucidal", "suicidal", 2, 1},
		{"kitten", "sitting", 5, 3},
		{"abc", "xyz", 1, 2}, // stops past the limit
		{"", "abc", 5, 3},
	}
	for _, c := range cases {
		if got := editDistance(c.a, c.b, c.limit); got != c.want {
			t.Errorf("editDistance(%q, %q, %d) = %d, want %d", c.a, c.b, c.limit, got, c.want)
		}
	}
}

func TestSegment(t *testing.T) {
	for in, want := range map[string]string{
		"killmyself": "kill myself", "iwanttodie": "i want to die", "icut": "i cut", "qzx": "",
	} {
		if got := strings.Join(segment(in), " "); got != want {
			t.Errorf("segment(%q) = %q, want %q", in, got, want)
		}
	}
}
