package data

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

const ccHeader = ",questionID,questionTitle,questionText,questionLink,topic,therapistInfo,therapistURL,answerText,upvotes,views\n"

// ccRow builds a row with an unnamed index column first.
func ccRow(q int, title, text, therapist, answer string, upvotes, views int) string {
	return fmt.Sprintf("0,%d,%s,%s,https://c/q%d,topic%d, %s ,https://c/t/%s,%s,%d,%d\n",
		q, quoteCSV(title), quoteCSV(text), q, q, therapist, therapist, quoteCSV(answer), upvotes, views)
}

func TestReadCounselChat(t *testing.T) {
	input := ccHeader +
		ccRow(1, "Sad?", "I feel sad,\nvery.", "ann", "It helps to talk.", 3, 10) +
		ccRow(1, "Sad?", "I feel sad,\nvery.", "bob", "", 0, 5) +
		ccRow(0, "Alone", "", "ann", "You are not alone.", 0, 7) +
		ccRow(1, "Sad?", "I feel sad,\nvery.", "cy", "  Breathe.  ", 1, 4) +
		ccRow(2, "Empty", "x", "bob", " ", 0, 1)
	c, err := ReadCounselChat(strings.NewReader(input), "cc.csv")
	if err != nil {
		t.Fatal(err)
	}
	if c.Rows != 5 || c.EmptyAnswers != 2 || len(c.Questions) != 3 {
		t.Fatalf("rows %d empty %d questions %d", c.Rows, c.EmptyAnswers, len(c.Questions))
	}
	q0, q1, q2 := c.Questions[0], c.Questions[1], c.Questions[2]
	if q0.ID != 0 || q0.Prompt() != "Alone" {
		t.Errorf("question 0 prompt %q", q0.Prompt())
	}
	if q1.Prompt() != "Sad?\n\nI feel sad,\nvery." || q1.Topic != "topic1" || q1.Link != "https://c/q1" {
		t.Errorf("question 1 = %+v", q1)
	}
	if len(q1.Answers) != 2 || q1.Answers[0].Therapist != "ann" || q1.Answers[1].Text != "Breathe." ||
		q1.Answers[1].Index != 2 || q1.Answers[1].Upvotes != 1 || q1.Answers[1].Views != 4 || q1.Answers[1].Line != 7 {
		t.Errorf("question 1 answers = %+v", q1.Answers)
	}
	if len(q2.Answers) != 0 {
		t.Errorf("blank answer kept: %+v", q2.Answers)
	}
	convs := CounselChatConversations(c)
	if len(convs) != 3 {
		t.Fatalf("%d conversations, want 3", len(convs))
	}
	want := Conversation{Source: SourceCounselChat, ID: "1-2", Group: "1", Topic: "topic1", Upvotes: 1,
		Messages: []Message{{RoleUser, "Sad?\n\nI feel sad,\nvery."}, {RoleAssistant, "Breathe."}}}
	if got := convs[2]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("conversation\n got %+v\nwant %+v", got, want)
	}
	for _, cv := range convs {
		if err := ValidateConversation(&cv); err != nil {
			t.Error(err)
		}
	}
}

func TestReadCounselChatErrors(t *testing.T) {
	good := ccRow(1, "Sad?", "text", "ann", "Talk.", 3, 10)
	tests := []struct {
		name   string
		input  string
		prefix string // expected "file:line[:col]:" prefix
		sub    string
	}{
		{"missing column", strings.Replace(ccHeader, ",views", "", 1) + good, "cc.csv:1: ", `column "views": missing required column`},
		{"bad upvotes", ccHeader + good + strings.Replace(good, ",3,10", ",three,10", 1), "cc.csv:3:", `column "upvotes": want a non-negative integer, got "three"`},
		{"negative views", ccHeader + strings.Replace(good, ",3,10", ",3,-10", 1), "cc.csv:2:", `column "views": want a non-negative integer, got "-10"`},
		{"bad id", ccHeader + strings.Replace(good, "0,1,", "0,q1,", 1), "cc.csv:2:3:", `column "questionID"`},
		{"title changes", ccHeader + good + ccRow(1, "Happy?", "text", "bob", "Yes.", 0, 1), "cc.csv:3:5:", `column "questionTitle": differs from line 2 for questionID 1`},
		{"topic changes", ccHeader + good + strings.Replace(good, "topic1", "topic2", 1), "cc.csv:3:", `column "topic": differs from line 2`},
		{"no title or text", ccHeader + ccRow(1, " ", "", "ann", "a", 0, 1), "cc.csv:2:5:", "neither title nor text"},
		{"ragged", ccHeader + good + "0,1,x\n", "cc.csv:3:1:", "row has 3 fields, the header has 11"},
		{"unterminated quote", ccHeader + good + "0,2,\"Sad,t,l,x,y,z,a,1,1\n", "cc.csv:3:", `extraneous or missing " in quoted-field`},
		{"empty file", "", "cc.csv:1: ", "empty file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadCounselChat(strings.NewReader(tc.input), "cc.csv")
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T), want *ParseError", err, err)
			}
			if !strings.HasPrefix(err.Error(), tc.prefix) || !strings.Contains(err.Error(), tc.sub) {
				t.Errorf("error\n  %v\nwant prefix %q and %q", err, tc.prefix, tc.sub)
			}
		})
	}
}

