package safety

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// token is one word or mark of a text's canonical form, with the byte span
// of the original text it stands for. Several tokens may share a span (an
// expansion: "kms" gives "kill" and "myself"; "I'm" gives "i" and "am").
type token struct {
	word       string
	start, end int
}

// Marks: punctuation kept in the canonical text, and emoji classes.
const (
	markQuote = `"`
	markJoke  = "<lol>" // laughing or eye-rolling emoji, "lol", "haha", "jk"
	markSob   = "<sob>" // the loudly crying emoji, often hyperbole in chat
)

// canonical is a text reduced to lower-case canonical words separated by
// single spaces, which the rules' regular expressions run over.
type canonical struct {
	src    string
	tokens []token
	text   string
	offset []int // offset[i] is the byte offset of tokens[i] in text
}

// piece is a unit of the first scan: a word (letters, digits, in-word
// apostrophes and look-alike symbols), a punctuation mark, white space or a
// recognised emoji.
type piece struct {
	kind       pieceKind
	s          string // the raw text (for words: without skipped invisible characters)
	start, end int
	newlines   int // for space pieces
}

type pieceKind uint8

const (
	pieceWord pieceKind = iota
	pieceSpace
	piecePunct
	pieceEmoji
)

// leetLetters are the symbols and digits that stand for letters in
// obfuscated writing, with the letters they may stand for (the first is the
// usual reading). '*' masks any vowel.
var leetLetters = map[rune]string{
	'0': "o", '1': "il", '3': "e", '4': "a", '5': "s", '7': "t", '8': "b", '9': "g",
	'@': "a", '$': "s", '!': "il", '|': "li", '+': "t", '*': "aeiou", '€': "e",
}

// isInvisible reports characters that hide inside words to defeat keyword
// lists: zero-width spaces and joiners, soft hyphens, the BOM.
func isInvisible(r rune) bool {
	switch r {
	case '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad':
		return true
	}
	return false
}

func isApostrophe(r rune) bool { return r == '\'' || r == '’' || r == '‘' || r == '`' || r == 'ʼ' }

func isQuote(r rune) bool {
	switch r {
	case '"', '“', '”', '„', '«', '»', '″':
		return true
	}
	return false
}

