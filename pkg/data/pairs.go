package data

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// TieBreak picks one answer among answers with the same (highest or lowest)
// upvote count.
type TieBreak string

const (
	// TieBreakFirst takes the first answer in file order (the site lists
	// the most upvoted first). The default.
	TieBreakFirst TieBreak = "first"
	// TieBreakLonger takes the longer answer (then the first).
	TieBreakLonger TieBreak = "longer"
	// TieBreakViews takes the answer with more views (then the first).
	TieBreakViews TieBreak = "views"
	// TieBreakSkip drops the question unless both its top and its bottom
	// answer are unique.
	TieBreakSkip TieBreak = "skip"
)

// PairOptions control how preference pairs are drawn from CounselChat.
type PairOptions struct {
	TieBreak TieBreak // "" means TieBreakFirst
	// MinMargin is the least upvote difference between chosen and rejected
	// (values below 1 mean 1: the order must be strict).
	MinMargin int
	// AllOrdered makes a pair of every two answers of a question whose
	// upvotes differ by at least MinMargin, instead of one pair per question
	// (TieBreak is then unused).
	AllOrdered bool
}

// ParseTieBreak checks a tie-break name.
func ParseTieBreak(s string) (TieBreak, error) {
	switch tb := TieBreak(s); tb {
	case TieBreakFirst, TieBreakLonger, TieBreakViews, TieBreakSkip:
		return tb, nil
	case "":
		return TieBreakFirst, nil
	}
	return "", fmt.Errorf("unknown tie-break %q (want first, longer, views or skip)", s)
}

// PreferencePairs draws DPO pairs from the questions' non-empty answers. By
// default each question with at least two answers gives one pair, chosen =
// most upvoted and rejected = least upvoted, only where the chosen has
// strictly more upvotes; ties among equally top (or bottom) answers are
// broken by opts.TieBreak. On the shipped file this gives 255 pairs.
func PreferencePairs(c *CounselChat, opts PairOptions) ([]PreferencePair, error) {
	tieBreak, err := ParseTieBreak(string(opts.TieBreak))
	if err != nil {
		return nil, err
	}
	margin := max(opts.MinMargin, 1)
	var pairs []PreferencePair
	for i := range c.Questions {
		q := &c.Questions[i]
		if opts.AllOrdered {
			pairs = append(pairs, allOrderedPairs(q, margin)...)
			continue
		}
		chosen, rejected, ok := extremes(q.Answers, tieBreak)
		if ok && chosen.Upvotes-rejected.Upvotes >= margin {
			pairs = append(pairs, newPair(q, chosen, rejected, "q"+strconv.Itoa(q.ID)))
		}
	}
	return pairs, nil
}

func allOrderedPairs(q *Question, margin int) []PreferencePair {
	var pairs []PreferencePair
	for _, a := range q.Answers {
		for _, b := range q.Answers {
			if a.Upvotes-b.Upvotes >= margin {
				pairs = append(pairs, newPair(q, a, b, fmt.Sprintf("q%d-%d-%d", q.ID, a.Index, b.Index)))
			}
		}
	}
	return pairs
}

func newPair(q *Question, chosen, rejected Answer, id string) PreferencePair {
	return PreferencePair{
		ID:              id,
		Group:           strconv.Itoa(q.ID),
		Prompt:          []Message{{Role: RoleUser, Content: q.Prompt()}},
		Chosen:          chosen.Text,
		Rejected:        rejected.Text,
		ChosenUpvotes:   chosen.Upvotes,
		RejectedUpvotes: rejected.Upvotes,
	}
}

// extremes returns the most and the least upvoted answers after the
// tie-break; ok is false when there are fewer than two answers or when
// TieBreakSkip meets a tie.
func extremes(answers []Answer, tb TieBreak) (top, bottom Answer, ok bool) {
	if len(answers) < 2 {
		return top, bottom, false
	}
	hi, lo := answers[0].Upvotes, answers[0].Upvotes
	for _, a := range answers {
		hi, lo = max(hi, a.Upvotes), min(lo, a.Upvotes)
	}
	var tops, bottoms []Answer
	for _, a := range answers {
		if a.Upvotes == hi {
			tops = append(tops, a)
		}
		if a.Upvotes == lo {
			bottoms = append(bottoms, a)
		}
	}
	if hi == lo {
		return top, bottom, false
	}
	if tb == TieBreakSkip && (len(tops) > 1 || len(bottoms) > 1) {
		return top, bottom, false
	}
	return pick(tops, tb), pick(bottoms, tb), true
}

// pick applies the tie-break to equally voted answers (in file order).
func pick(tied []Answer, tb TieBreak) Answer {
	best := tied[0]
	for _, a := range tied[1:] {
		switch tb {
		case TieBreakLonger:
			if utf8.RuneCountInString(a.Text) > utf8.RuneCountInString(best.Text) {
				best = a
			}
		case TieBreakViews:
			if a.Views > best.Views {
				best = a
			}
		}
	}
	return best
}
