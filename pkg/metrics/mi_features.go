package metrics

import (
	"strconv"
	"strings"
	"unicode"
)

// miTokens lower-cases text and splits it into words (letters, digits and
// inner apostrophes) and punctuation marks; runs of the same mark collapse
// into one token ("--" → "-"), so transcription disfluencies stay visible.
func miTokens(text string) []string {
	var tokens []string
	var word strings.Builder
	flush := func() {
		if word.Len() > 0 {
			tokens = append(tokens, word.String())
			word.Reset()
		}
	}
	runes := []rune(strings.ToLower(text))
	for i, r := range runes {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			word.WriteRune(r)
		case (r == '\'' || r == '’') && word.Len() > 0 && i+1 < len(runes) && unicode.IsLetter(runes[i+1]):
			word.WriteRune('\'')
		case unicode.IsPunct(r) || unicode.IsSymbol(r):
			flush()
			mark := string(r)
			if r == '—' || r == '–' {
				mark = "-"
			}
			if n := len(tokens); n == 0 || tokens[n-1] != mark {
				tokens = append(tokens, mark)
			}
		default:
			flush()
		}
	}
	flush()
	return tokens
}

// isWordToken reports whether a miTokens token is a word, not a mark.
func isWordToken(t string) bool {
	r := []rune(t)
	return len(r) > 0 && (unicode.IsLetter(r[0]) || unicode.IsDigit(r[0]))
}

// miFeatureSet collects named features with values; a feature added twice
// keeps the larger value (features are indicators or small counts).
type miFeatureSet map[string]float32

func (f miFeatureSet) add(name string, v float32) {
	if old, ok := f[name]; !ok || v > old {
		f[name] = v
	}
}

// lengthBin buckets a count on a rough log scale.
func lengthBin(n int) string {
	for _, b := range []int{0, 1, 2, 3, 5, 8, 12, 20, 35, 60} {
		if n <= b {
			return strconv.Itoa(b)
		}
	}
	return "60+"
}

// isShapeFeature reports whether a feature name of miFeatures is one of the
// shape features (length and punctuation bins, end marks, utterance–context
// overlap), which MITrainOptions.ShapeWeight scales.
func isShapeFeature(name string) bool {
	ns, _, _ := strings.Cut(name, ":")
	switch ns {
	case "len", "q", "sent", "ends?", "cutoff", "shared", "overlap":
		return true
	}
	return false
}

// miStopwords are function words excluded from the utterance–context
// overlap feature (a reflection repeats the client's content words).
var miStopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an the and or but so to of in on at for with is are was were be been
		am it it's that this i i'm you you're your me my we he she they them their there
		do does did not no yes yeah um uh like just oh okay ok well mm hmm mm-hmm really very
		what how why when where who which can could would will have has had if then about`) {
		miStopwords[w] = true
	}
}

// miFeatures extracts the classifier's features from a therapist utterance
// and the preceding client turn, in separate namespaces: word 1–3-grams and
// character 2–5-grams of the utterance, its first and last words, length
// and punctuation, word 1–2-grams of the context, and how much of the
// utterance's content vocabulary repeats the context.
func miFeatures(text, context string) miFeatureSet {
	f := miFeatureSet{}
	toks := miTokens(text)
	padded := append(append([]string{"<s>"}, toks...), "</s>")
	for n := 1; n <= 3; n++ {
		for i := 0; i+n <= len(padded); i++ {
			if n == 1 && (i == 0 || i == len(padded)-1) {
				continue
			}
			f.add("w"+strconv.Itoa(n)+":"+strings.Join(padded[i:i+n], " "), 1)
		}
	}
	var words []string
	for _, t := range toks {
		if isWordToken(t) {
			words = append(words, t)
		}
	}
	for k := 1; k <= 3 && k <= len(words); k++ {
		f.add("first:"+strings.Join(words[:k], " "), 1)
	}
	if len(toks) > 0 {
		f.add("last:"+toks[len(toks)-1], 1)
	}
	if len(toks) > 1 {
		f.add("last2:"+strings.Join(toks[len(toks)-2:], " "), 1)
	}

	// Character n-grams over the normalised token stream.
	chars := []rune(" " + strings.Join(toks, " ") + " ")
	for n := 2; n <= 5; n++ {
		for i := 0; i+n <= len(chars); i++ {
			f.add("c:"+string(chars[i:i+n]), 1)
		}
	}

	questions := strings.Count(text, "?")
	f.add("len:"+lengthBin(len(words)), 1)
	f.add("q:"+lengthBin(questions), 1)
	f.add("sent:"+lengthBin(strings.Count(text, ".")+strings.Count(text, "!")+questions), 1)
	if strings.HasSuffix(strings.TrimSpace(text), "?") {
		f.add("ends?", 1)
	}
	if t := strings.TrimSpace(text); strings.HasSuffix(t, "-") || strings.HasSuffix(t, "—") {
		f.add("cutoff", 1)
	}

	ctoks := miTokens(context)
	if len(ctoks) == 0 {
		f.add("ctx:empty", 1)
	}
	cpad := append(append([]string{"<s>"}, ctoks...), "</s>")
	for n := 1; n <= 2; n++ {
		for i := 0; i+n <= len(cpad); i++ {
			if n == 1 && (i == 0 || i == len(cpad)-1) {
				continue
			}
			f.add("p"+strconv.Itoa(n)+":"+strings.Join(cpad[i:i+n], " "), 1)
		}
	}
	cwords := 0
	ctxContent := map[string]bool{}
	for _, t := range ctoks {
		if isWordToken(t) {
			cwords++
			if !miStopwords[t] {
				ctxContent[t] = true
			}
		}
	}
	f.add("clen:"+lengthBin(cwords), 1)
	if strings.HasSuffix(strings.TrimSpace(context), "?") {
		f.add("cends?", 1)
	}
	content, shared := 0, 0
	for _, w := range words {
		if !miStopwords[w] {
			content++
			if ctxContent[w] {
				shared++
			}
		}
	}
	f.add("shared:"+lengthBin(shared), 1)
	if content > 0 {
		f.add("overlap:"+strconv.Itoa(4*shared/content), 1)
	}
	return f
}
