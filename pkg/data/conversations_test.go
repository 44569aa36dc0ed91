package data

import (
	"strings"
	"testing"
)

func windowTranscript() *AnnoMI {
	th := func(id int, text, beh string, fine FineLabels) Utterance {
		return Utterance{ID: id, Speaker: SpeakerTherapist, Text: text, Behaviour: beh, Fine: fine}
	}
	cl := func(id int, text, talk string) Utterance {
		return Utterance{ID: id, Speaker: SpeakerClient, Text: text, TalkType: talk}
	}
	return &AnnoMI{Transcripts: []Transcript{
		{ID: 7, Quality: QualityLow, Topic: "alcohol", Utterances: []Utterance{
			th(0, "Hello.", BehaviourOther, FineLabels{}),
			cl(1, "Hi.", TalkNeutral),
			cl(2, "I drink.", TalkSustain),
			th(3, "You drink.", BehaviourReflection, FineLabels{ReflectionExists: true, ReflectionSubtype: ReflectionComplex}),
			th(4, "Why?", BehaviourQuestion, FineLabels{QuestionExists: true, QuestionSubtype: QuestionOpen}),
			cl(5, "Fun.", TalkChange),
			th(6, "Fun matters.", BehaviourReflection, FineLabels{ReflectionExists: true, ReflectionSubtype: ReflectionSimple}),
		}},
		{ID: 8, Quality: QualityHigh, Utterances: []Utterance{cl(0, "Help.", TalkNeutral), th(1, "Sure.", BehaviourOther, FineLabels{})}},
	}}
}

// render shows a conversation as "ID: role:text | role:text".
func render(c Conversation) string {
	var parts []string
	for _, m := range c.Messages {
		parts = append(parts, m.Role[:1]+":"+m.Content)
	}
	return c.ID + ": " + strings.Join(parts, " | ")
}

func TestTurns(t *testing.T) {
	turns := windowTranscript().Transcripts[0].Turns()
	if len(turns) != 5 {
		t.Fatalf("%d turns, want 5", len(turns))
	}
	if tr := turns[1]; tr.Text != "Hi. I drink." || tr.FirstID != 1 || tr.LastID != 2 || tr.Utterances != 2 || tr.TalkType != TalkSustain {
		t.Errorf("merged client turn %+v", tr)
	}
	if tr := turns[2]; tr.Text != "You drink. Why?" || tr.Behaviour != BehaviourQuestion || tr.Fine.QuestionSubtype != QuestionOpen {
		t.Errorf("merged therapist turn %+v", tr)
	}
}

func TestAnnoMIConversations(t *testing.T) {
	tests := []struct {
		contextTurns int
		want         []string
	}{
		{0, []string{"7-3: u:Hi. I drink. | a:You drink. Why?", "7-6: u:Hi. I drink. | a:You drink. Why? | u:Fun. | a:Fun matters.", "8-1: u:Help. | a:Sure."}},
		{1, []string{"7-3: u:Hi. I drink. | a:You drink. Why?", "7-6: u:Fun. | a:Fun matters.", "8-1: u:Help. | a:Sure."}},
		{2, []string{"7-3: u:Hi. I drink. | a:You drink. Why?", "7-6: u:Fun. | a:Fun matters.", "8-1: u:Help. | a:Sure."}},
		{3, []string{"7-3: u:Hi. I drink. | a:You drink. Why?", "7-6: u:Hi. I drink. | a:You drink. Why? | u:Fun. | a:Fun matters.", "8-1: u:Help. | a:Sure."}},
	}
	for _, tc := range tests {
		convs := AnnoMIConversations(windowTranscript(), WindowOptions{ContextTurns: tc.contextTurns})
		var got []string
		for _, c := range convs {
			got = append(got, render(c))
			if err := ValidateConversation(&c); err != nil {
				t.Error(err)
			}
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("ContextTurns %d:\n got %q\nwant %q", tc.contextTurns, got, tc.want)
		}
	}
	convs := AnnoMIConversations(windowTranscript(), WindowOptions{})
	c := convs[0]
	if c.Source != SourceAnnoMI || c.Group != "7" || c.Quality != QualityLow || c.Topic != "alcohol" {
		t.Errorf("conversation fields %+v", c)
	}
	wantLabels := Labels{TherapistBehaviour: BehaviourQuestion, QuestionSubtype: QuestionOpen, ClientTalkType: TalkSustain}
	if c.Labels != wantLabels {
		t.Errorf("labels %+v, want %+v", c.Labels, wantLabels)
	}
	if l := convs[1].Labels; l != (Labels{TherapistBehaviour: BehaviourReflection, ReflectionSubtype: ReflectionSimple, ClientTalkType: TalkChange}) {
		t.Errorf("labels of 7-6: %+v", l)
	}
}

func TestValidateConversation(t *testing.T) {
	u, a, s := Message{RoleUser, "q"}, Message{RoleAssistant, "r"}, Message{RoleSystem, "sys"}
	tests := []struct {
		name string
		msgs []Message
		err  string
	}{
		{"ok", []Message{u, a}, ""},
		{"system first", []Message{s, u, a, u, a}, ""},
		{"too short", []Message{u}, "at least"},
		{"assistant first", []Message{a, u, a}, "message 1 has role \"assistant\""},
		{"ends with user", []Message{u, a, u}, "last message"},
		{"repeated user", []Message{s, u, u, a}, "message 3 has role \"user\""},
		{"blank", []Message{u, {RoleAssistant, " \n"}}, "message 2 is empty"},
		{"bad role", []Message{{"model", "x"}, a}, "role \"model\""},
	}
	for _, tc := range tests {
		err := ValidateConversation(&Conversation{Source: "x", ID: "1", Messages: tc.msgs})
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
		}
	}
	if err := ValidateConversation(&Conversation{Messages: []Message{u, a}}); err == nil {
		t.Error("missing source and id accepted")
	}
}
