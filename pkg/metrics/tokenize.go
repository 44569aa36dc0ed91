package metrics

import (
	"strings"
	"unicode"
)

// isPySpace reports whether r is whitespace for Python's str.split() and
// str.strip(): Unicode White_Space plus the ASCII information separators
// U+001C..U+001F, which Python counts and Go's unicode.IsSpace does not.
// sacreBLEU splits with Python semantics, so BLEU and chrF must too.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// pySplit splits s like Python's str.split() without arguments.
func pySplit(s string) []string {
	return strings.FieldsFunc(s, isPySpace)
}

// Tokenize13a tokenises a segment as sacreBLEU 2.x's default "13a"
// tokenizer does after BLEU's pre-processing (trailing whitespace stripped):
// it removes "<skipped>", joins "-\n" hyphenations, unescapes four HTML
// entities, and splits punctuation off words, except periods and commas
// inside numbers and dashes not preceded by a digit.
//
// The four regular expressions of sacreBLEU's TokenizerRegexp are applied
// as hand-written passes with re.sub's semantics (leftmost, non-overlapping
// matches); tokenize13aRegexp in the tests is the literal transcription
// they are fuzzed against.
func Tokenize13a(segment string) []string {
	line := strings.TrimRightFunc(strings.ToValidUTF8(segment, "\uFFFD"), isPySpace)
	line = strings.ReplaceAll(line, "<skipped>", "")
	line = strings.ReplaceAll(line, "-\n", "")
	line = strings.ReplaceAll(line, "\n", " ")
	if strings.Contains(line, "&") {
		line = strings.ReplaceAll(line, "&quot;", `"`)
		line = strings.ReplaceAll(line, "&amp;", "&")
		line = strings.ReplaceAll(line, "&lt;", "<")
		line = strings.ReplaceAll(line, "&gt;", ">")
	}
	rs := []rune(" " + line + " ")
	// ([{-~\[-` -&(-+:-@/]) → " \1 ": ASCII punctuation except ' , - .
	out := make([]rune, 0, 2*len(rs))
	for _, r := range rs {
		if is13aPunct(r) {
			out = append(out, ' ', r, ' ')
		} else {
			out = append(out, r)
		}
	}
	// ([^0-9])([.,]) → "\1 \2 ": period and comma unless after a digit.
	out = subPairs(out, func(a, b rune) bool { return !isASCIIDigit(a) && isPeriodComma(b) },
		func(dst []rune, a, b rune) []rune { return append(dst, a, ' ', b, ' ') })
	// ([.,])([^0-9]) → " \1 \2": period and comma unless before a digit.
	out = subPairs(out, func(a, b rune) bool { return isPeriodComma(a) && !isASCIIDigit(b) },
		func(dst []rune, a, b rune) []rune { return append(dst, ' ', a, ' ', b) })
	// ([0-9])(-) → "\1 \2 ": a dash after a digit.
	out = subPairs(out, func(a, b rune) bool { return isASCIIDigit(a) && b == '-' },
		func(dst []rune, a, b rune) []rune { return append(dst, a, ' ', b, ' ') })
	return pySplit(string(out))
}

// subPairs applies a two-character substitution left to right without
// overlapping matches, as re.sub does for a two-character pattern.
func subPairs(s []rune, match func(a, b rune) bool, repl func(dst []rune, a, b rune) []rune) []rune {
	out := make([]rune, 0, len(s)+len(s)/4)
	for i := 0; i < len(s); {
		if i+1 < len(s) && match(s[i], s[i+1]) {
			out = repl(out, s[i], s[i+1])
			i += 2
			continue
		}
		out = append(out, s[i])
		i++
	}
	return out
}

func is13aPunct(r rune) bool {
	return r >= '{' && r <= '~' || r >= '[' && r <= '`' || r >= ' ' && r <= '&' ||
		r >= '(' && r <= '+' || r >= ':' && r <= '@' || r == '/'
}

func isASCIIDigit(r rune) bool { return r >= '0' && r <= '9' }

func isPeriodComma(r rune) bool { return r == '.' || r == ',' }

// TokenizeROUGE tokenises text as Google's rouge-score tokenizer and
// torchmetrics' ROUGEScore do without a stemmer: lower-case, replace every
// run of characters outside [a-z0-9] by a space, split, drop empty tokens.
// Non-ASCII letters are therefore dropped entirely, as in the reference.
func TokenizeROUGE(text string) []string {
	var tokens []string
	var word []byte
	flush := func() {
		if len(word) > 0 {
			tokens = append(tokens, string(word))
			word = word[:0]
		}
	}
	for _, r := range text {
		// Python lower-cases U+0130 (İ) to "i" + U+0307; the combining dot
		// is not alphanumeric, so it ends the token.
		if r == '\u0130' {
			word = append(word, 'i')
			flush()
			continue
		}
		r = unicode.ToLower(r)
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			word = append(word, byte(r))
		} else {
			flush()
		}
	}
	flush()
	return tokens
}
