package chat

import (
	"slices"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
)

const systemPrompt = "You are an empathetic counsellor who uses motivational interviewing."

// realConversations builds conversations from the shipped CSVs directly
// (not through pkg/data, so that this test checks the template alone):
// CounselChat question → answer, and AnnoMI windows of up to six turns
// ending with each counsellor turn.
func realConversations(t *testing.T) [][]data.Message {
	t.Helper()
	var convs [][]data.Message
	testutil.ReadCSV(t, testutil.RepoPath(t, testutil.CounselChatCSV), func(col map[string]int, row []string) {
		conv := []data.Message{
			{Role: data.RoleUser, Content: row[col["questionTitle"]] + "\n" + row[col["questionText"]]},
			{Role: data.RoleAssistant, Content: row[col["answerText"]]},
		}
		if len(convs)%2 == 0 {
			conv = append([]data.Message{{Role: data.RoleSystem, Content: systemPrompt}}, conv...)
		}
		convs = append(convs, conv)
	})
	var session []data.Message
	lastTranscript := ""
	flush := func() {
		for k, m := range session {
			if m.Role != data.RoleAssistant || k == 0 {
				continue
			}
			window := session[max(0, k-5) : k+1]
			if window[0].Role == data.RoleAssistant {
				window = window[1:]
			}
			convs = append(convs, slices.Clone(window))
		}
		session = session[:0]
	}
	testutil.ReadCSV(t, testutil.RepoPath(t, testutil.AnnoMISimpleCSV), func(col map[string]int, row []string) {
		if id := row[col["transcript_id"]]; id != lastTranscript {
			flush()
			lastTranscript = id
		}
		role := data.RoleUser
		if row[col["interlocutor"]] == "therapist" {
			role = data.RoleAssistant
		}
		text := row[col["utterance_text"]]
		if n := len(session); n > 0 && session[n-1].Role == role {
			session[n-1].Content += " " + text
			return
		}
		session = append(session, data.Message{Role: role, Content: text})
	})
	flush()
	return convs
}

// TestRealData checks on the shipped corpora that turn-by-turn ids equal
// the encoding of the rendered text and that the masks and length policy
// hold for every example.
func TestRealData(t *testing.T) {
	tok := gemma(t)
	convs := realConversations(t)
	if len(convs) < 5000 {
		t.Fatalf("only %d conversations", len(convs))
	}
	step := 1
	if testing.Short() {
		step = 10
	}
	for i := 0; i < len(convs); i += step {
		ex, err := Tokenize(tok, convs[i], false)
		if err != nil {
			t.Fatalf("conversation %d: %v", i, err)
		}
		checkMask(t, tok, convs[i], ex, false)
	}

	const maxLen = 256
	examples, st, err := BuildExamples(tok, convs, Options{MaxSeqLen: maxLen, OnlyFinalTurn: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d conversations: kept %d, %d with dropped turns (%d pairs), %d truncated, %d skipped (too long), %d invalid; %d tokens, %d trainable",
		st.Conversations, st.Kept, st.WithDroppedTurns, st.DroppedTurns, st.Truncated, st.SkippedTooLong, st.SkippedInvalid, st.Tokens, st.TrainableTokens)
	if st.SkippedInvalid != 0 || st.Kept+st.SkippedTooLong != st.Conversations || st.Truncated == 0 || st.WithDroppedTurns == 0 {
		t.Errorf("stats %+v", st)
	}
	for k := 0; k < len(examples); k += step {
		ex := examples[k]
		if len(ex.IDs) > maxLen || ex.Trainable() == 0 {
			t.Fatalf("conversation %d: %d tokens, %d trainable", ex.Index, len(ex.IDs), ex.Trainable())
		}
		conv := convs[ex.Index]
		kept := conv[2*ex.DroppedTurns:]
		if conv[0].Role == data.RoleSystem {
			kept = append([]data.Message{conv[0]}, conv[1+2*ex.DroppedTurns:]...)
		}
		checkMask(t, tok, kept, ex, true)
	}
}
