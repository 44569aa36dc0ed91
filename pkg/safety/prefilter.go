package safety

import (
	"regexp"
	"regexp/syntax"
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
}

func compilePattern(src string) pattern {
	var p pattern
	for _, alt := range splitAlternatives(src) {
		re := regexp.MustCompile(` (?:` + alt + `) `)
		re.Longest()
		p.branches = append(p.branches, branch{re: re, required: requiredLiterals(re.String())})
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
