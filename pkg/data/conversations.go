package data

import (
	"fmt"
	"strconv"
	"strings"
)

// Turn is a run of consecutive utterances by one speaker, merged into one
// chat message.
type Turn struct {
	Speaker    string
	Text       string // the utterances' texts joined with a space
	FirstID    int    // utterance ID of the first merged utterance
	LastID     int    // utterance ID of the last merged utterance
	Utterances int    // how many utterances were merged
	Behaviour  string // of the last utterance (therapist turns)
	TalkType   string // of the last utterance (client turns)
	Fine       FineLabels
}

// Turns merges consecutive same-speaker utterances. A merged turn keeps the
// labels of its last utterance: the one the other speaker answers.
func (t *Transcript) Turns() []Turn {
	var turns []Turn
	for _, u := range t.Utterances {
		if n := len(turns); n > 0 && turns[n-1].Speaker == u.Speaker {
			last := &turns[n-1]
			last.Text += " " + u.Text
			last.LastID, last.Utterances = u.ID, last.Utterances+1
			last.Behaviour, last.TalkType, last.Fine = u.Behaviour, u.TalkType, u.Fine
			continue
		}
		turns = append(turns, Turn{Speaker: u.Speaker, Text: u.Text, FirstID: u.ID, LastID: u.ID, Utterances: 1,
			Behaviour: u.Behaviour, TalkType: u.TalkType, Fine: u.Fine})
	}
	return turns
}

// WindowOptions shape the AnnoMI training conversations.
type WindowOptions struct {
	// ContextTurns is the number of merged turns kept before the target
	// therapist turn (data.yaml's annomi.context_turns); 0 or less keeps
	// the whole history.
	ContextTurns int
}

// DefaultContextTurns keeps three exchanges before the target: enough for a
// reflection to refer back to, short enough for a 1k-token sequence.
const DefaultContextTurns = 6

// AnnoMIConversations turns every therapist turn that follows a client turn
// into one conversation: the window of turns ending with it, client turns
// as user messages and therapist turns as assistant messages.
//
// Gemma's chat template needs roles that start with user and alternate, so
// a window is cut to the target and its ContextTurns preceding turns, and
// then its leading therapist turn, if any, is dropped (so an even
// ContextTurns gives at most ContextTurns messages). A therapist turn with no client turn before it
// (the opening turn of 116 of the 133 transcripts) yields no conversation.
func AnnoMIConversations(a *AnnoMI, opts WindowOptions) []Conversation {
	var convs []Conversation
	for i := range a.Transcripts {
		convs = append(convs, transcriptConversations(&a.Transcripts[i], opts)...)
	}
	return convs
}

func transcriptConversations(t *Transcript, opts WindowOptions) []Conversation {
	turns := t.Turns()
	var convs []Conversation
	for end, target := range turns {
		if target.Speaker != SpeakerTherapist || end == 0 {
			continue
		}
		start := 0
		if opts.ContextTurns > 0 && end > opts.ContextTurns {
			start = end - opts.ContextTurns
		}
		if turns[start].Speaker == SpeakerTherapist {
			start++
		}
		if start >= end { // cannot happen: turns alternate, so end-1 is a client turn
			continue
		}
		msgs := make([]Message, 0, end-start+1)
		for _, turn := range turns[start : end+1] {
			role := RoleUser
			if turn.Speaker == SpeakerTherapist {
				role = RoleAssistant
			}
			msgs = append(msgs, Message{Role: role, Content: turn.Text})
		}
		convs = append(convs, Conversation{
			Source:   SourceAnnoMI,
			ID:       fmt.Sprintf("%d-%d", t.ID, target.FirstID),
			Group:    strconv.Itoa(t.ID),
			Messages: msgs,
			Quality:  t.Quality,
			Topic:    t.Topic,
			Labels:   turnLabels(target, turns[end-1]),
		})
	}
	return convs
}

// turnLabels are the evaluation labels of a target therapist turn.
func turnLabels(target, client Turn) Labels {
	return Labels{
		TherapistBehaviour: target.Behaviour,
		ReflectionSubtype:  target.Fine.ReflectionSubtype,
		QuestionSubtype:    target.Fine.QuestionSubtype,
		InputSubtype:       target.Fine.InputSubtype,
		ClientTalkType:     client.TalkType,
	}
}

// CounselChatConversations makes one conversation per non-empty answer:
// the question as the user turn and the answer as the assistant turn.
func CounselChatConversations(c *CounselChat) []Conversation {
	var convs []Conversation
	for _, q := range c.Questions {
		prompt := q.Prompt()
		for _, a := range q.Answers {
			convs = append(convs, Conversation{
				Source:   SourceCounselChat,
				ID:       fmt.Sprintf("%d-%d", q.ID, a.Index),
				Group:    strconv.Itoa(q.ID),
				Messages: []Message{{Role: RoleUser, Content: prompt}, {Role: RoleAssistant, Content: a.Text}},
				Topic:    q.Topic,
				Upvotes:  a.Upvotes,
			})
		}
	}
	return convs
}

// ValidateConversation checks the shape every consumer relies on: a source,
// an ID, and messages that start with user (after an optional system
// message), alternate, end with assistant and are not blank.
func ValidateConversation(c *Conversation) error {
	if c.Source == "" || c.ID == "" {
		return fmt.Errorf("conversation %q: missing source or id", c.ID)
	}
	msgs, offset := c.Messages, 1
	if len(msgs) > 0 && msgs[0].Role == RoleSystem {
		msgs, offset = msgs[1:], 2
	}
	if len(msgs) < 2 {
		return fmt.Errorf("conversation %q: want at least a user and an assistant message, got %d messages", c.ID, len(c.Messages))
	}
	for i, m := range msgs {
		want := RoleUser
		if i%2 == 1 {
			want = RoleAssistant
		}
		if m.Role != want {
			return fmt.Errorf("conversation %q: message %d has role %q, want %q (roles must alternate user/assistant)", c.ID, i+offset, m.Role, want)
		}
		if strings.TrimSpace(m.Content) == "" {
			return fmt.Errorf("conversation %q: message %d is empty", c.ID, i+offset)
		}
	}
	if msgs[len(msgs)-1].Role != RoleAssistant {
		return fmt.Errorf("conversation %q: last message must be an assistant turn", c.ID)
	}
	return nil
}
