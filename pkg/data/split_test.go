package data

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"testing"
)

func groupNames(n int) []string {
	g := make([]string, n)
	for i := range g {
		g[i] = strconv.Itoa(i)
	}
	return g
}

func splitCounts(as Assignment) map[Split]int {
	c := map[Split]int{}
	for _, sp := range as {
		c[sp]++
	}
	return c
}

func TestAssignSplits(t *testing.T) {
	groups := groupNames(100)
	as, err := AssignSplits(groups, nil, DefaultSplitRatios(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 100 {
		t.Fatalf("%d groups assigned, want 100", len(as))
	}
	if c := splitCounts(as); c[SplitTrain] != 80 || c[SplitValidation] != 10 || c[SplitTest] != 10 {
		t.Errorf("counts %v", c)
	}
	// Deterministic and independent of input order.
	rev := append([]string(nil), groups...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	again, _ := AssignSplits(append(rev, rev[:5]...), nil, DefaultSplitRatios(), 1)
	if !reflect.DeepEqual(as, again) {
		t.Error("assignment depends on the order or repetition of groups")
	}
	other, _ := AssignSplits(groups, nil, DefaultSplitRatios(), 2)
	if reflect.DeepEqual(as, other) {
		t.Error("seeds 1 and 2 give the same assignment")
	}
	// The first groups are not simply the training set: the order is shuffled.
	inOrder := true
	for i := 0; i < 80; i++ {
		inOrder = inOrder && as[strconv.Itoa(i)] == SplitTrain
	}
	if inOrder {
		t.Error("assignment is not shuffled")
	}
}

func TestAssignSplitsRounding(t *testing.T) {
	tests := []struct {
		n      int
		ratios SplitRatios
		want   [3]int
	}{
		{23, DefaultSplitRatios(), [3]int{19, 2, 2}},
		{110, DefaultSplitRatios(), [3]int{88, 11, 11}},
		{940, DefaultSplitRatios(), [3]int{752, 94, 94}},
		{5, DefaultSplitRatios(), [3]int{4, 1, 0}},
		{3, SplitRatios{1, 0, 0}, [3]int{3, 0, 0}},
		{10, SplitRatios{0.5, 0, 0.5}, [3]int{5, 0, 5}},
		{7, SplitRatios{0.7, 0.15, 0.15}, [3]int{5, 1, 1}},
		{0, DefaultSplitRatios(), [3]int{0, 0, 0}},
	}
	for _, tc := range tests {
		as, err := AssignSplits(groupNames(tc.n), nil, tc.ratios, 3)
		if err != nil {
			t.Fatal(err)
		}
		c := splitCounts(as)
		if got := [3]int{c[SplitTrain], c[SplitValidation], c[SplitTest]}; got != tc.want {
			t.Errorf("n=%d ratios %+v: %v, want %v", tc.n, tc.ratios, got, tc.want)
		}
	}
}

func TestSplitRatiosValidate(t *testing.T) {
	for _, r := range []SplitRatios{{0.8, 0.1, 0.2}, {-0.1, 0.6, 0.5}, {math.NaN(), 0.5, 0.5}, {0, 0, 0}, {1.5, -0.5, 0}} {
		if err := r.Validate(); err == nil {
			t.Errorf("%+v accepted", r)
		}
		if _, err := AssignSplits(groupNames(3), nil, r, 1); err == nil {
			t.Errorf("AssignSplits accepted %+v", r)
		}
	}
	if err := (SplitRatios{0.7, 0.2, 0.1}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestStratifiedSplits(t *testing.T) {
	groups := groupNames(133)
	quality := func(g string) string {
		if n, _ := strconv.Atoi(g); n%6 == 0 {
			return QualityLow
		}
		return QualityHigh
	}
	as, err := AssignSplits(groups, quality, DefaultSplitRatios(), 42)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]map[Split]int{QualityLow: {}, QualityHigh: {}}
	for g, sp := range as {
		per[quality(g)][sp]++
	}
	// 23 low: 19/2/2; 110 high: 88/11/11.
	if fmt.Sprint(per[QualityLow]) != "map[test:2 train:19 validation:2]" || fmt.Sprint(per[QualityHigh]) != "map[test:11 train:88 validation:11]" {
		t.Errorf("per-stratum counts %v", per)
	}
}

func TestSelectSplitNoLeak(t *testing.T) {
	convs := AnnoMIConversations(windowTranscript(), WindowOptions{})
	as := Assignment{"7": SplitTrain, "8": SplitTest}
	if got := SelectSplit(convs, as, SplitTrain); len(got) != 2 || got[0].Group != "7" || got[1].Group != "7" {
		t.Errorf("train %v", got)
	}
	if got := SelectSplit(convs, as, SplitValidation); len(got) != 0 {
		t.Errorf("validation %v", got)
	}
	if got := SelectSplit(convs, Assignment{}, SplitTrain); len(got) != 0 {
		t.Errorf("unassigned groups selected: %v", got)
	}
}

func TestParseSplitQuality(t *testing.T) {
	for _, s := range []string{"train", "validation", "test"} {
		if sp, err := ParseSplit(s); err != nil || string(sp) != s {
			t.Errorf("ParseSplit(%q) = %q, %v", s, sp, err)
		}
	}
	if _, err := ParseSplit("val"); err == nil {
		t.Error("ParseSplit(val) accepted")
	}
	for in, want := range map[string]string{"": QualityAll, "all": QualityAll, "high": QualityHigh, "low": QualityLow} {
		if got, err := ParseQuality(in); err != nil || got != want {
			t.Errorf("ParseQuality(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseQuality("medium"); err == nil {
		t.Error("ParseQuality(medium) accepted")
	}
}

func TestFilters(t *testing.T) {
	convs := append(AnnoMIConversations(windowTranscript(), WindowOptions{}),
		Conversation{Source: SourceCounselChat, ID: "1-0", Group: "1"})
	ids := func(cs []Conversation) string {
		s := ""
		for _, c := range cs {
			s += c.ID + " "
		}
		return s
	}
	tests := []struct {
		got, want string
	}{
		{ids(FilterQuality(convs, QualityLow)), "7-3 7-6 1-0 "},
		{ids(FilterQuality(convs, QualityHigh)), "8-1 1-0 "},
		{ids(FilterQuality(convs, QualityAll)), "7-3 7-6 8-1 1-0 "},
		{ids(FirstGroups(convs, 1)), "7-3 7-6 "},
		{ids(FirstGroups(convs, 2)), "7-3 7-6 8-1 "},
		{ids(FirstGroups(convs, 0)), "7-3 7-6 8-1 1-0 "},
		{ids(FirstGroups(convs, 9)), "7-3 7-6 8-1 1-0 "},
	}
	for i, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("case %d: %q, want %q", i, tc.got, tc.want)
		}
	}
	pairs := []PreferencePair{{ID: "a", Group: "1"}, {ID: "b", Group: "2"}, {ID: "c", Group: "1"}}
	if got := FirstPairGroups(pairs, 1); len(got) != 2 || got[1].ID != "c" {
		t.Errorf("FirstPairGroups %v", got)
	}
}
