package sft

import (
	"fmt"
	"strconv"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/chat"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

// DataCorpus is the Options.Data of language-model pretraining on the
// shipped corpora: the training split of both, each text once per epoch.
//
//   - CounselChat: the train conversations of DataBoth (question, answer).
//   - AnnoMI: the train transcripts of every quality (the split does not
//     depend on the quality filter; low-quality sessions are still
//     counselling English) as whole sessions, cut into consecutive chunks
//     of whole exchanges that fit max_seq_length (chunkSessions), so that
//     every turn is trained once, with the turns before it in its chunk as
//     context. The overlapping windows of DataBoth would train each turn up
//     to context_turns+1 times per epoch. A session's opening counsellor
//     turns, before the first client turn, are left out (the chat template
//     starts with the user).
//
// The validation sets are DataBoth's: CounselChat's validation answers and
// AnnoMI's validation windows of data.yaml's quality filter, scored on
// their final counsellor turn — the held-out sets every other stage and
// package eval use.
const DataCorpus = "corpus"

// SourceAnnoMISessions labels the AnnoMI session chunks of DataCorpus in
// data_summary.json. Unlike AnnoMI windows, every counsellor turn of a
// chunk is a target (with LossOnAssistant).
const SourceAnnoMISessions = "annomi-sessions"

// pretrainConversations returns the conversations of DataCorpus: the
// validation sets and CounselChat train conversations of DataBoth, and the
// AnnoMI train transcripts as whole sessions (chunked later, when the
// tokenizer is known).
func pretrainConversations(cfg *config.All, debug bool) (splits, error) {
	both, err := corpusConversations(DataBoth, cfg, debug)
	if err != nil {
		return splits{}, err
	}
	d := cfg.Data
	anno, err := data.LoadAnnoMI(cfg.Path(d.AnnoMI.Path), cfg.Path(d.AnnoMI.FullPath))
	if err != nil {
		return splits{}, err
	}
	ratios := stage.SplitRatios(cfg)
	assignment, err := data.AnnoMISplits(anno, ratios, uint64(d.Seed)) // what Prepare assigns
	if err != nil {
		return splits{}, err
	}
	sessions := AnnoMISessions(anno, assignment, data.SplitTrain)
	if debug {
		sessions = data.FirstGroups(sessions, d.Debug.AnnoMITranscripts)
	}
	s := splits{validation: both.validation}
	for _, c := range both.train {
		if c.Source != data.SourceAnnoMI {
			s.train = append(s.train, c)
		}
	}
	s.train = append(s.train, sessions...)
	return s, nil
}

// AnnoMISessions returns the AnnoMI transcripts assigned to split as one
// conversation each (source SourceAnnoMISessions, group the transcript
// id): the merged turns from the first client turn to the last counsellor
// turn, client turns as user and counsellor turns as assistant messages.
// Transcripts without a client turn followed by a counsellor turn give none.
func AnnoMISessions(a *data.AnnoMI, assignment data.Assignment, split data.Split) []data.Conversation {
	var out []data.Conversation
	for i := range a.Transcripts {
		t := &a.Transcripts[i]
		group := strconv.Itoa(t.ID)
		if assignment[group] != split {
			continue
		}
		turns := t.Turns()
		first := 0
		for first < len(turns) && turns[first].Speaker != data.SpeakerClient {
			first++
		}
		last := len(turns) - 1
		for last >= first && turns[last].Speaker != data.SpeakerTherapist {
			last--
		}
		if last <= first {
			continue
		}
		msgs := make([]data.Message, 0, last-first+1)
		for _, turn := range turns[first : last+1] {
			role := data.RoleUser
			if turn.Speaker == data.SpeakerTherapist {
				role = data.RoleAssistant
			}
			msgs = append(msgs, data.Message{Role: role, Content: turn.Text})
		}
		out = append(out, data.Conversation{
			Source: SourceAnnoMISessions, ID: "session-" + group, Group: group, Split: string(split),
			Messages: msgs, Quality: t.Quality, Topic: t.Topic,
		})
	}
	return out
}

// chunkSessions cuts each conversation of source SourceAnnoMISessions into
// consecutive chunks of whole exchanges (a user message and the assistant's
// answer) whose chat-templated ids fit maxSeqLen, each exchange in exactly
// one chunk; an exchange longer than maxSeqLen alone is a chunk of its own
// (and is then truncated by the length policy). Other conversations pass
// through unchanged. The template encodes each turn on its own, so a
// chunk's length is <bos> plus the lengths of its exchanges.
func chunkSessions(tok *tokenizer.Tokenizer, convs []data.Conversation, maxSeqLen int) ([]data.Conversation, error) {
	var out []data.Conversation
	for _, c := range convs {
		if c.Source != SourceAnnoMISessions {
			out = append(out, c)
			continue
		}
		if len(c.Messages)%2 != 0 {
			return nil, fmt.Errorf("session %s: %d messages, want user/assistant exchanges", c.ID, len(c.Messages))
		}
		var chunk []data.Message
		length, k := 1, 0 // <bos>; chunks of this session so far
		flush := func() {
			if len(chunk) == 0 {
				return
			}
			part := c
			part.ID = fmt.Sprintf("%s-%d", c.ID, k)
			part.Messages = chunk
			out = append(out, part)
			chunk, length, k = nil, 1, k+1
		}
		for i := 0; i < len(c.Messages); i += 2 {
			exchange := c.Messages[i : i+2]
			ex, err := chat.Tokenize(tok, exchange, false)
			if err != nil {
				return nil, fmt.Errorf("session %s, message %d: %w", c.ID, i+1, err)
			}
			n := len(ex.IDs) - 1 // without its <bos>
			if maxSeqLen > 0 && length+n > maxSeqLen {
				flush()
			}
			chunk = append(chunk, exchange...)
			length += n
		}
		flush()
	}
	return out, nil
}
