package safety

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
)

func TestScanCorpus(t *testing.T) {
	cc := &data.CounselChat{Questions: []data.Question{
		{ID: 1, Title: "Help", Text: "I want to kill myself.", Topic: "depression"},
		{ID: 2, Title: "Sleep", Text: "How do I sleep better?", Topic: "sleep-improvement"},
		{ID: 3, Title: "My sister", Text: "My sister says she wants to die.", Topic: "family-conflict"},
		{ID: 4, Title: "Sad", Text: "Sometimes I wish I could disappear forever.", Topic: "depression"},
	}}
	anno := &data.AnnoMI{Transcripts: []data.Transcript{{ID: 7, Topic: "reducing self-harm", Utterances: []data.Utterance{
		{ID: 0, Speaker: data.SpeakerTherapist, Text: "Have you hurt yourself lately?"},
		{ID: 1, Speaker: data.SpeakerClient, Text: "Yes."},
		{ID: 2, Speaker: data.SpeakerClient, Text: "I cut myself last night."},
		{ID: 3, Speaker: data.SpeakerTherapist, Text: "Thank you for telling me."},
		{ID: 4, Speaker: data.SpeakerClient, Text: "My feet are killing me."},
	}}, {ID: 8, Topic: "smoking cessation", Utterances: []data.Utterance{
		// An even transcript: the learned screen trains on it, the scan skips it.
		{ID: 0, Speaker: data.SpeakerClient, Text: "I want to kill myself."},
	}}}}
	s := ScanCorpus(cc, anno, 10)
	c := s.CounselChat
	if c.Total != 4 || c.High != 1 || c.Concern != 2 || c.ThirdParty != 1 || c.ByCategory[string(SuicidalIdeation)] != 3 {
		t.Errorf("counselchat %+v", c)
	}
	if c.ByTopic[0].Topic != "depression" || c.ByTopic[0].Flagged() != 2 || c.ByTopic[len(c.ByTopic)-1].Flagged() != 0 {
		t.Errorf("topics %+v", c.ByTopic)
	}
	// Consecutive client utterances are one turn; transcripts trained on are skipped.
	if a := s.AnnoMI; a.Total != 2 || a.High != 1 || a.Unit != "held-out client turn" {
		t.Errorf("annomi %+v", a)
	}
	if len(s.Sample) != 4 || s.Sample[0].Level != High || s.Sample[0].Source != data.SourceCounselChat {
		t.Errorf("sample %+v", s.Sample)
	}
	if got := ScanCorpus(cc, nil, 1); len(got.Sample) != 1 || got.Sample[0].Level != High || got.AnnoMI.Total != 0 {
		t.Errorf("sample of one: %+v", got.Sample)
	}
	var out bytes.Buffer
	if err := s.WriteText(&out); err != nil || !strings.Contains(out.String(), "counselchat: 4 questions, 3 flagged") {
		t.Errorf("text:\n%s", out.String())
	}
}

// The shipped corpora: the screen flags a share of CounselChat questions,
// mostly on the topics where crisis talk belongs, and almost no held-out
// AnnoMI client turns (MI demonstrations about drinking, smoking, exercise).
func TestScanShippedCorpora(t *testing.T) {
	if testing.Short() {
		t.Skip("loads both corpora")
	}
	o, err := LoadOverview("../..", 5)
	if err != nil {
		t.Fatal(err)
	}
	cc, anno := o.Corpus.CounselChat, o.Corpus.AnnoMI
	if cc.Total != 940 || anno.Total < 2000 {
		t.Fatalf("scanned %d questions and %d client turns", cc.Total, anno.Total)
	}
	// The learned screen flags far more CounselChat questions than the
	// rules did (70): they are often about depression, abuse and self-harm,
	// where Concern is fair. It trains on the client turns of half of the
	// AnnoMI transcripts as ordinary talk (RealNegatives), and the scan
	// reads the other half: talk about drinking, smoking and health, which
	// it flagged at 9% before it saw real talk (datasets/safety/README.md).
	// The bounds keep both from growing.
	if flagged := cc.Concern + cc.High; flagged == 0 || flagged > cc.Total/3 || cc.High > cc.Total/40 {
		t.Errorf("%d of %d CounselChat questions flagged, %d high", flagged, cc.Total, cc.High)
	}
	if flagged := anno.Concern + anno.High; flagged == 0 || flagged > anno.Total*3/100 || anno.High > anno.Total/200 {
		t.Errorf("%d of %d held-out AnnoMI client turns flagged, %d high", flagged, anno.Total, anno.High)
	}
	top := map[string]bool{}
	for _, tc := range cc.ByTopic[:3] {
		top[tc.Topic] = true
	}
	if !top["depression"] {
		t.Errorf("depression is not among the topics with most flagged questions: %+v", cc.ByTopic[:3])
	}
	if len(o.Parts) != len(Parts) || o.All.Items != sumItems(o.Parts) || len(o.Corpus.Sample) == 0 {
		t.Errorf("overview %d parts, %d items", len(o.Parts), o.All.Items)
	}
}

func sumItems(rs []*Report) int {
	n := 0
	for _, r := range rs {
		n += r.Items
	}
	return n
}
