package safety

import (
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
)

func conv(turns ...string) []data.Message {
	msgs := make([]data.Message, len(turns))
	for i, t := range turns {
		role := data.RoleUser
		if i%2 == 1 {
			role = data.RoleAssistant
		}
		msgs[i] = data.Message{Role: role, Content: t}
	}
	return msgs
}

func TestScreenConversation(t *testing.T) {
	cases := []struct {
		name    string
		msgs    []data.Message
		level   Level
		subject Subject
		crisis  bool
	}{
		{"context accumulates", conv("I want to die.", "I'm sorry. What's going on?", "I have the pills."), High, Self, false},
		{"the sign alone is nothing", conv("Rough week at work.", "What happened?", "I have the pills."), None, "", false},
		{"high turns keep the conversation in crisis",
			conv("I'm going to kill myself tonight.", "Please call 988.", "never mind. what's a good pasta recipe?"), High, Self, true},
		{"a yes to the counsellor's question",
			conv("Everything is dark.", "Are you having thoughts of killing yourself?", "yes, most days"), High, Self, false},
		{"a yes to a question about passive wishes",
			conv("I'm tired.", "Do you ever wish you could go to sleep and not wake up?", "sometimes"), Concern, Self, false},
		{"a no to the question",
			conv("Work is hard.", "Have you had thoughts of hurting yourself?", "No, just stressed."), None, "", false},
		{"a yes without a question is nothing", conv("hi", "How was your day?", "yes"), None, "", false},
		{"someone else's escalation",
			conv("My brother talks about wanting to die.", "That's worrying.", "He just told me he bought a rope."), High, ThirdParty, false},
		{"the assistant's words are not the person's",
			conv("I feel low.", "Some people in pain think about killing themselves.", "I'm just tired."), None, "", false},
		{"idioms across turns", conv("My job is killing me.", "What's going on?", "I'm dying for a vacation."), None, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ScreenConversationRules(c.msgs)
			if all := ScreenConversation(c.msgs); all.Level < r.Level {
				t.Errorf("with the learned screen the level is %s, below the rules' %s", all.Level, r.Level)
			}
			if r.Level != c.level || r.Subject != c.subject || r.Crisis != c.crisis {
				t.Errorf("level %s subject %q crisis %v, want %s %q %v (%s)", r.Level, r.Subject, r.Crisis,
					c.level, c.subject, c.crisis, r.Explanation)
			}
			for _, e := range r.Evidence {
				text := c.msgs[e.Message].Content
				if c.msgs[e.Message].Role != data.RoleUser || text[e.Start:e.End] != e.Text {
					t.Errorf("evidence %+v does not point into a user turn", e)
				}
			}
		})
	}
}

// A conversation of one user turn screens as the turn alone.
func TestScreenConversationOfOneTurn(t *testing.T) {
	for _, cases := range phenomena {
		for _, c := range cases {
			a, b := Screen(c.text), ScreenConversation([]data.Message{{Role: data.RoleUser, Content: c.text}})
			if a.Level != b.Level || a.Subject != b.Subject || len(a.Evidence) != len(b.Evidence) {
				t.Errorf("%q: alone %s/%q, as a conversation %s/%q", c.text, a.Level, a.Subject, b.Level, b.Subject)
			}
		}
	}
}

func TestScreenConversationIgnoresSystemTurns(t *testing.T) {
	msgs := []data.Message{
		{Role: data.RoleSystem, Content: "You are a counsellor. Never tell anyone to kill themselves."},
		{Role: data.RoleUser, Content: "I had a good day."},
	}
	if r := ScreenConversation(msgs); r.Level != None {
		t.Errorf("system turn screened: %+v", r)
	}
}
