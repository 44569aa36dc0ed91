package tokenizer_test

import (
	"slices"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/chat"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

// templateSkeleton keeps the ids that the chat template and line breaks
// produce: <bos>, <start_of_turn>, <end_of_turn> and the newline runs.
func templateSkeleton(ids []int32) []int32 {
	var out []int32
	for _, id := range ids {
		if id == 2 || id == 105 || id == 106 || (id >= 107 && id <= 137) {
			out = append(out, id)
		}
	}
	return out
}

// TestTinyWithChat checks that package chat works with the tiny tokenizer:
// the ids decode to the rendered template, equal the encoding of the whole
// rendered text, and carry the same control tokens as with Gemma's.
func TestTinyWithChat(t *testing.T) {
	tiny, err := tokenizer.Tiny()
	if err != nil {
		t.Fatal(err)
	}
	gemma, err := tokenizer.Default()
	if err != nil {
		t.Fatal(err)
	}
	convs := [][]data.Message{
		{{Role: "system", Content: "Be kind."}, {Role: "user", Content: "I feel anxious.\n\nWhat now?"}, {Role: "assistant", Content: "Tell me more — what happened?"}},
		{{Role: "user", Content: "Hi"}, {Role: "assistant", Content: "Hello!"}, {Role: "user", Content: "  日本語 😊\ttabs  "}},
	}
	corpus, err := data.LoadCorpus("../../datasets")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range data.CounselChatConversations(corpus.CounselChat)[:50] {
		convs = append(convs, c.Messages)
	}
	for i, msgs := range convs {
		for _, genPrompt := range []bool{false, true} {
			ex, err := chat.Tokenize(tiny, msgs, genPrompt)
			if err != nil {
				t.Fatalf("conversation %d: %v", i, err)
			}
			text, err := chat.Render(msgs, genPrompt)
			if err != nil {
				t.Fatal(err)
			}
			if got := tiny.Decode(ex.IDs, false); got != text {
				t.Errorf("conversation %d: decoded %q, rendered %q", i, got, text)
			}
			if whole := tiny.EncodeWithBOS(text[len(chat.BOS):]); !slices.Equal(whole, ex.IDs) {
				t.Errorf("conversation %d: template pieces %v, whole text %v", i, ex.IDs, whole)
			}
			for _, id := range ex.IDs {
				if id < 0 || id >= tokenizer.TinyVocabSize {
					t.Fatalf("conversation %d: id %d out of range", i, id)
				}
			}
			ref, err := chat.Tokenize(gemma, msgs, genPrompt)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := templateSkeleton(ex.IDs), templateSkeleton(ref.IDs); !slices.Equal(got, want) {
				t.Errorf("conversation %d: control ids %v, with Gemma %v", i, got, want)
			}
		}
	}

	examples, stats, err := chat.BuildExamples(tiny, convs[2:], chat.Options{MaxSeqLen: 256})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Kept != len(convs)-2 || len(examples) != stats.Kept {
		t.Errorf("stats %+v", stats)
	}
	for _, ex := range examples {
		if ex.Trainable() == 0 || len(ex.IDs) > 256 || ex.IDs[0] != 2 {
			t.Errorf("example %d: %d ids, %d trainable", ex.Index, len(ex.IDs), ex.Trainable())
		}
	}
}