// emojiMark classifies an emoji: laughing and eye-rolling faces read as
// jokes, the loudly crying face as (often hyperbolic) distress.
func emojiMark(r rune) (string, bool) {
	switch r {
	case '😂', '🤣', '💀', '🙄', '😅', '😆', '😜', '😝', '🤪', '😹', '🙃', '😩':
		return markJoke, true
	case '😭':
		return markSob, true
	}
	return "", false
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// scan splits s into pieces.
func scan(s string) []piece {
	var out []piece
	var word strings.Builder
	wordStart := -1
	flush := func(end int) {
		if wordStart >= 0 {
			out = append(out, piece{kind: pieceWord, s: word.String(), start: wordStart, end: end})
			word.Reset()
			wordStart = -1
		}
	}
	next := func(i int) rune {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return r
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		j := i + size
		switch {
		case isInvisible(r):
			// Skipped without ending a word: "k\u200bill" is "kill".
		case isWordRune(r):
			if wordStart < 0 {
				wordStart = i
			}
			word.WriteRune(r)
		case isApostrophe(r) && wordStart >= 0 && j < len(s) && unicode.IsLetter(next(j)):
			word.WriteByte('\'') // in a word: "don't", "i’m"
		case leetLetters[r] != "":
			// A look-alike symbol counts as a letter when a word character
			// follows it ("k!ll", "$uicide", "c*tting"); otherwise it is
			// punctuation ("help!").
			if j < len(s) && isWordRune(next(j)) && (wordStart >= 0 || r != '!' && r != '|') {
				if wordStart < 0 {
					wordStart = i
				}
				word.WriteRune(r)
				break
			}
			flush(i)
			out = append(out, piece{kind: piecePunct, s: string(r), start: i, end: j})
		case unicode.IsSpace(r):
			flush(i)
			nl := 0
			if r == '\n' {
				nl = 1
			}
			if n := len(out); n > 0 && out[n-1].kind == pieceSpace && out[n-1].end == i {
				out[n-1].end = j
				out[n-1].s += string(r)
				out[n-1].newlines += nl
				break
			}
			out = append(out, piece{kind: pieceSpace, s: string(r), start: i, end: j, newlines: nl})
		default:
			flush(i)
			if m, ok := emojiMark(r); ok {
				out = append(out, piece{kind: pieceEmoji, s: m, start: i, end: j})
				break
			}
			out = append(out, piece{kind: piecePunct, s: string(r), start: i, end: j})
		}
		i = j
	}
	flush(len(s))
	return out
}

// letterSeparators may sit between the letters of a spelled-out word
// ("k-i-l-l", "k.i.l.l", "k_i_l_l").
const letterSeparators = "-._*/"

// singleLetter reports a word piece of one letter, or of one look-alike
// that reads as a letter.
func singleLetter(p piece) (rune, bool) {
	if p.kind != pieceWord || utf8.RuneCountInString(p.s) != 1 {
		return 0, false
	}
	r, _ := utf8.DecodeRuneInString(p.s)
	if unicode.IsLetter(r) {
		return unicode.ToLower(r), true
	}
	if l := leetLetters[r]; l != "" {
		return rune(l[0]), true
	}
	return 0, false
}

// spelled is a run of single letters separated by single spaces or
// separator marks, turned back into words.
type spelled struct {
	first, last int // piece indices of the run
	words       []token
}

// findSpelled finds runs such as "k i l l  m y s e l f" (two or more spaces
// between words) or "k-i-l-l myself" and segments each group of letters into
// known words. A run needs at least three letters in a row and four in all,
// and is kept only when every group segments into known words, so that
// ordinary single letters ("I", "a") are left alone.
func findSpelled(ps []piece) map[int]spelled {
	runs := map[int]spelled{}
	for i := 0; i < len(ps); i++ {
		if _, ok := singleLetter(ps[i]); !ok {
			continue
		}
		type letter struct {
			r          rune
			start, end int
		}
		var groups [][]letter
		group := []letter{}
		j := i
		last := i
		for {
			r, ok := singleLetter(ps[j])
			if !ok {
				break
			}
			group = append(group, letter{r, ps[j].start, ps[j].end})
			last = j
			// Look for a separator and another single letter.
			k := j + 1
			if k >= len(ps) {
				break
			}
			sep := ps[k]
			wide := false
			switch {
			case sep.kind == pieceSpace && sep.newlines == 0 && len(sep.s) == 1:
			case sep.kind == pieceSpace && sep.newlines == 0 && len(sep.s) <= 4:
				wide = true
			case sep.kind == piecePunct && strings.Contains(letterSeparators, sep.s):
			default:
				k = -1
			}
			if k < 0 || k+1 >= len(ps) {
				break
			}
			if _, ok := singleLetter(ps[k+1]); !ok {
				break
			}
			if wide {
				groups = append(groups, group)
				group = []letter{}
			}
			j = k + 1
		}
		groups = append(groups, group)
		total, longest := 0, 0
		for _, g := range groups {
			total += len(g)
			longest = max(longest, len(g))
		}
		// Whatever the outcome, the run's letters are not looked at again
		// (scanning each one anew would be quadratic).
		from := i
		i = last
		if longest < 3 || total < 4 || longest > maxSpelledWord {
			continue
		}
		var words []token
		ok := true
		for _, g := range groups {
			letters := make([]rune, len(g))
			for x, l := range g {
				letters[x] = l.r
			}
			segs := segment(string(letters))
			if segs == nil {
				ok = false
				break
			}
			pos := 0
			for _, w := range segs {
				n := utf8.RuneCountInString(w)
				words = append(words, token{word: w, start: g[pos].start, end: g[pos+n-1].end})
				pos += n
			}
		}
		if ok {
			runs[from] = spelled{first: from, last: last, words: words}
		}
	}
	return runs
}

// maxSpelledWord bounds a group of spelled-out letters: longer groups are
// not words (and segmenting them would be slow).
const maxSpelledWord = 40

// segment splits a string of letters into the fewest known words, or
// returns nil when it cannot be covered by them.
func segment(s string) []string {
	n := len(s)
	best := make([]int, n+1) // fewest words covering s[:i]; -1 when impossible
	from := make([]int, n+1)
	for i := 1; i <= n; i++ {
		best[i] = -1
		for j := max(0, i-maxVocabWordLen); j < i; j++ {
			if best[j] < 0 || !segmentable(s[j:i]) {
				continue
			}
			if best[i] < 0 || best[j]+1 < best[i] {
				best[i], from[i] = best[j]+1, j
			}
		}
	}
	if best[n] < 0 {
		return nil
	}
	var words []string
	for i := n; i > 0; i = from[i] {
		words = append(words, s[from[i]:i])
	}
	for a, b := 0, len(words)-1; a < b; a, b = a+1, b-1 {
		words[a], words[b] = words[b], words[a]
	}
	return words
}

// segmentable reports a word that a spelled-out run may be split into: a
// known word, or a slang form with an expansion ("kms").
func segmentable(w string) bool {
	if vocab[w] {
		return true
	}
	_, ok := variants[w]
	return ok
}

// canonicalize builds the canonical form of s.
func canonicalize(s string) *canonical {
	ps := scan(s)
	runs := findSpelled(ps)
	c := &canonical{src: s, tokens: make([]token, 0, len(ps)/2+4)}
	for i := 0; i < len(ps); i++ {
		if run, ok := runs[i]; ok {
			for _, t := range run.words {
				c.addWord(t.word, t.start, t.end)
			}
			i = run.last
			continue
		}
		p := ps[i]
		switch p.kind {
		case pieceWord:
			c.addWord(p.s, p.start, p.end)
		case pieceEmoji:
			c.tokens = append(c.tokens, token{word: p.s, start: p.start, end: p.end})
		case pieceSpace:
			if p.newlines > 0 {
				c.tokens = append(c.tokens, token{word: ".", start: p.start, end: p.start})
			}
		case piecePunct:
			if m := punctMark(p.s); m != "" {
				c.tokens = append(c.tokens, token{word: m, start: p.start, end: p.end})
			}
		}
	}
	c.rewriteSlang()
	c.impliedSubjects()
	// A text that does not end a sentence gets an end mark (standing for no
	// text), so that patterns can rely on one.
	if n := len(c.tokens); n > 0 {
		switch c.tokens[n-1].word {
		case ".", "!", "?", ";":
		default:
			c.tokens = append(c.tokens, token{word: ".", start: len(s), end: len(s)})
		}
	}
	c.build()
	return c
}

// punctMark maps punctuation to the marks kept in the canonical text:
// sentence ends, clause breaks and quotation marks; "" drops it.
func punctMark(p string) string {
	r, _ := utf8.DecodeRuneInString(p)
	switch {
	case r == '.' || r == '…':
		return "."
	case r == '!':
		return "!"
	case r == '?':
		return "?"
	case r == ';' || r == ':':
		return ";"
	case r == ',' || r == '(' || r == ')' || r == '–' || r == '—':
		return ","
	case isQuote(r):
		return markQuote
	case isApostrophe(r):
		return "'" // a single quotation mark (in-word apostrophes stay in words)
	}
	return ""
}

// build joins the tokens into the canonical text, with a space before
// every token and one at the end, so that patterns can be anchored on
// spaces.
func (c *canonical) build() {
	var b strings.Builder
	c.offset = make([]int, len(c.tokens))
	for i, t := range c.tokens {
		b.WriteByte(' ')
		c.offset[i] = b.Len()
		b.WriteString(t.word)
	}
	b.WriteByte(' ')
	c.text = b.String()
}

// rewriteSlang resolves words whose reading depends on their neighbours:
// "unalive myself" is "kill myself" but "I want to unalive" is "die"; "sh"
// is self-harm next to words that go with it ("sh again", "my sh scars").
func (c *canonical) rewriteSlang() {
	for i := 0; i+1 < len(c.tokens); i++ {
		// Two-word codes: "sewer slide" (suicide), "self delete".
		w, next := c.tokens[i].word, c.tokens[i+1].word
		if !twoWordFirst[w] {
			continue
		}
		if code, ok := twoWordCodes[w+" "+next]; ok {
			merged := c.tokens[i]
			merged.end = c.tokens[i+1].end
			repl := make([]token, len(code))
			for k, cw := range code {
				repl[k] = token{word: cw, start: merged.start, end: merged.end}
			}
			c.tokens = slices.Replace(c.tokens, i, i+2, repl...)
		}
	}
	for i := 0; i < len(c.tokens); i++ {
		next, prev := "", ""
		if i+1 < len(c.tokens) {
			next = c.tokens[i+1].word
		}
		if i > 0 {
			prev = c.tokens[i-1].word
		}
		switch c.tokens[i].word {
		case unaliveWord:
			// "unalive myself" is "kill myself"; a bare "unalive" ("I want to
			// unalive") means killing oneself too.
			c.tokens[i].word = "kill"
			if _, ok := reflexiveSubject[next]; !ok && !generalReflexives[next] {
				c.tokens = slices.Insert(c.tokens, i+1, token{word: "myself", start: c.tokens[i].start, end: c.tokens[i].end})
			}
		case "sh":
			switch {
			case shNext[next], shPrev[prev]:
				c.tokens[i].word = "self harm"
			}
		}
	}
}

// impliedSubjects restores the subject that informal first-person writing
// drops at the start of a sentence ("Overdosed when I was 19", "Suicidal
// again.", "lowkey relapsed last night"): an "i" (or "i am" before an
// adjective or a participle) that stands for no text. Only words that
// rarely open a sentence with another subject count, past filler words
// ("honestly", "lowkey", "ngl").
func (c *canonical) impliedSubjects() {
	for i := 0; i < len(c.tokens); i++ {
		if i > 0 {
			switch c.tokens[i-1].word {
			case ".", "!", "?", ";":
			default:
				continue
			}
		}
		j := i
		for j < len(c.tokens) {
			if n := fillerAt(c.tokens, j); n > 0 {
				j += n
				continue
			}
			break
		}
		if j >= len(c.tokens) {
			return
		}
		t := c.tokens[j]
		var add []string
		switch {
		case impliedI[t.word]:
			add = []string{"i"}
		case impliedIAm[t.word]:
			add = []string{"i", "am"}
		default:
			continue
		}
		repl := make([]token, len(add))
		for k, w := range add {
			repl[k] = token{word: w, start: t.start, end: t.start}
		}
		c.tokens = slices.Insert(c.tokens, j, repl...)
		i = j + len(add)
	}
}

// fillerAt returns how many tokens from i are a filler that may open a
// sentence before its verb ("honestly", "to be honest"), or 0.
func fillerAt(toks []token, i int) int {
	if sentenceFillers[toks[i].word] {
		return 1
	}
	for _, f := range multiWordFillers {
		if i+len(f) <= len(toks) {
			ok := true
			for k, w := range f {
				if toks[i+k].word != w {
					ok = false
					break
				}
			}
			if ok {
				return len(f)
			}
		}
	}
	return 0
}

var (
	sentenceFillers = wordSet(`lowkey highkey honestly just so ok okay well yeah yea and but also still anyway
		literally um oh ugh basically actually seriously <lol> <sob> " ' , update edit then now lately again`)
	multiWordFillers = [][]string{{"for", "real"}, {"to", "be", "honest"}, {"not", "going", "to", "lie"},
		{"low", "key"}, {"kind", "of"}, {"sort", "of"}}
	// impliedI: verbs that open a first-person sentence without "I".
	impliedI = wordSet(`tried took cut overdosed bought gave wrote swallowed burned burnt relapsed attempted
		decided sent drank started stopped counted researched googled updated cancelled canceled deleted
		texted harmed scratched punched jumped stashed hid found ordered picked planned finished nearly
		almost cried woke slept failed crashed keep kept want wanna wish hate miss need gotta sat stood`)
	// impliedIAm: adjectives and participles that open a first-person
	// sentence without "I am".
	impliedIAm = wordSet(`suicidal done ready tired sick scared afraid terrified feeling thinking going planning
		trying hoping praying wanting struggling cutting drinking sitting standing holding writing saying giving
		counting researching`)
)

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// twoWordCodes are coded two-word spellings.
var twoWordCodes = map[string][]string{
	"sewer slide": {"suicide"}, "sewer slided": {"suicide"}, "self delete": {"kill", "myself"},
	"self deleting": {"killing", "myself"}, "self deletion": {"suicide"}, "un alive": {"unalive"},
	"su icide": {"suicide"}, "sui cide": {"suicide"},
}

// twoWordFirst are the first words of twoWordCodes.
var twoWordFirst = func() map[string]bool {
	m := map[string]bool{}
	for k := range twoWordCodes {
		first, _, _ := strings.Cut(k, " ")
		m[first] = true
	}
	return m
}()

// Neighbours of "sh" that mean self-harm.
var (
	shNext = map[string]bool{"again": true, "urges": true, "urge": true, "scars": true, "scar": true,
		"relapse": true, "relapsed": true, "free": true, "clean": true, "last": true, "tonight": true,
		"today": true, "yesterday": true, "is": true, "was": true, "habit": true, "cuts": true, "wounds": true}
	shPrev = map[string]bool{"my": true, "to": true, "from": true, "of": true, "urge": true, "urges": true,
		"the": true, "did": true, "still": true, "about": true}
)

// tokenAt returns the index of the token that covers byte offset off of the
// canonical text (the token before it when off falls on a space).
func (c *canonical) tokenAt(off int) int {
	lo, hi := 0, len(c.offset)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if c.offset[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// span maps a byte range of the canonical text to token indices [a, b).
func (c *canonical) span(start, end int) (int, int) {
	if end <= start {
		return c.tokenAt(start), c.tokenAt(start) + 1
	}
	return c.tokenAt(start), c.tokenAt(end-1) + 1
}

// source returns the original byte range of tokens [a, b); tokens that
// stand for no text (a line break's sentence mark) do not widen it.
func (c *canonical) source(a, b int) (int, int) {
	start, end := -1, -1
	for _, t := range c.tokens[a:b] {
		if t.end == t.start {
			continue
		}
		if start < 0 {
			start, end = t.start, t.end
		}
		start, end = min(start, t.start), max(end, t.end)
	}
	if start < 0 {
		return c.tokens[a].start, c.tokens[a].start
	}
	return start, end
}

// addWord canonicalizes one raw word and appends its tokens.
func (c *canonical) addWord(raw string, start, end int) {
	for _, w := range canonicalWords(raw) {
		c.tokens = append(c.tokens, token{word: w, start: start, end: end})
	}
}

// canonicalWords turns one raw word into canonical words: look-alikes
// resolved, case folded, letter runs shortened, contractions and slang
// expanded, misspellings of the rules' key words corrected.
func canonicalWords(raw string) []string {
	w := deLeet(raw)
	if w == "" {
		return nil
	}
	if exp, ok := variants[w]; ok {
		return exp
	}
	if isJoke(w) {
		return []string{markJoke}
	}
	if strings.Contains(w, "'") {
		return contraction(w)
	}
	if !vocab[w] {
		if s := shortenRuns(w); s != w {
			w = s
			if exp, ok := variants[w]; ok {
				return exp
			}
		}
		if !vocab[w] && len(w) >= 4 && strings.HasSuffix(w, "in") && vocab[w+"g"] {
			// A dropped g: "endin", "cuttin", "plannin".
			w += "g"
		}
		if !vocab[w] {
			if f, ok := fuzzyFix(w); ok {
				w = f
			}
		}
	}
	return []string{w}
}

// deLeet lower-cases a word and resolves look-alike digits and symbols
// ("k!ll" → "kill", "mys3lf" → "myself", "kiII" → "kill"). A look-alike
// reading is taken only when it gives a known word; otherwise the word is
// kept as it was (lower-cased), so that "10pm" and "b2b" stay.
func deLeet(raw string) string {
	lower := strings.ToLower(raw)
	hasLeet, hasLetter := false, false
	capitalI := false
	for i, r := range raw {
		switch {
		case unicode.IsLetter(r):
			hasLetter = true
			if r == 'I' && i > 0 {
				capitalI = true
			}
		case leetLetters[r] != "":
			hasLeet = true
		}
	}
	if !hasLetter || (!hasLeet && !capitalI) {
		return lower
	}
	if vocab[lower] && !hasLeet {
		return lower
	}
	// Expand the ambiguous characters, breadth first, up to a bound.
	cands := []string{""}
	for i, r := range raw {
		var opts string
		switch {
		case r == 'I' && i > 0:
			opts = "il"
		case unicode.IsLetter(r):
			opts = string(unicode.ToLower(r))
		case leetLetters[r] != "":
			opts = leetLetters[r]
		default:
			opts = string(r)
		}
		next := make([]string, 0, len(cands)*len(opts))
		for _, c := range cands {
			for _, o := range opts {
				next = append(next, c+string(o))
			}
		}
		if len(next) > 64 {
			return lower
		}
		cands = next
	}
	for _, c := range cands {
		if vocab[c] || variants[c] != nil {
			return c
		}
		if s := shortenRuns(c); vocab[s] {
			return s
		}
	}
	return lower
}

// shortenRuns shortens letters repeated three or more times: to two when
// that gives a known word ("killll" → "kill"), otherwise to one ("diiie" →
// "die").
func shortenRuns(w string) string {
	two, one := squeeze(w, 2), squeeze(w, 1)
	switch {
	case two == w:
		return w
	case vocab[two] || variants[two] != nil:
		return two
	case vocab[one] || variants[one] != nil:
		return one
	}
	return two
}

// squeeze shortens every run of three or more equal runes to keep runes.
func squeeze(w string, keep int) string {
	var b strings.Builder
	var prev rune
	run := 0
	rs := []rune(w)
	for i, r := range rs {
		if i > 0 && r == prev {
			run++
		} else {
			run = 1
		}
		prev = r
		// Count the whole run to decide whether it is long.
		end := i
		for end+1 < len(rs) && rs[end+1] == r {
			end++
		}
		start := i - run + 1
		if end-start+1 >= 3 && run > keep {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isJoke recognises laughter and joke markers: "lol", "lmao", "haha",
// "hehe", "jk".
func isJoke(w string) bool {
	switch w {
	case "lol", "lool", "lolol", "lmao", "lmfao", "rofl", "jk", "jkjk", "xd", "hehe", "heh", "kidding":
		return true
	}
	if len(w) >= 4 && strings.Trim(w, "ha") == "" && strings.HasPrefix(w, "ha") {
		return true
	}
	return false
}

// contraction expands a word with an apostrophe.
func contraction(w string) []string {
	if exp, ok := variants[w]; ok {
		return exp
	}
	base, suffix, _ := strings.Cut(w, "'")
	switch {
	case suffix == "t" && strings.HasSuffix(base, "n"):
		switch base {
		case "can", "ca":
			return []string{"can", "not"}
		case "won", "wo":
			return []string{"will", "not"}
		case "ain":
			return []string{"am", "not"}
		}
		return []string{strings.TrimSuffix(base, "n"), "not"}
	case suffix == "m":
		return []string{base, "am"}
	case suffix == "re":
		return []string{base, "are"}
	case suffix == "ve":
		return []string{base, "have"}
	case suffix == "ll":
		return []string{base, "will"}
	case suffix == "d":
		return []string{base, "would"}
	case suffix == "s":
		switch base {
		case "it", "he", "she", "that", "there", "what", "who", "where", "here", "everything", "nothing", "life", "this",
			"tonight", "today", "tomorrow", "now", "time", "everyone", "everybody", "nobody", "someone", "somebody",
			"how", "why", "when", "one", "let":
			return []string{base, "is"}
		}
		return []string{base} // a possessive: "mom's pills" reads "mom pills"
	}
	return []string{strings.ReplaceAll(w, "'", "")}
}

// fuzzyFix corrects a misspelling of one of the rules' key words (at most
// one edit for words of up to six letters, two for longer ones), unless the
// word is a real word that merely looks close ("overdone").
func fuzzyFix(w string) (string, bool) {
	n := utf8.RuneCountInString(w)
	if n < 5 || realLookalikes[w] {
		return "", false
	}
	best, bestDist := "", 3
	first, _ := utf8.DecodeRuneInString(w)
	for _, target := range fuzzyTargets {
		// Misspellings keep the first letter; checking it first keeps the
		// edit distances off the hot path.
		if t, _ := utf8.DecodeRuneInString(target); t != first {
			continue
		}
		tn := utf8.RuneCountInString(target)
		limit := 1
		if tn >= 7 {
			limit = 2
		}
		if abs(tn-n) > limit {
			continue
		}
		d := editDistance(w, target, limit)
		// The closest target wins; on a tie, one of the same length (a
		// substitution is likelier than a dropped letter: "suicidel").
		if d <= limit && (d < bestDist || d == bestDist && tn == n) {
			best, bestDist = target, d
		}
	}
	return best, best != ""
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// editDistance is the optimal-string-alignment distance (Levenshtein with
// adjacent transpositions) between a and b, or limit+1 once it exceeds
// limit.
func editDistance(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
