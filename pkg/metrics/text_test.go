package metrics

import (
	"encoding/json"
	"math"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

type metricGolden struct {
	Hyp     string  `json:"hyp"`
	Ref     string  `json:"ref"`
	BLEU    float64 `json:"sacrebleu_sentence_bleu"`
	CHRF    float64 `json:"chrf"`
	ROUGE1F float64 `json:"rouge1_f"`
	ROUGE2F float64 `json:"rouge2_f"`
	ROUGELF float64 `json:"rougeL_f"`
}

func loadMetricGoldens(t testing.TB) []metricGolden {
	t.Helper()
	raw, err := os.ReadFile("testdata/metric_goldens.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Version string         `json:"sacrebleu_version"`
		Pairs   []metricGolden `json:"pairs"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Pairs) < 100 {
		t.Fatalf("only %d golden pairs", len(file.Pairs))
	}
	return file.Pairs
}

// TestMetricGoldens checks every pair made by sacreBLEU 2.6.0 and
// torchmetrics' ROUGEScore to 1e-6.
func TestMetricGoldens(t *testing.T) {
	const tol = 1e-6
	for i, g := range loadMetricGoldens(t) {
		bleu := SentenceBLEU(g.Hyp, g.Ref).Score
		chrf := SentenceCHRF(g.Hyp, g.Ref)
		r := ROUGE(g.Hyp, g.Ref)
		for _, c := range []struct {
			name      string
			got, want float64
		}{
			{"bleu", bleu, g.BLEU},
			{"chrf", chrf, g.CHRF},
			{"rouge1", r.ROUGE1.F, g.ROUGE1F},
			{"rouge2", r.ROUGE2.F, g.ROUGE2F},
			{"rougeL", r.ROUGEL.F, g.ROUGELF},
		} {
			if math.Abs(c.got-c.want) > tol {
				t.Errorf("pair %d %s = %.10g, want %.10g\nhyp: %q\nref: %q", i, c.name, c.got, c.want, g.Hyp, g.Ref)
			}
		}
	}
}

func TestTokenize13a(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"Hello, world.", "Hello , world ."},
		{"It costs $3.50, ok?", "It costs $ 3.50 , ok ?"},
		{"1,000 people", "1,000 people"},
		{"end.", "end ."},
		{"a..", "a . ."},
		{"don't stop-me", "don't stop-me"},
		{"10-20", "10 - 20"},
		{"A &amp; B &lt;x&gt; &quot;q&quot;", `A & B < x > " q "`},
		{"hy-\nphen\nnext <skipped>line", "hyphen next line"},
		{"(hi)[there]{you}", "( hi ) [ there ] { you }"},
		{"tab\tand\u00a0nbsp\u001fsep", "tab and nbsp sep"},
		{"trailing   \n", "trailing"},
		{"3.", "3 ."},
		{".5", ". 5"},
		// Checked with Python's re and sacreBLEU's patterns.
		{"a.b", "a . b"},
		{"see...then", "see . . . then"},
		{"x,y", "x , y"},
		{"3.x", "3 . x"},
		{"1,000.5-3", "1,000.5 - 3"},
	} {
		got := strings.Join(Tokenize13a(c.in), " ")
		if got != c.want {
			t.Errorf("Tokenize13a(%q) = %q, want %q", c.in, got, c.want)
		}
		if oracle := strings.Join(tokenize13aRegexp(c.in), " "); oracle != c.want {
			t.Errorf("regexp oracle(%q) = %q, want %q", c.in, oracle, c.want)
		}
	}
}

func TestTokenizeROUGE(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"Hello, World!", []string{"hello", "world"}},
		{"I'm fine-ish", []string{"i", "m", "fine", "ish"}},
		{"café naïve", []string{"caf", "na", "ve"}},
		{"İstanbul 42", []string{"i", "stanbul", "42"}},
		{"\u212a", []string{"k"}}, // Kelvin sign lower-cases to ASCII k
	} {
		if got := TokenizeROUGE(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("TokenizeROUGE(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestBLEUEdgeCases(t *testing.T) {
	if s := SentenceBLEU("the cat sat on the mat", "the cat sat on the mat").Score; math.Abs(s-100) > 1e-9 {
		t.Errorf("identical BLEU = %g, want 100", s)
	}
	// Effective order (sacreBLEU's sentence_bleu default): a two-token
	// exact match scores 100 instead of 0.
	if s := SentenceBLEU("thank you", "thank you").Score; math.Abs(s-100) > 1e-9 {
		t.Errorf("short identical BLEU = %g, want 100", s)
	}
	if s := SentenceBLEU("", "").Score; s != 0 {
		t.Errorf("empty BLEU = %g, want 0", s)
	}
	// Multiple references: the closest reference length, shorter on ties.
	st := segmentBLEUStats("a b c", []string{"a b c d e", "a", "a b"})
	if st.refLen != 2 {
		t.Errorf("closest ref len = %d, want 2", st.refLen)
	}
	// Reference n-grams are clipped at the maximum over references.
	s := SentenceBLEU("the the the", "the cat", "the the dog")
	if s.Correct[0] != 2 || s.Total[0] != 3 {
		t.Errorf("clipped unigram matches = %d/%d, want 2/3", s.Correct[0], s.Total[0])
	}
}

func TestCorpusBLEU(t *testing.T) {
	hyps := []string{"the cat sat on the mat", "a dog barked", ""}
	refs := []string{"the cat sat on a mat", "the dog barked loudly", "nothing here"}
	got, err := CorpusBLEU(hyps, refs)
	if err != nil {
		t.Fatal(err)
	}
	// Hand-computed: 9 hyp tokens, ref len 6+4+2=12; matches per order
	// 1: 5+2=7/9, 2: 3+1=4/7, 3: 2/5, 4: 1/3 (the second segment has no
	// 4-grams); BP = exp(1-12/9).
	want := math.Exp(1-12.0/9) * math.Exp((math.Log(700.0/9)+math.Log(400.0/7)+math.Log(40)+math.Log(100.0/3))/4)
	if math.Abs(got.Score-want) > 1e-9 {
		t.Errorf("corpus BLEU = %.10g (%+v), want %.10g", got.Score, got, want)
	}
	if _, err := CorpusBLEU(hyps, refs[:2]); err == nil {
		t.Error("CorpusBLEU accepted a short reference stream")
	}
	if _, err := CorpusBLEU(hyps); err == nil {
		t.Error("CorpusBLEU accepted no reference stream")
	}
}

func TestCorpusCHRFSumsStatistics(t *testing.T) {
	hyps := []string{"abc", "xyz"}
	refs := []string{"abc", "xyq"}
	got, err := CorpusCHRF(hyps, refs)
	if err != nil {
		t.Fatal(err)
	}
	// Orders 1..3 have n-grams on both sides: unigram 5/6, bigram 3/4,
	// trigram 1/2 matched; precision = recall, so chrF = their mean.
	want := 100 * (5.0/6 + 3.0/4 + 1.0/2) / 3
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("corpus chrF = %g, want %g", got, want)
	}
}

func TestROUGEHand(t *testing.T) {
	r := ROUGE("the cat was found under the bed", "the cat was under the bed")
	if math.Abs(r.ROUGE1.F-2*6.0/13) > 1e-12 { // 6 hits, 7 and 6 tokens
		t.Errorf("rouge1 = %+v", r.ROUGE1)
	}
	if math.Abs(r.ROUGEL.Recall-1) > 1e-12 {
		t.Errorf("rougeL recall = %g, want 1", r.ROUGEL.Recall)
	}
	if r := ROUGE("same words here", "same words here"); r.ROUGE2.F != 1 || r.ROUGEL.F != 1 {
		t.Errorf("identical ROUGE = %+v", r)
	}
}

// tokenize13aRegexp is a literal transcription of sacreBLEU's
// Tokenizer13a with its regular expressions, the oracle for Tokenize13a.
func tokenize13aRegexp(segment string) []string {
	line := strings.TrimRightFunc(strings.ToValidUTF8(segment, "\uFFFD"), isPySpace)
	line = strings.ReplaceAll(line, "<skipped>", "")
	line = strings.ReplaceAll(line, "-\n", "")
	line = strings.ReplaceAll(line, "\n", " ")
	line = strings.ReplaceAll(line, "&quot;", `"`)
	line = strings.ReplaceAll(line, "&amp;", "&")
	line = strings.ReplaceAll(line, "&lt;", "<")
	line = strings.ReplaceAll(line, "&gt;", ">")
	line = " " + line + " "
	for _, sub := range []struct{ re, repl string }{
		{"([{-~\\[-` -&(-+:-@/])", " $1 "},
		{`([^0-9])([.,])`, "$1 $2 "},
		{`([.,])([^0-9])`, " $1 $2"},
		{`([0-9])(-)`, "$1 $2 "},
	} {
		line = regexp.MustCompile(sub.re).ReplaceAllString(line, sub.repl)
	}
	return pySplit(line)
}

func FuzzTokenize13a(f *testing.F) {
	for _, s := range []string{"", "Hello, world.", "1,000.5-3", "&amp;&quot;", "a-\nb", "\xff\xfe", "İ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Tokenize13a(s)
		if want := tokenize13aRegexp(s); !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
			t.Fatalf("Tokenize13a(%q) = %q, regexp oracle %q", s, got, want)
		}
		for _, tok := range got {
			if tok == "" || strings.ContainsFunc(tok, isPySpace) {
				t.Fatalf("bad token %q from %q", tok, s)
			}
		}
		_ = SentenceBLEU(s, s)
		_ = SentenceCHRF(s, s)
	})
}

func FuzzTokenizeROUGE(f *testing.F) {
	for _, s := range []string{"", "Hello, World!", "İstanbul", "\xff", "ǅ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, tok := range TokenizeROUGE(s) {
			if tok == "" || strings.IndexFunc(tok, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') }) >= 0 {
				t.Fatalf("bad token %q from %q", tok, s)
			}
		}
		r := ROUGE(s, s)
		if len(TokenizeROUGE(s)) > 0 && r.ROUGE1.F != 1 {
			t.Fatalf("ROUGE-1 of %q with itself = %g", s, r.ROUGE1.F)
		}
	})
}
