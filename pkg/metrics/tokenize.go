package metrics

import (
	"regexp"
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

// The regular expressions of sacreBLEU's TokenizerRegexp, applied in order
// (mteval-v13a's language-dependent part). Go's ReplaceAllString has the
// same leftmost, non-overlapping semantics as Python's re.sub for these
// fixed-width patterns, so consecutive punctuation is handled identically.
var (
	// Tokenise any punctuation (ASCII punctuation except ' , - .) and space.
	re13aPunct = regexp.MustCompile("([{-~\\[-` -&(-+:-@/])")
	// Tokenise period and comma unless preceded by a digit.
	re13aPeriodCommaAfterNonDigit = regexp.MustCompile(`([^0-9])([.,])`)
	// Tokenise period and comma unless followed by a digit.
	re13aPeriodCommaBeforeNonDigit = regexp.MustCompile(`([.,])([^0-9])`)
	// Tokenise a dash when preceded by a digit.
	re13aDashAfterDigit = regexp.MustCompile(`([0-9])(-)`)
)

// Tokenize13a tokenises a segment as sacreBLEU 2.x's default "13a"
// tokenizer does after BLEU's pre-processing (trailing whitespace stripped):
// it removes "<skipped>", joins "-\n" hyphenations, unescapes four HTML
// entities, and splits punctuation off words, except periods and commas
// inside numbers and dashes not preceded by a digit.
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
	line = " " + line + " "
	line = re13aPunct.ReplaceAllString(line, " $1 ")
	line = re13aPeriodCommaAfterNonDigit.ReplaceAllString(line, "$1 $2 ")
	line = re13aPeriodCommaBeforeNonDigit.ReplaceAllString(line, " $1 $2")
	line = re13aDashAfterDigit.ReplaceAllString(line, "$1 $2 ")
	return pySplit(line)
}

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
