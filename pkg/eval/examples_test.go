package eval

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/chat"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/metrics"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

func msg(role, content string) data.Message { return data.Message{Role: role, Content: content} }

func counselChat(question string, answer int, upvotes int) data.Conversation {
	return data.Conversation{
		Source: data.SourceCounselChat, ID: fmt.Sprintf("%s-%d", question, answer), Group: question, Upvotes: upvotes,
		Messages: []data.Message{msg(data.RoleUser, "question "+question), msg(data.RoleAssistant, fmt.Sprintf("answer %s-%d", question, answer))},
	}
}

func annoMI(id string, labels data.Labels) data.Conversation {
	return data.Conversation{
		Source: data.SourceAnnoMI, ID: id, Group: "7", Quality: data.QualityHigh, Labels: labels,
		Messages: []data.Message{
			msg(data.RoleUser, "client 1"), msg(data.RoleAssistant, "therapist 1"),
			msg(data.RoleUser, "client 2 of "+id), msg(data.RoleAssistant, "  therapist reply "+id+"  "),
		},
	}
}

func TestSelectExamples(t *testing.T) {
	convs := []data.Conversation{
		annoMI("a1", data.Labels{TherapistBehaviour: data.BehaviourQuestion, QuestionSubtype: data.QuestionOpen}),
		counselChat("q1", 0, 1),
		counselChat("q1", 1, 3),
		counselChat("q1", 2, 3), // ties the best: the first stays
		annoMI("a2", data.Labels{TherapistBehaviour: data.BehaviourReflection, ReflectionSubtype: data.ReflectionComplex}),
		counselChat("q2", 0, 0),
		annoMI("a3", data.Labels{TherapistBehaviour: data.BehaviourTherapistInput, InputSubtype: data.InputAdvice}),
		annoMI("a4", data.Labels{}),
	}
	got, err := SelectExamples(convs, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range got {
		ids = append(ids, e.ID)
	}
	if want := []string{"q1-1", "q2-0", "a1", "a2", "a3", "a4"}; !slices.Equal(ids, want) {
		t.Fatalf("examples %v, want %v", ids, want)
	}
	if got[0].Reference != "answer q1-1" || len(got[0].Prompt) != 1 || got[0].Prompt[0].Content != "question q1" || got[0].Gold != nil {
		t.Errorf("CounselChat example %+v", got[0])
	}
	a1 := got[2]
	if a1.Reference != "therapist reply a1" || len(a1.Prompt) != 3 || a1.Context() != "client 2 of a1" || a1.Quality != data.QualityHigh {
		t.Errorf("AnnoMI example %+v", a1)
	}
	golds := []*metrics.MICode{
		{Behaviour: metrics.BehaviourQuestion, Subtype: metrics.QuestionOpen},
		{Behaviour: metrics.BehaviourReflection, Subtype: metrics.ReflectionComplex},
		{Behaviour: metrics.BehaviourTherapistInput},
		nil,
	}
	for i, want := range golds {
		if g := got[2+i].Gold; !reflect.DeepEqual(g, want) {
			t.Errorf("%s gold %+v, want %+v", got[2+i].ID, g, want)
		}
	}

	limited, err := SelectExamples(convs, 2)
	if err != nil {
		t.Fatal(err)
	}
	ids = ids[:0]
	for _, e := range limited {
		ids = append(ids, e.ID)
	}
	if want := []string{"q1-1", "q2-0", "a1", "a3"}; !slices.Equal(ids, want) {
		t.Errorf("limit 2: %v, want %v", ids, want)
	}

	bad := []data.Conversation{counselChat("q1", 0, 1), {Source: "x", ID: "broken", Messages: []data.Message{msg(data.RoleUser, "hi")}}}
	if _, err := SelectExamples(bad, 0); err == nil || !strings.Contains(err.Error(), "conversation 2") || !strings.Contains(err.Error(), "broken") {
		t.Errorf("invalid conversation: %v", err)
	}
}

func TestSpread(t *testing.T) {
	items := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	for _, tc := range []struct {
		n    int
		want []int
	}{
		{0, items}, {-1, items}, {10, items}, {20, items},
		{1, []int{0}}, {2, []int{0, 5}}, {3, []int{0, 3, 6}}, {4, []int{0, 2, 5, 7}}, {9, []int{0, 1, 2, 3, 4, 5, 6, 7, 8}},
	} {
		if got := spread(items, tc.n); !slices.Equal(got, tc.want) {
			t.Errorf("spread(10, %d) = %v, want %v", tc.n, got, tc.want)
		}
	}
}

func TestWordEnds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
	}{
		{"", nil}, {"   ", nil}, {"a", []int{1}}, {" ab  c ", []int{3, 6}}, {"é\n\nx", []int{2, 5}},
	} {
		if got := wordEnds(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("wordEnds(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func fixtureTokenizer(t testing.TB) *tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.Load(tinyFixture)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func tokens(t *testing.T, tok *tokenizer.Tokenizer, msgs []data.Message) int {
	t.Helper()
	ex, err := chat.Tokenize(tok, msgs, true)
	if err != nil {
		t.Fatal(err)
	}
	return len(ex.IDs)
}

func TestFitPrompt(t *testing.T) {
	tok := fixtureTokenizer(t)
	long := strings.Repeat("word ", 40) + "end"
	three := []data.Message{msg(data.RoleUser, "first client turn"), msg(data.RoleAssistant, "a reply"), msg(data.RoleUser, "last client turn")}
	withSystem := append([]data.Message{msg(data.RoleSystem, "be kind")}, three...)
	last := three[2:]
	for _, tc := range []struct {
		name      string
		msgs      []data.Message
		budget    int
		want      []data.Message // nil: check truncation instead
		dropped   int
		truncated bool
	}{
		{"no limit", three, 0, three, 0, false},
		{"fits exactly", three, tokens(t, tok, three), three, 0, false},
		{"drops the oldest pair", three, tokens(t, tok, three) - 1, last, 1, false},
		{"keeps the system message", withSystem, tokens(t, tok, withSystem) - 1, []data.Message{withSystem[0], three[2]}, 1, false},
		{"cuts a long turn", []data.Message{msg(data.RoleUser, long)}, 60, nil, 0, true},
		{"drops then cuts", []data.Message{msg(data.RoleUser, "old"), msg(data.RoleAssistant, "reply"), msg(data.RoleUser, long)}, 60, nil, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := FitPrompt(tok, tc.msgs, tc.budget)
			if err != nil {
				t.Fatal(err)
			}
			if tc.budget > 0 && len(p.IDs) > tc.budget {
				t.Errorf("%d tokens exceed the budget %d", len(p.IDs), tc.budget)
			}
			if p.DroppedTurns != tc.dropped || p.Truncated != tc.truncated {
				t.Errorf("dropped %d truncated %v, want %d %v", p.DroppedTurns, p.Truncated, tc.dropped, tc.truncated)
			}
			ex, err := chat.Tokenize(tok, p.Messages, true)
			if err != nil || !slices.Equal(ex.IDs, p.IDs) {
				t.Errorf("ids are not the rendering of the messages (%v)", err)
			}
			if tc.want != nil {
				if !reflect.DeepEqual(p.Messages, tc.want) {
					t.Errorf("messages %+v, want %+v", p.Messages, tc.want)
				}
				return
			}
			// Truncated: a prefix of the original words, marked, and the
			// longest that fits.
			cut := p.Messages[len(p.Messages)-1].Content
			kept, ok := strings.CutSuffix(cut, " …")
			if !ok || !strings.HasPrefix(long, kept) || kept == "" {
				t.Fatalf("cut content %q is not a marked prefix of the original", cut)
			}
			longer := slices.Clone(p.Messages)
			n := len(strings.Fields(kept))
			longer[len(longer)-1].Content = strings.Join(strings.Fields(long)[:n+1], " ") + " …"
			if tokens(t, tok, longer) <= tc.budget {
				t.Errorf("one more word would still fit in %d tokens", tc.budget)
			}
		})
	}

	// Whitespace inside the kept words survives the cut.
	p, err := FitPrompt(tok, []data.Message{msg(data.RoleUser, "Title line\n\nbody "+long)}, 40)
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Messages[0].Content; !strings.HasPrefix(c, "Title line\n\nbody") {
		t.Errorf("cut content %q lost the original whitespace", c)
	}

	if _, err := FitPrompt(tok, three, 5); !errors.Is(err, errPromptTooLong) {
		t.Errorf("budget 5: %v, want errPromptTooLong", err)
	}
}

// FuzzFitPrompt checks that any conversation either fits the budget or is
// refused with an error, never a panic or an overlong prompt.
func FuzzFitPrompt(f *testing.F) {
	tok := fixtureTokenizer(f)
	f.Add("hello there", "a reply", "and the last turn", 40)
	f.Add("", "", "x", 12)
	f.Add("Title\n\nbody text  with   spaces", "r", strings.Repeat("long ", 30), 30)
	f.Fuzz(func(t *testing.T, first, reply, last string, budget int) {
		budget = budget % 300
		msgs := []data.Message{msg(data.RoleUser, first), msg(data.RoleAssistant, reply), msg(data.RoleUser, last)}
		if chat.Validate(msgs) != nil {
			return
		}
		p, err := FitPrompt(tok, msgs, budget)
		if err != nil {
			return
		}
		if budget > 0 && len(p.IDs) > budget {
			t.Fatalf("%d tokens exceed the budget %d", len(p.IDs), budget)
		}
		if len(p.Messages) == 0 || p.Messages[len(p.Messages)-1].Role != data.RoleUser {
			t.Fatalf("fitted prompt %+v does not end with the user's turn", p.Messages)
		}
	})
}
