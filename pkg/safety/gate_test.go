package safety

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
)

// countingModel stands in for the model and counts its calls.
type countingModel struct{ calls int }

func (m *countingModel) respond(_ context.Context, msgs []data.Message) (string, error) {
	m.calls++
	return "model reply to: " + msgs[len(msgs)-1].Content, nil
}

func newTestGate(t *testing.T, off bool) *Gate {
	t.Helper()
	g, err := NewGate(config.DefaultSafety(), off)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// The model is never called for a High turn, nor for any turn after one.
func TestGateNeverCallsTheModelForHighTurns(t *testing.T) {
	g := newTestGate(t, false)
	model := &countingModel{}
	var history []data.Message
	say := func(text string) Turn {
		t.Helper()
		history = append(history, data.Message{Role: data.RoleUser, Content: text})
		turn, err := g.Reply(context.Background(), history, model.respond)
		if err != nil {
			t.Fatal(err)
		}
		history = append(history, data.Message{Role: data.RoleAssistant, Content: turn.Reply})
		return turn
	}
	turn := say("Hi, I've been stressed about exams.")
	if model.calls != 1 || !turn.ModelCalled || turn.Action != Respond || turn.Reply != "model reply to: Hi, I've been stressed about exams." {
		t.Fatalf("ordinary turn: calls %d, %+v", model.calls, turn)
	}
	for i, high := range []string{
		"I'm going to kill myself tonight.",
		"k i l l  m y s e l f",
		"I took 30 of my pills an hour ago.",
		"My husband has a knife to my throat right now.",
	} {
		before := model.calls
		turn := say(high)
		if model.calls != before || turn.ModelCalled || turn.Action != Refer || turn.Reply == "" {
			t.Fatalf("high turn %d (%q): the model was called (%d calls) or no referral: %+v", i, high, model.calls-before, turn)
		}
		// Crisis mode: the following ordinary turn does not reach the model either.
		turn = say("ok, anyway, can you recommend a book?")
		if model.calls != before || turn.Action != Refer || !turn.Screen.Crisis || turn.Reply == "" {
			t.Fatalf("turn after high %d: calls %d, %+v", i, model.calls-before, turn)
		}
		history = nil // a new conversation
	}
	c := g.Counts()
	if c.Checked != 9 || c.High != 8 || c.Referrals != 8 || c.CrisisFollowUps != 4 || c.None != 1 || !c.GateOn {
		t.Errorf("counts %+v", c)
	}
	if c.ByCategory[string(SuicidePlan)] == 0 || c.ByCategory[string(OverdoseMedical)] == 0 || c.ByCategory[string(AbuseViolence)] == 0 {
		t.Errorf("counts by category %v", c.ByCategory)
	}
}

func TestGateAppendsResourcesToConcern(t *testing.T) {
	g := newTestGate(t, false)
	model := &countingModel{}
	turn, err := g.Reply(context.Background(), conv("Sometimes I wish I could go to sleep and not wake up."), model.respond)
	if err != nil {
		t.Fatal(err)
	}
	if model.calls != 1 || turn.Action != RespondWithResources || turn.ModelReply == "" ||
		turn.Reply != turn.ModelReply+"\n\n"+selfResourceLine {
		t.Errorf("concern turn: calls %d, %+v", model.calls, turn)
	}
	turn, _ = g.Reply(context.Background(), conv("My sister says she wants to die."), model.respond)
	if model.calls != 2 || !strings.HasSuffix(turn.Reply, "\n\n"+thirdPartyResourceLine) {
		t.Errorf("third-party concern: %+v", turn)
	}
	if c := g.Counts(); c.ResourceLines != 2 || c.Concern != 2 || c.ThirdParty != 1 || c.Referrals != 0 {
		t.Errorf("counts %+v", c)
	}
}

func TestGateOffStillScreensButNeverActs(t *testing.T) {
	g := newTestGate(t, true)
	model := &countingModel{}
	turn, err := g.Reply(context.Background(), conv("I'm going to kill myself tonight."), model.respond)
	if err != nil {
		t.Fatal(err)
	}
	if model.calls != 1 || turn.Action != Ungated || turn.Reply != turn.ModelReply || turn.Screen.Level != High {
		t.Errorf("gate off: %+v", turn)
	}
	if c := g.Counts(); c.GateOn || c.High != 1 || c.Referrals != 0 || !g.Off() {
		t.Errorf("counts %+v", c)
	}
	if !strings.Contains(GateOffWarning, "--no-safety-gate") {
		t.Error("the warning does not name the flag")
	}
}

func TestGateModelErrors(t *testing.T) {
	g := newTestGate(t, false)
	boom := errors.New("out of memory")
	_, err := g.Reply(context.Background(), conv("hello"), func(context.Context, []data.Message) (string, error) { return "", boom })
	if !errors.Is(err, boom) {
		t.Errorf("error %v", err)
	}
}

// The referral texts for the shipped safety.yaml, in full: changing them is
// a reviewed change.
const (
	selfReferral = "I'm really glad you told me, and I'm worried about your safety. I'm an AI research model and I can't give you the help you deserve right now, but people can:\n" +
		"- 988 Suicide & Crisis Lifeline (the US): call or text 988, or chat at https://988lifeline.org/chat.\n" +
		"- If you are in immediate danger, call 911.\n" +
		"- Outside the US, find a local crisis line at https://findahelpline.com, or call your local emergency number.\n" +
		"If you can, reach out to someone you trust and stay with them. You don't have to go through this alone."
	thirdPartyReferral = "It sounds like someone you care about may be in danger. If they are in immediate danger, call 911 now and stay with them if it is safe to do so.\n" +
		"- The 988 Suicide & Crisis Lifeline also helps people who are worried about someone else: call or text 988, or chat at https://988lifeline.org/chat (the US).\n" +
		"- Outside the US, find a local crisis line at https://findahelpline.com, or call your local emergency number.\n" +
		"- Poison Control: call 1-800-222-1222.\n" +
		"I'm an AI research model and can't help in an emergency; the people at these numbers can."
	crisisFollowUp = "I'm still worried about your safety, so I'll keep this conversation on getting you support. Please reach out now: " +
		"988 Suicide & Crisis Lifeline, call or text 988, or chat at https://988lifeline.org/chat (the US). If you are in immediate danger, call 911. " +
		"Outside the US: https://findahelpline.com."
	selfResourceLine = "If things get harder or you have thoughts of ending your life, the 988 Suicide & Crisis Lifeline is there: " +
		"call or text 988, or chat at https://988lifeline.org/chat (the US; elsewhere, https://findahelpline.com). In an emergency, call 911."
	thirdPartyResourceLine = "If you're worried about someone's safety, the 988 Suicide & Crisis Lifeline can help you support them: " +
		"call or text 988, or chat at https://988lifeline.org/chat (the US; elsewhere, https://findahelpline.com). If they are in immediate danger, call 911."
)

func TestGateTexts(t *testing.T) {
	g := newTestGate(t, false)
	check := func(name, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s:\n got %q\nwant %q", name, got, want)
		}
	}
	check("self referral", g.Check(conv("I'm going to kill myself tonight.")).Referral, selfReferral)
	check("third-party referral", g.Check(conv("My friend took all her pills and she won't wake up.")).Referral, thirdPartyReferral)
	check("crisis follow-up", g.Check(conv("I'm going to kill myself tonight.", "...", "ok")).Referral, crisisFollowUp)
	check("self resource line", g.Check(conv("I wish I could disappear forever.")).Resources, selfResourceLine)
	abuse := g.Check(conv("My husband hit me tonight and said he will kill me.")).Referral
	if !strings.Contains(abuse, "- National Domestic Violence Hotline: call 1-800-799-7233 or text START to 88788.\n") ||
		strings.Contains(abuse, "Poison Control") {
		t.Errorf("abuse referral lists the wrong lines:\n%s", abuse)
	}
	// The texts never ask a question: a "yes" after one would read as an
	// answer to the gate.
	for _, text := range []string{selfReferral, thirdPartyReferral, crisisFollowUp, selfResourceLine, thirdPartyResourceLine, abuse} {
		if strings.Contains(text, "?") {
			t.Errorf("text asks a question: %q", text)
		}
	}
}

