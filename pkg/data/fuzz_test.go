package data

import (
	"errors"
	"strings"
	"testing"
)

// checkLoaderError requires loader errors to be located ParseErrors.
func checkLoaderError(t *testing.T, err error) {
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v is %T, want *ParseError", err, err)
	}
	if pe.File == "" || pe.Err == nil {
		t.Fatalf("ParseError without file or cause: %#v", pe)
	}
}

func FuzzAnnoMI(f *testing.F) {
	f.Add(simpleCSV, "")
	f.Add(simpleCSV, fullHeader+fullRow(0, "therapist", "How are you?", 0, "False,n/a,False,n/a,True,open", "question,n/a"))
	f.Add(simpleCSV, fullHeader+fullRow(3, "therapist", "You smoke a lot.", 1, "True,advice,True,simple,False,n/a", "reflection,n/a")+
		fullRow(3, "therapist", "You smoke a lot.", 0, "False,n/a,True,complex,False,n/a", "reflection,n/a"))
	f.Add(simpleHeader+"0,low,V,u,t,0,client,0,\"a\n\"\"b\",n/a,change\n", "")
	f.Add("", "x")
	f.Fuzz(func(t *testing.T, simple, full string) {
		var fullReader *strings.Reader
		if full != "" {
			fullReader = strings.NewReader(full)
		}
		var a *AnnoMI
		var err error
		if fullReader != nil {
			a, err = ReadAnnoMI(strings.NewReader(simple), "simple.csv", fullReader, "full.csv")
		} else {
			a, err = ReadAnnoMI(strings.NewReader(simple), "simple.csv", nil, "")
		}
		if err != nil {
			checkLoaderError(t, err)
			return
		}
		// Whatever loads must yield valid conversations and statistics.
		for _, c := range AnnoMIConversations(a, WindowOptions{ContextTurns: 3}) {
			if err := ValidateConversation(&c); err != nil {
				t.Fatal(err)
			}
		}
		if s := a.Stats(); s.Interlocutor.Therapist+s.Interlocutor.Client != s.Utterances {
			t.Fatalf("stats do not add up: %+v", s)
		}
	})
}

func FuzzCounselChat(f *testing.F) {
	f.Add(ccHeader + ccRow(1, "Sad?", "I feel sad,\nvery.", "ann", "Talk.", 3, 10) + ccRow(1, "Sad?", "I feel sad,\nvery.", "bob", "", 0, 5))
	f.Add(strings.TrimPrefix(ccHeader, ",") + "0,t,,l,x,th,u,a,1,2\n")
	f.Add(ccHeader + "0,1,\"x")
	f.Fuzz(func(t *testing.T, input string) {
		c, err := ReadCounselChat(strings.NewReader(input), "cc.csv")
		if err != nil {
			checkLoaderError(t, err)
			return
		}
		answers := 0
		for _, q := range c.Questions {
			answers += len(q.Answers)
		}
		if answers+c.EmptyAnswers != c.Rows {
			t.Fatalf("%d answers + %d empty != %d rows", answers, c.EmptyAnswers, c.Rows)
		}
		for _, cv := range CounselChatConversations(c) {
			if err := ValidateConversation(&cv); err != nil {
				t.Fatal(err)
			}
		}
		for _, tb := range []TieBreak{TieBreakFirst, TieBreakLonger, TieBreakViews, TieBreakSkip} {
			pairs, err := PreferencePairs(c, PairOptions{TieBreak: tb})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range pairs {
				if p.ChosenUpvotes <= p.RejectedUpvotes {
					t.Fatalf("pair %s not strict", p.ID)
				}
			}
		}
	})
}

func FuzzReadConversations(f *testing.F) {
	f.Add(`{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}` + "\n")
	f.Add(`{"messages":[{"role":"system","content":"s"},{"role":"user","content":"q"}]}`)
	f.Add("\n\n{")
	f.Fuzz(func(t *testing.T, input string) {
		convs, err := ReadConversations(strings.NewReader(input), "in.jsonl")
		if err != nil {
			checkLoaderError(t, err)
			return
		}
		for i := range convs {
			if err := ValidateConversation(&convs[i]); err != nil {
				t.Fatal(err)
			}
		}
	})
}
