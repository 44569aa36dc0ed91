package safety

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
)

// pattern is a regular expression over canonical text (anchored on the
// spaces around tokens), split at its top-level alternatives. Each branch
// is compiled on its own with the literals it needs, so that a text that
// mentions one branch's words runs that branch only: the rules are long
// alternations, and running all of one for a single relevant alternative
// was most of the screen's time.
type pattern struct {
	branches []branch
}

type branch struct {
	re       *regexp.Regexp
	required []string // see requiredLiterals
	// all are the literal sets of every necessary part of the pattern (see
	// allRequired): a match holds one literal of each. ids numbers them in
	// the rules' literal index.
	all [][]string
	ids [][]int32
}

func compilePattern(src string) pattern {
	var p pattern
	for _, alt := range splitAlternatives(src) {
		re := regexp.MustCompile(` (?:` + alt + `) `)
		re.Longest()
		p.branches = append(p.branches, branch{re: re, required: requiredLiterals(re.String()), all: allRequired(re.String())})
	}
	return p
}

// splitAlternatives splits a pattern at its top-level "|".
func splitAlternatives(src string) []string {
	var out []string
	depth, start := 0, 0
	inClass := false
	for i := 0; i < len(src); i++ {
		switch c := src[i]; {
		case c == '\\':
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == '|' && depth == 0:
			out = append(out, src[start:i])
			start = i + 1
		}
	}
	return append(out, src[start:])
}

// matchString reports whether any branch matches s.
func (p *pattern) matchString(s string) bool {
	for _, b := range p.branches {
		if mayMatch(b.required, s) && b.re.MatchString(s) {
			return true
		}
	}
	return false
}

// requiredLiterals returns strings of which every match of the pattern
// contains at least one, or nil when no such set is found. Screening skips
// a pattern whose literals are all absent from the text: most messages
// mention none of the words most rules need, and a substring search is far
// cheaper than running the regular expression.
func requiredLiterals(pattern string) []string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	lits := necessary(re.Simplify())
	if len(lits) == 0 || len(lits) > maxRequiredLiterals {
		return nil
	}
	for _, l := range lits {
		if len(strings.TrimSpace(l)) < 2 {
			return nil // too common to rule anything out
		}
	}
	return lits
}

// allRequired returns the literal sets of every part of the pattern's top
// concatenation that has one (a match holds a literal of each set), leaving
// out sets with literals too short to rule anything out.
func allRequired(pattern string) [][]string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	parts := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		parts = re.Sub
	}
	var out [][]string
	var run strings.Builder
	add := func(lits []string) {
		if len(lits) == 0 || len(lits) > maxRequiredLiterals {
			return
		}
		for _, l := range lits {
			if len(strings.TrimSpace(l)) < 2 {
				return
			}
		}
		out = append(out, lits)
	}
	flush := func() {
		if run.Len() > 0 {
			add([]string{run.String()})
			run.Reset()
		}
	}
	for _, sub := range parts {
		if sub.Op == syntax.OpLiteral && sub.Flags&syntax.FoldCase == 0 {
			run.WriteString(string(sub.Rune))
			continue
		}
		flush()
		add(necessary(sub))
	}
	flush()
	return out
}

// maxRequiredLiterals bounds the substring searches of one pattern.
const maxRequiredLiterals = 400

// necessary computes the literal set of a syntax tree (see
// requiredLiterals).
func necessary(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil
		}
		return []string{string(re.Rune)}
	case syntax.OpCapture:
		return necessary(re.Sub[0])
	case syntax.OpPlus:
		return necessary(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return necessary(re.Sub[0])
		}
		return nil
	case syntax.OpConcat:
		// Any one necessary part will do. Take the cheapest selective one:
		// the fewest literals among parts whose literals are all at least
		// three letters and not common words; without such a part, the most
		// selective. Runs of adjacent literals are joined first.
		var best []string
		bestScore := 0
		var run strings.Builder
		consider := func(lits []string) {
			if len(lits) == 0 {
				return
			}
			score := selectivity(lits[0])
			for _, l := range lits {
				score = min(score, selectivity(l))
			}
			good, bestGood := score >= 3, bestScore >= 3
			switch {
			case best == nil,
				good && !bestGood,
				good && bestGood && len(lits) < len(best),
				!good && !bestGood && score > bestScore:
				best, bestScore = lits, score
			}
		}
		flush := func() {
			if run.Len() > 0 {
				consider([]string{run.String()})
				run.Reset()
			}
		}
		for _, sub := range re.Sub {
			if sub.Op == syntax.OpLiteral && sub.Flags&syntax.FoldCase == 0 {
				run.WriteString(string(sub.Rune))
				continue
			}
			flush()
			consider(necessary(sub))
		}
		flush()
		return best
	case syntax.OpAlternate:
		var out []string
		for _, sub := range re.Sub {
			lits := necessary(sub)
			if lits == nil {
				return nil
			}
			out = append(out, lits...)
			if len(out) > maxRequiredLiterals {
				return nil
			}
		}
		return out
	}
	return nil
}

