package sft

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/chat"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

// session builds a session conversation of n exchanges whose texts are
// words repeated.
func session(id string, n int, words int) data.Conversation {
	c := data.Conversation{Source: SourceAnnoMISessions, ID: id, Group: id}
	for i := range n {
		text := strings.Repeat(fmt.Sprintf("word%d ", i), words)
		c.Messages = append(c.Messages, data.Message{Role: data.RoleUser, Content: "client " + text},
			data.Message{Role: data.RoleAssistant, Content: "counsellor " + text})
	}
	return c
}

func TestChunkSessions(t *testing.T) {
	tok, err := tokenizer.Tiny()
	if err != nil {
		t.Fatal(err)
	}
	other := data.Conversation{Source: data.SourceCounselChat, ID: "cc", Messages: []data.Message{
		{Role: data.RoleUser, Content: "q"}, {Role: data.RoleAssistant, Content: "a"}}}
	for _, tc := range []struct {
		name      string
		convs     []data.Conversation
		maxSeqLen int
		chunks    int // of the sessions
	}{
		{"no limit keeps a session whole", []data.Conversation{session("s", 6, 3)}, 0, 1},
		{"a tight limit gives one exchange per chunk", []data.Conversation{session("s", 5, 3)}, 20, 5},
		{"a long exchange is a chunk of its own", []data.Conversation{session("s", 3, 200)}, 64, 3},
		{"other sources pass through", []data.Conversation{other, session("a", 4, 3), session("b", 4, 3)}, 64, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := chunkSessions(tok, tc.convs, tc.maxSeqLen)
			if err != nil {
				t.Fatal(err)
			}
			// Every message of every session comes out once, in order, in
			// chunks that fit the limit (unless one exchange alone does not).
			var want, seen []data.Message
			chunks := 0
			for _, c := range tc.convs {
				if c.Source == SourceAnnoMISessions {
					want = append(want, c.Messages...)
				}
			}
			for _, c := range got {
				if c.Source != SourceAnnoMISessions {
					if c.ID != other.ID {
						t.Errorf("unexpected conversation %s", c.ID)
					}
					continue
				}
				chunks++
				seen = append(seen, c.Messages...)
				if err := data.ValidateConversation(&c); err != nil {
					t.Errorf("chunk %s: %v", c.ID, err)
				}
				ex, err := chat.Tokenize(tok, c.Messages, false)
				if err != nil {
					t.Fatal(err)
				}
				if tc.maxSeqLen > 0 && len(ex.IDs) > tc.maxSeqLen && len(c.Messages) > 2 {
					t.Errorf("chunk %s: %d tokens in %d messages, limit %d", c.ID, len(ex.IDs), len(c.Messages), tc.maxSeqLen)
				}
			}
			if !slices.Equal(seen, want) {
				t.Errorf("the chunks hold %d messages, the sessions %d (or in another order)", len(seen), len(want))
			}
			if tc.chunks > 0 && chunks != tc.chunks {
				t.Errorf("%d chunks, want %d", chunks, tc.chunks)
			}
			if tc.name == "other sources pass through" && (chunks < 2 || !slices.ContainsFunc(got, func(c data.Conversation) bool { return c.ID == other.ID })) {
				t.Errorf("got %d session chunks and lost %s", chunks, other.ID)
			}
		})
	}
}

// TestPretrainConversations: DataCorpus trains on the train split only (the
// AnnoMI sessions come from train transcripts of every quality, never from
// those of the validation or test splits) and evaluates on DataBoth's
// validation sets.
func TestPretrainConversations(t *testing.T) {
	cfg, err := config.Load(configsDir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := pretrainConversations(cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	both, err := corpusConversations(DataBoth, cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	anno, err := data.LoadAnnoMI(cfg.Path(cfg.Data.AnnoMI.Path), cfg.Path(cfg.Data.AnnoMI.FullPath))
	if err != nil {
		t.Fatal(err)
	}
	ratios := data.SplitRatios{Train: cfg.Data.Splits.Train, Validation: cfg.Data.Splits.Validation, Test: cfg.Data.Splits.Test}
	assignment, err := data.AnnoMISplits(anno, ratios, uint64(cfg.Data.Seed))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	qualities := map[string]bool{}
	for _, c := range s.train {
		counts[c.Source]++
		switch c.Source {
		case SourceAnnoMISessions:
			qualities[c.Quality] = true
			if assignment[c.Group] != data.SplitTrain {
				t.Errorf("session %s is of transcript %s, in the %s split", c.ID, c.Group, assignment[c.Group])
			}
		case data.SourceCounselChat:
			if c.Split != string(data.SplitTrain) {
				t.Errorf("CounselChat conversation %s of split %q", c.ID, c.Split)
			}
		default:
			t.Errorf("conversation %s of source %s", c.ID, c.Source)
		}
	}
	trainTranscripts := 0
	for _, sp := range assignment {
		if sp == data.SplitTrain {
			trainTranscripts++
		}
	}
	// Every train transcript has a client turn followed by a counsellor turn.
	if counts[SourceAnnoMISessions] != trainTranscripts || !qualities[data.QualityHigh] || !qualities[data.QualityLow] {
		t.Errorf("%d sessions of %d train transcripts, qualities %v", counts[SourceAnnoMISessions], trainTranscripts, qualities)
	}
	if counts[data.SourceCounselChat] == 0 || counts[data.SourceCounselChat] != len(ofSource(both.train, data.SourceCounselChat)) {
		t.Errorf("%d CounselChat conversations, DataBoth trains %d", counts[data.SourceCounselChat], len(ofSource(both.train, data.SourceCounselChat)))
	}
	if len(s.validation) != len(both.validation) {
		t.Errorf("%d validation conversations, DataBoth has %d", len(s.validation), len(both.validation))
	}
	for i := range min(len(s.validation), len(both.validation)) {
		if s.validation[i].ID != both.validation[i].ID {
			t.Fatalf("validation conversation %d is %s, DataBoth's is %s", i, s.validation[i].ID, both.validation[i].ID)
		}
	}
}