// pairCorpus builds a CounselChat corpus from upvotes per question; answer
// texts are "q<i>a<j>" padded to lengths given in lens (when not nil).
func pairCorpus(upvotes [][]int, lens [][]int, views [][]int) *CounselChat {
	c := &CounselChat{}
	for i, votes := range upvotes {
		q := Question{ID: i, Title: fmt.Sprintf("Q%d", i)}
		for j, v := range votes {
			text := fmt.Sprintf("q%da%d", i, j)
			if lens != nil {
				text += strings.Repeat("x", lens[i][j])
			}
			a := Answer{Index: j, Text: text, Upvotes: v}
			if views != nil {
				a.Views = views[i][j]
			}
			q.Answers = append(q.Answers, a)
		}
		c.Questions = append(c.Questions, q)
	}
	return c
}

func TestPreferencePairs(t *testing.T) {
	upvotes := [][]int{
		{5},          // one answer: no pair
		{2, 2},       // all tied: no pair
		{3, 1, 0},    // unique top and bottom
		{4, 4, 1},    // tied top
		{2, 0, 1, 0}, // tied bottom
		{1, 0},       // margin 1
	}
	lens := [][]int{{0}, {0, 0}, {0, 0, 0}, {1, 9, 0}, {0, 5, 0, 2}, {0, 0}}
	views := [][]int{{0}, {0, 0}, {0, 0, 0}, {1, 50, 0}, {0, 0, 0, 9}, {0, 0}}
	c := pairCorpus(upvotes, lens, views)
	tests := []struct {
		name string
		opts PairOptions
		want []string // "chosen>rejected" answer ids
	}{
		{"default first", PairOptions{}, []string{"q2a0>q2a2", "q3a0>q3a2", "q4a0>q4a1", "q5a0>q5a1"}},
		{"longer", PairOptions{TieBreak: TieBreakLonger}, []string{"q2a0>q2a2", "q3a1>q3a2", "q4a0>q4a1", "q5a0>q5a1"}},
		{"views", PairOptions{TieBreak: TieBreakViews}, []string{"q2a0>q2a2", "q3a1>q3a2", "q4a0>q4a3", "q5a0>q5a1"}},
		{"skip", PairOptions{TieBreak: TieBreakSkip}, []string{"q2a0>q2a2", "q5a0>q5a1"}},
		{"margin 2", PairOptions{MinMargin: 2}, []string{"q2a0>q2a2", "q3a0>q3a2", "q4a0>q4a1"}},
		{"margin 3", PairOptions{MinMargin: 3}, []string{"q2a0>q2a2", "q3a0>q3a2"}},
		{"all ordered", PairOptions{AllOrdered: true}, []string{
			"q2a0>q2a1", "q2a0>q2a2", "q2a1>q2a2",
			"q3a0>q3a2", "q3a1>q3a2",
			"q4a0>q4a1", "q4a0>q4a2", "q4a0>q4a3", "q4a2>q4a1", "q4a2>q4a3",
			"q5a0>q5a1"}},
		{"all ordered margin 2", PairOptions{AllOrdered: true, MinMargin: 2}, []string{"q2a0>q2a1", "q2a0>q2a2", "q3a0>q3a2", "q3a1>q3a2", "q4a0>q4a1", "q4a0>q4a3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pairs, err := PreferencePairs(c, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range pairs {
				got = append(got, strings.TrimRight(p.Chosen, "x")+">"+strings.TrimRight(p.Rejected, "x"))
				if p.ChosenUpvotes <= p.RejectedUpvotes {
					t.Errorf("pair %s not strict: %d vs %d", p.ID, p.ChosenUpvotes, p.RejectedUpvotes)
				}
				if len(p.Prompt) != 1 || p.Prompt[0].Role != RoleUser || p.Group == "" {
					t.Errorf("pair %s prompt %+v group %q", p.ID, p.Prompt, p.Group)
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("pairs\n got %v\nwant %v", got, tc.want)
			}
		})
	}
	if _, err := PreferencePairs(c, PairOptions{TieBreak: "random"}); err == nil {
		t.Error("unknown tie-break accepted")
	}
}
