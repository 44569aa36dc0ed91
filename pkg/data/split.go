package data

import (
	"fmt"
	"math"
	"sort"
	"strconv"
)

// Split names a part of the data.
type Split string

const (
	SplitTrain      Split = "train"
	SplitValidation Split = "validation"
	SplitTest       Split = "test"
)

// Splits lists the splits in their usual order.
var Splits = []Split{SplitTrain, SplitValidation, SplitTest}

// ParseSplit checks a split name.
func ParseSplit(s string) (Split, error) {
	for _, sp := range Splits {
		if string(sp) == s {
			return sp, nil
		}
	}
	return "", fmt.Errorf("unknown split %q (want train, validation or test)", s)
}

// SplitRatios are the shares of groups that go to each split.
type SplitRatios struct {
	Train      float64 `json:"train"`
	Validation float64 `json:"validation"`
	Test       float64 `json:"test"`
}

// DefaultSplitRatios is 80/10/10.
func DefaultSplitRatios() SplitRatios { return SplitRatios{Train: 0.8, Validation: 0.1, Test: 0.1} }

// Validate checks that the ratios are in [0, 1] and sum to 1.
func (r SplitRatios) Validate() error {
	for _, v := range []float64{r.Train, r.Validation, r.Test} {
		if math.IsNaN(v) || v < 0 || v > 1 {
			return fmt.Errorf("split ratios %v/%v/%v: each must be in [0, 1]", r.Train, r.Validation, r.Test)
		}
	}
	if sum := r.Train + r.Validation + r.Test; math.Abs(sum-1) > 1e-6 {
		return fmt.Errorf("split ratios %v/%v/%v sum to %v, want 1", r.Train, r.Validation, r.Test, sum)
	}
	return nil
}

// Assignment maps a group (Conversation.Group) to its split.
type Assignment map[string]Split

// AssignSplits spreads groups over the splits. Within each stratum (all
// groups share one when stratum is nil) the groups are shuffled with a
// generator seeded from seed and the stratum's name, and cut in the ratios'
// proportions, rounded by largest remainder (train, then validation, then
// test on ties). The result depends only on the set of groups, their strata,
// the ratios and the seed: not on the order of groups.
func AssignSplits(groups []string, stratum func(group string) string, ratios SplitRatios, seed uint64) (Assignment, error) {
	if err := ratios.Validate(); err != nil {
		return nil, err
	}
	strata := map[string][]string{}
	seen := map[string]bool{}
	for _, g := range groups {
		if seen[g] {
			continue
		}
		seen[g] = true
		s := ""
		if stratum != nil {
			s = stratum(g)
		}
		strata[s] = append(strata[s], g)
	}
	as := Assignment{}
	weights := []float64{ratios.Train, ratios.Validation, ratios.Test}
	for name, members := range strata {
		sort.Strings(members)
		r := newRNG(seed, "split/"+name)
		r.shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
		counts := largestRemainder(len(members), weights)
		i := 0
		for k, sp := range Splits {
			for _, g := range members[i : i+counts[k]] {
				as[g] = sp
			}
			i += counts[k]
		}
	}
	return as, nil
}

// AnnoMISplits assigns AnnoMI transcripts to splits, stratified by quality
// so that the 23 low-quality sessions are spread like the high ones.
func AnnoMISplits(a *AnnoMI, ratios SplitRatios, seed uint64) (Assignment, error) {
	groups := make([]string, 0, len(a.Transcripts))
	quality := map[string]string{}
	for _, t := range a.Transcripts {
		g := strconv.Itoa(t.ID)
		groups = append(groups, g)
		quality[g] = t.Quality
	}
	return AssignSplits(groups, func(g string) string { return quality[g] }, ratios, seed)
}

// CounselChatSplits assigns CounselChat questions to splits.
func CounselChatSplits(c *CounselChat, ratios SplitRatios, seed uint64) (Assignment, error) {
	groups := make([]string, 0, len(c.Questions))
	for _, q := range c.Questions {
		groups = append(groups, strconv.Itoa(q.ID))
	}
	return AssignSplits(groups, nil, ratios, seed)
}

// SelectSplit keeps the conversations whose group is assigned to split;
// groups missing from the assignment are dropped.
func SelectSplit(convs []Conversation, as Assignment, split Split) []Conversation {
	return selectSplit(convs, func(c *Conversation) string { return c.Group }, as, split)
}

// SelectPairSplit keeps the preference pairs whose group is assigned to split.
func SelectPairSplit(pairs []PreferencePair, as Assignment, split Split) []PreferencePair {
	return selectSplit(pairs, func(p *PreferencePair) string { return p.Group }, as, split)
}

// selectSplit keeps the items whose group is assigned to split.
func selectSplit[T any](items []T, group func(*T) string, as Assignment, split Split) []T {
	var out []T
	for i := range items {
		if as[group(&items[i])] == split {
			out = append(out, items[i])
		}
	}
	return out
}
