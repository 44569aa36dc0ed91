package data

import (
	"encoding/json"
	"io"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The shipped corpora, loaded once for the tests that check known counts
// (numbers from datasets/README.md, computed independently with Python's csv).
var (
	shippedOnce   sync.Once
	shipped       *Corpus
	shippedErr    error
	shippedDirRel = "../../datasets"
)

func loadShipped(t testing.TB) *Corpus {
	t.Helper()
	shippedOnce.Do(func() { shipped, shippedErr = LoadCorpus(shippedDirRel) })
	if shippedErr != nil {
		t.Fatal(shippedErr)
	}
	return shipped
}

func TestShippedStats(t *testing.T) {
	s, err := loadShipped(t).Stats()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	// The command contract of issue 2, with the known values.
	contract := map[string]map[string]any{
		"annomi": {
			"transcripts": 133.0, "utterances": 9699.0,
			"quality":             map[string]any{"high": 110.0, "low": 23.0},
			"interlocutor":        map[string]any{"therapist": 4882.0, "client": 4817.0},
			"therapist_behaviour": map[string]any{"question": 1386.0, "reflection": 1296.0, "therapist_input": 614.0, "other": 1586.0},
			"client_talk_type":    map[string]any{"change": 1174.0, "neutral": 3102.0, "sustain": 541.0},
		},
		"counselchat": {"rows": 2775.0, "questions": 940.0, "answers": 2749.0, "empty_answers": 26.0, "topics": 31.0, "preference_pairs": 255.0},
	}
	for section, fields := range contract {
		for k, want := range fields {
			if !reflect.DeepEqual(got[section][k], want) {
				t.Errorf("%s.%s = %v, want %v", section, k, got[section][k], want)
			}
		}
	}
	a := s.AnnoMI
	if a.Turns != 9661 || a.UtterancesByQuality != (QualityCounts{High: 8839, Low: 860}) || a.MultiAnnotated != 428 || a.TopicTags != 39 {
		t.Errorf("extra AnnoMI stats: turns %d, by quality %+v, multi %d, tags %d", a.Turns, a.UtterancesByQuality, a.MultiAnnotated, a.TopicTags)
	}
	if s.CounselChat.QuestionsWithAnswers != 937 {
		t.Errorf("questions with answers %d, want 937", s.CounselChat.QuestionsWithAnswers)
	}
	var table strings.Builder
	if err := s.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"133 (110 / 23)", "9699 (8839 / 860)", "4882 / 4817", "940 (937)", "255"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

func TestShippedAnnoMIShape(t *testing.T) {
	a := loadShipped(t).AnnoMI
	startsTherapist, rawTopics := 0, map[string]bool{}
	for _, tr := range a.Transcripts {
		for i, u := range tr.Utterances {
			if u.ID != i {
				t.Fatalf("transcript %d: utterance %d at position %d", tr.ID, u.ID, i)
			}
		}
		if tr.Utterances[0].Speaker == SpeakerTherapist {
			startsTherapist++
		}
		rawTopics[tr.Topic] = true
	}
	if startsTherapist != 116 {
		t.Errorf("%d transcripts start with the therapist, want 116", startsTherapist)
	}
	if len(rawTopics) != 43 { // 44 raw strings, one differing only by a trailing space
		t.Errorf("%d trimmed topics, want 43", len(rawTopics))
	}
	// Finer labels: every therapist utterance of the shipped full file is labelled.
	for _, tr := range a.Transcripts {
		for _, u := range tr.Utterances {
			if u.Fine.Annotations == 0 {
				t.Fatalf("transcript %d utterance %d has no fine labels", tr.ID, u.ID)
			}
		}
	}
}

// TestShippedVoteMatchesSimple checks the documented tie-break: voting the
// main labels of the 428 ten-times-annotated utterances with the rule of
// voteFine reproduces AnnoMI-simple.csv's labels exactly.
func TestShippedVoteMatchesSimple(t *testing.T) {
	a := loadShipped(t).AnnoMI
	f, err := os.Open(PathsIn(shippedDirRel).AnnoMIFull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tb, err := newTable(f, "full", annoMIFullColumns)
	if err != nil {
		t.Fatal(err)
	}
	type vote struct {
		annotator int
		label     string
	}
	votes := map[utteranceKey][]vote{}
	for {
		if err := tb.next(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		tid, _ := tb.int("transcript_id")
		uid, _ := tb.int("utterance_id")
		ann, _ := tb.int("annotator_id")
		votes[utteranceKey{tid, uid}] = append(votes[utteranceKey{tid, uid}], vote{ann, tb.get("main_therapist_behaviour") + "/" + tb.get("client_talk_type")})
	}
	checked := 0
	for _, tr := range a.Transcripts {
		for _, u := range tr.Utterances {
			vs := votes[utteranceKey{tr.ID, u.ID}]
			if len(vs) < 2 {
				continue
			}
			sort.Slice(vs, func(i, j int) bool { return vs[i].annotator < vs[j].annotator })
			labels := make([]string, len(vs))
			for i, v := range vs {
				labels[i] = v.label
			}
			if got, want := majority(labels), orNA(u.Behaviour)+"/"+orNA(u.TalkType); got != want {
				t.Errorf("transcript %d utterance %d: vote %s, simple file %s", tr.ID, u.ID, got, want)
			}
			checked++
		}
	}
	if checked != 428 {
		t.Errorf("checked %d multi-annotated utterances, want 428", checked)
	}
}

func TestShippedConversations(t *testing.T) {
	a := loadShipped(t).AnnoMI
	for _, contextTurns := range []int{0, 1, 4, DefaultContextTurns} {
		convs := AnnoMIConversations(a, WindowOptions{ContextTurns: contextTurns})
		if len(convs) != 4743 {
			t.Errorf("ContextTurns %d: %d conversations, want 4743 (therapist turns after a client turn)", contextTurns, len(convs))
		}
		ids := map[string]bool{}
		for i := range convs {
			c := &convs[i]
			if err := ValidateConversation(c); err != nil {
				t.Fatal(err)
			}
			if contextTurns > 0 && len(c.Messages) > contextTurns+1 {
				t.Fatalf("ContextTurns %d: conversation %s has %d messages", contextTurns, c.ID, len(c.Messages))
			}
			if ids[c.ID] {
				t.Fatalf("duplicate id %s", c.ID)
			}
			ids[c.ID] = true
			if c.Labels.TherapistBehaviour == "" || c.Labels.ClientTalkType == "" {
				t.Fatalf("conversation %s lacks labels: %+v", c.ID, c.Labels)
			}
		}
	}
	cc := loadShipped(t).CounselChat
	convs := CounselChatConversations(cc)
	if len(convs) != 2749 {
		t.Errorf("%d CounselChat conversations, want 2749", len(convs))
	}
	for i := range convs {
		if err := ValidateConversation(&convs[i]); err != nil {
			t.Fatal(err)
		}
	}
}

func TestShippedPairs(t *testing.T) {
	cc := loadShipped(t).CounselChat
	tests := []struct {
		opts PairOptions
		want int
	}{
		{PairOptions{}, 255},
		{PairOptions{TieBreak: TieBreakLonger}, 255},
		{PairOptions{TieBreak: TieBreakViews}, 255},
		{PairOptions{TieBreak: TieBreakSkip}, 103}, // unique top and unique bottom
		{PairOptions{MinMargin: 2}, 255 - 113},     // gap histogram: 113 questions have gap 1
		{PairOptions{AllOrdered: true}, 4946},
	}
	for _, tc := range tests {
		pairs, err := PreferencePairs(cc, tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(pairs) != tc.want {
			t.Errorf("%+v: %d pairs, want %d", tc.opts, len(pairs), tc.want)
		}
	}
}

func TestShippedPrepare(t *testing.T) {
	c := loadShipped(t)
	p, err := c.Prepare(DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	// No transcript or question in two splits, and every group in one.
	for _, tc := range []struct {
		name   string
		as     Assignment
		groups int
		want   map[Split]int
	}{
		{"annomi", p.AnnoMISplits, 133, map[Split]int{SplitTrain: 107, SplitValidation: 13, SplitTest: 13}},
		{"counselchat", p.CounselChatSplits, 940, map[Split]int{SplitTrain: 752, SplitValidation: 94, SplitTest: 94}},
	} {
		if len(tc.as) != tc.groups || !reflect.DeepEqual(splitCounts(tc.as), tc.want) {
			t.Errorf("%s: %d groups, counts %v, want %d and %v", tc.name, len(tc.as), splitCounts(tc.as), tc.groups, tc.want)
		}
	}
	lowPerSplit := map[Split]int{}
	for _, tr := range c.AnnoMI.Transcripts {
		if tr.Quality == QualityLow {
			lowPerSplit[p.AnnoMISplits[strconv.Itoa(tr.ID)]]++
		}
	}
	if !reflect.DeepEqual(lowPerSplit, map[Split]int{SplitTrain: 19, SplitValidation: 2, SplitTest: 2}) {
		t.Errorf("low-quality transcripts per split %v, want 19/2/2", lowPerSplit)
	}
	groupSplit := map[string]Split{}
	total := map[string]int{}
	for _, sp := range Splits {
		set := p.Sets[sp]
		for _, cs := range [][]Conversation{set.CounselChat, set.AnnoMI} {
			for _, cv := range cs {
				key := cv.Source + "/" + cv.Group
				if prev, ok := groupSplit[key]; ok && prev != sp {
					t.Fatalf("group %s in %s and %s", key, prev, sp)
				}
				groupSplit[key] = sp
				if cv.Split != string(sp) {
					t.Fatalf("conversation %s has Split %q in set %s", cv.ID, cv.Split, sp)
				}
				total[cv.Source]++
			}
		}
		for _, pr := range set.Pairs {
			if p.CounselChatSplits[pr.Group] != sp {
				t.Fatalf("pair %s of question in %s found in %s", pr.ID, p.CounselChatSplits[pr.Group], sp)
			}
		}
	}
	if total[SourceAnnoMI] != 4743 || total[SourceCounselChat] != 2749 {
		t.Errorf("conversations over all splits %v", total)
	}
	all, err := p.Conversations(All, All)
	if err != nil || len(all) != 4743+2749 {
		t.Errorf("Conversations(all, all): %d, %v", len(all), err)
	}
	// Deterministic.
	again, _ := c.Prepare(DefaultOptions())
	if !reflect.DeepEqual(p.Sets, again.Sets) {
		t.Error("Prepare is not deterministic")
	}
}

func TestShippedPrepareFilters(t *testing.T) {
	c := loadShipped(t)
	opts := DefaultOptions()
	opts.Quality = QualityLow
	opts.Debug = DebugSizes{CounselChatQuestions: 3, AnnoMITranscripts: 2}
	p, err := c.Prepare(opts)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := c.Prepare(DefaultOptions())
	for _, sp := range Splits {
		groups := map[string]bool{}
		for _, cv := range p.Sets[sp].AnnoMI {
			if cv.Quality != QualityLow {
				t.Fatalf("%s: %s has quality %s", sp, cv.ID, cv.Quality)
			}
			groups[cv.Group] = true
		}
		if len(groups) != 2 {
			t.Errorf("%s: %d AnnoMI groups, want 2", sp, len(groups))
		}
		// The split of a transcript does not depend on the filter.
		if !reflect.DeepEqual(p.AnnoMISplits, base.AnnoMISplits) {
			t.Fatal("quality filter changed the split assignment")
		}
		cc := map[string]bool{}
		for _, cv := range p.Sets[sp].CounselChat {
			cc[cv.Group] = true
		}
		if len(cc) != 3 {
			t.Errorf("%s: %d CounselChat groups, want 3", sp, len(cc))
		}
		pairGroups := map[string]bool{}
		for _, pr := range p.Sets[sp].Pairs {
			pairGroups[pr.Group] = true
		}
		if len(pairGroups) != 3 {
			t.Errorf("%s: pairs of %d questions, want 3", sp, len(pairGroups))
		}
	}
	for _, bad := range [][2]string{{"reddit", All}, {All, "dev"}} {
		if _, err := p.Conversations(bad[0], bad[1]); err == nil {
			t.Errorf("Conversations(%q, %q) accepted", bad[0], bad[1])
		}
	}
	opts = DefaultOptions()
	opts.Quality = "medium"
	if _, err := c.Prepare(opts); err == nil {
		t.Error("Prepare accepted quality medium")
	}
}

func BenchmarkLoadCorpus(b *testing.B) {
	for b.Loop() {
		if _, err := LoadCorpus(shippedDirRel); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPrepare(b *testing.B) {
	c := loadShipped(b)
	for b.Loop() {
		if _, err := c.Prepare(DefaultOptions()); err != nil {
			b.Fatal(err)
		}
	}
}