func TestGateTextsFollowTheConfiguration(t *testing.T) {
	res := config.Safety{
		Region: "the UK", EmergencyNumber: "999",
		CrisisLine: config.CrisisLine{Name: "Samaritans", Call: "116 123"},
		Elsewhere:  "https://findahelpline.com",
	}
	g, err := NewGate(res, false)
	if err != nil {
		t.Fatal(err)
	}
	text := g.Check(conv("I'm going to kill myself tonight.")).Referral
	for _, want := range []string{"Samaritans (the UK): call 116 123.", "call 999", "Outside the UK"} {
		if !strings.Contains(text, want) {
			t.Errorf("referral %q lacks %q", text, want)
		}
	}
	if strings.Contains(text, "988") || strings.Contains(text, "911") {
		t.Errorf("referral keeps the US numbers: %q", text)
	}
	if _, err := NewGate(config.Safety{}, false); err == nil {
		t.Error("empty resources accepted")
	}
}

func TestContactPhrase(t *testing.T) {
	for _, c := range []struct {
		cl   config.CrisisLine
		want string
	}{
		{config.CrisisLine{Call: "988", Text: "988", Chat: "x"}, "call or text 988, or chat at x"},
		{config.CrisisLine{Call: "1", Text: "2"}, "call 1, or text 2"},
		{config.CrisisLine{Chat: "x"}, "chat at x"},
		{config.CrisisLine{Call: "1", Text: "2", Chat: "x"}, "call 1, text 2, or chat at x"},
	} {
		if got := contactPhrase(c.cl); got != c.want {
			t.Errorf("contactPhrase(%+v) = %q, want %q", c.cl, got, c.want)
		}
	}
}

func TestCategoriesAgreeWithConfig(t *testing.T) {
	if !slices.Equal(config.SafetyCategories, categoryNames()) {
		t.Errorf("config.SafetyCategories %v, safety.Categories %v", config.SafetyCategories, Categories)
	}
}

func TestDisclaimer(t *testing.T) {
	for _, want := range []string{"research and education", "not a substitute for professional care", "emergency", "988"} {
		if !strings.Contains(Disclaimer, want) {
			t.Errorf("disclaimer lacks %q", want)
		}
	}
}

// The README shows the disclaimer word for word (as a quote block, whose
// line breaks fall anywhere).
func TestReadmeHasTheDisclaimer(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var quoted []string
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "> "); ok {
			quoted = append(quoted, rest)
		}
	}
	if !strings.Contains(strings.Join(quoted, " "), Disclaimer) {
		t.Errorf("README.md does not quote the disclaimer:\n%s", Disclaimer)
	}
}