// selectivity scores a literal: its length, or nothing for the common
// words that almost every message holds.
func selectivity(l string) int {
	if commonWords[strings.TrimSpace(l)] {
		return 0
	}
	return len(strings.TrimSpace(l))
}

var commonWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`i me my a an the to and or but he she it is am are was were be been of in on at
		with for that this have has had do not you your we they them his her him so just if as all`) {
		m[w] = true
	}
	return m
}()

// mayMatch reports whether text contains one of the required literals (or
// the pattern has none).
func mayMatch(required []string, text string) bool {
	if required == nil {
		return true
	}
	for _, l := range required {
		if strings.Contains(text, l) {
			return true
		}
	}
	return false
}

// literalIndex finds, in one pass over a text, which of the rules' required
// literals it contains: the literals are bucketed by their first two bytes,
// and each position of the text checks only its bucket. Running
// strings.Contains for every literal of every branch (about 1,400 searches
// of the whole text) was most of the time of a long message.
type literalIndex struct {
	lits  []string
	start []int32 // start[k]..start[k+1] index ids for the two-byte key k
	ids   []int32
}

// newLiteralIndex numbers the required literals of the branches (setting
// their ids) and indexes them.
func newLiteralIndex(branches []*branch) *literalIndex {
	x := &literalIndex{}
	num := map[string]int32{}
	for _, b := range branches {
		b.ids = nil
		for _, set := range b.all {
			ids := make([]int32, 0, len(set))
			for _, l := range set {
				id, ok := num[l]
				if !ok {
					id = int32(len(x.lits))
					num[l] = id
					x.lits = append(x.lits, l)
				}
				ids = append(ids, id)
			}
			b.ids = append(b.ids, ids)
		}
	}
	counts := make([]int32, 1<<16+1)
	for _, l := range x.lits {
		counts[key2(l)+1]++
	}
	for k := 1; k < len(counts); k++ {
		counts[k] += counts[k-1]
	}
	x.start = counts
	x.ids = make([]int32, len(x.lits))
	fill := slices.Clone(counts)
	for id, l := range x.lits {
		k := key2(l)
		x.ids[fill[k]] = int32(id)
		fill[k]++
	}
	return x
}

// key2 is a literal's two-byte bucket (every required literal has at least
// two bytes: see requiredLiterals).
func key2(s string) int { return int(s[0])<<8 | int(s[1]) }

// present reports, for every literal, the windows of text (byte ranges,
// in order, at most 64 told apart: the 64th stands for all later ones)
// that hold it whole.
func (x *literalIndex) present(text string, windows [][2]int) []uint64 {
	found := make([]uint64, len(x.lits))
	w := 0
	for i := 0; i+1 < len(text); i++ {
		for w+1 < len(windows) && windows[w+1][0] <= i {
			w++
		}
		k := int(text[i])<<8 | int(text[i+1])
		for _, id := range x.ids[x.start[k]:x.start[k+1]] {
			l := x.lits[id]
			if !strings.HasPrefix(text[i:], l) {
				continue
			}
			// Windows share the space between them: a literal that starts
			// there may lie in the window before.
			for v := w; v >= max(0, w-1) && windows[v][0] <= i; v-- {
				if i+len(l) <= windows[v][1] {
					found[id] |= windowBit(v)
				}
			}
		}
	}
	return found
}

// windowBit is the bit of window k in a mask.
func windowBit(k int) uint64 { return 1 << min(k, 63) }

// windowsIn returns the windows where the branch may match: those holding
// a literal of each of its sets.
func (b *branch) windowsIn(found []uint64) uint64 {
	m := ^uint64(0)
	for _, set := range b.ids {
		var any uint64
		for _, id := range set {
			any |= found[id]
		}
		m &= any
	}
	return m
}
