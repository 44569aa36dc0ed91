package eval

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/chat"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/metrics"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

// Example is one held-out prompt with the counsellor's reply to it.
type Example struct {
	Source  string `json:"source"`
	ID      string `json:"id"`
	Group   string `json:"group"` // question id or transcript id
	Topic   string `json:"topic,omitempty"`
	Quality string `json:"quality,omitempty"` // AnnoMI session quality
	// Prompt is the conversation before the reply, ending with the client's
	// (user's) turn.
	Prompt []data.Message `json:"prompt"`
	// Reference is the counsellor's reply that the generated one is scored
	// against.
	Reference string `json:"reference"`
	// Gold is the expert MI code of the reference (AnnoMI only).
	Gold *metrics.MICode `json:"reference_gold,omitempty"`
}

// Context returns the client turn the reply answers: the prompt's last
// message. The MI classifier reads it as the reply's context.
func (e *Example) Context() string {
	if len(e.Prompt) == 0 {
		return ""
	}
	return e.Prompt[len(e.Prompt)-1].Content
}

// SelectExamples turns held-out conversations into evaluation examples:
// one per CounselChat question (reference: its most upvoted answer, the
// first on ties) and one per AnnoMI conversation (reference: the final
// therapist turn, with its expert code). Other sources (conversations read
// from a file) give one example per conversation. With limit > 0, each
// source keeps limit examples spread evenly over its examples in order.
// Sources come out in the order counselchat, annomi, then the others as
// they first appear.
func SelectExamples(convs []data.Conversation, limit int) ([]Example, error) {
	bySource := map[string][]Example{}
	var order []string
	type best struct{ index, upvotes int }
	questions := map[string]best{} // CounselChat group → its example so far
	for i := range convs {
		c := &convs[i]
		if err := data.ValidateConversation(c); err != nil {
			return nil, fmt.Errorf("conversation %d (%s %q): %w", i+1, c.Source, c.ID, err)
		}
		if !slices.Contains(order, c.Source) {
			order = append(order, c.Source)
		}
		ex := exampleOf(c)
		if c.Source == data.SourceCounselChat && c.Group != "" {
			// One example per question: keep the most upvoted answer.
			if b, ok := questions[c.Group]; ok {
				if c.Upvotes > b.upvotes {
					bySource[c.Source][b.index] = ex
					questions[c.Group] = best{b.index, c.Upvotes}
				}
				continue
			}
			questions[c.Group] = best{len(bySource[c.Source]), c.Upvotes}
		}
		bySource[c.Source] = append(bySource[c.Source], ex)
	}
	var out []Example
	for _, src := range sourceOrder(order) {
		out = append(out, spread(bySource[src], limit)...)
	}
	return out, nil
}

// exampleOf splits a conversation into prompt and reference.
func exampleOf(c *data.Conversation) Example {
	n := len(c.Messages)
	ex := Example{
		Source: c.Source, ID: c.ID, Group: c.Group, Topic: c.Topic, Quality: c.Quality,
		Prompt:    slices.Clone(c.Messages[:n-1]),
		Reference: strings.TrimSpace(c.Messages[n-1].Content),
	}
	if b := c.Labels.TherapistBehaviour; b != "" {
		code := metrics.MICode{Behaviour: b}
		switch b {
		case metrics.BehaviourQuestion:
			code.Subtype = c.Labels.QuestionSubtype
		case metrics.BehaviourReflection:
			code.Subtype = c.Labels.ReflectionSubtype
		}
		ex.Gold = &code
	}
	return ex
}

// sourceOrder puts the shipped corpora first.
func sourceOrder(seen []string) []string {
	var out []string
	for _, known := range []string{data.SourceCounselChat, data.SourceAnnoMI} {
		if slices.Contains(seen, known) {
			out = append(out, known)
		}
	}
	for _, s := range seen {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// spread keeps n items evenly spaced over items (all when n <= 0 or n >=
// len(items)): item ⌊i·len/n⌋ for i = 0..n-1.
func spread[T any](items []T, n int) []T {
	if n <= 0 || n >= len(items) {
		return items
	}
	out := make([]T, n)
	for i := range n {
		out[i] = items[i*len(items)/n]
	}
	return out
}

// examplesDigest identifies the set of examples of a run (sources and ids in
// order), so that Compare can tell whether two runs saw the same examples.
func examplesDigest(results []ExampleResult) string {
	h := sha256.New()
	for i := range results {
		fmt.Fprintf(h, "%s\x00%s\n", results[i].Source, results[i].ID)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// Prompt is an example's prompt as the model sees it.
type Prompt struct {
	IDs []int32
	// Messages are the messages rendered, after fitting.
	Messages []data.Message
	// DroppedTurns counts the oldest user+assistant pairs left out to fit.
	DroppedTurns int
	// Truncated tells that the oldest remaining message was cut at its end.
	Truncated bool
}

// errPromptTooLong is returned when not even the template fits.
var errPromptTooLong = errors.New("the chat template alone exceeds the prompt budget")

// FitPrompt renders messages with Gemma's chat template and the generation
// prompt, within maxTokens tokens (0: no limit). When the prompt is too long,
// it drops the oldest user+assistant pairs first (a leading system message
// stays) and then cuts the oldest remaining message to as many leading words
// as fit, with "…" marking the cut: the most recent turn, which the reply
// answers, is kept whole whenever it fits alone.
func FitPrompt(tok *tokenizer.Tokenizer, messages []data.Message, maxTokens int) (Prompt, error) {
	msgs := slices.Clone(messages)
	p := Prompt{}
	for {
		ex, err := chat.Tokenize(tok, msgs, true)
		if err != nil {
			return Prompt{}, err
		}
		if maxTokens <= 0 || len(ex.IDs) <= maxTokens {
			p.IDs, p.Messages = ex.IDs, msgs
			return p, nil
		}
		first := 0
		if msgs[0].Role == data.RoleSystem {
			first = 1
		}
		if len(msgs)-first < 3 {
			break
		}
		msgs = slices.Delete(msgs, first, first+2)
		p.DroppedTurns++
	}
	// Cut the oldest remaining message (the system message, if any, goes
	// first) to the longest prefix of words that fits.
	for cut := 0; cut < len(msgs); cut++ {
		content := msgs[cut].Content
		ends := wordEnds(content)
		fits := func(n int) ([]int32, []data.Message, bool) {
			trial := slices.Clone(msgs)
			trial[cut].Content = "…"
			if n > 0 {
				trial[cut].Content = content[:ends[n-1]] + " …"
			}
			ex, err := chat.Tokenize(tok, trial, true)
			return ex.IDs, trial, err == nil && len(ex.IDs) <= maxTokens
		}
		if _, _, ok := fits(0); !ok {
			continue
		}
		lo, hi := 0, len(ends) // fits(lo) holds; find the largest such lo
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if _, _, ok := fits(mid); ok {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		ids, trial, _ := fits(lo)
		p.IDs, p.Messages, p.Truncated = ids, trial, true
		return p, nil
	}
	return Prompt{}, fmt.Errorf("%w (%d tokens)", errPromptTooLong, maxTokens)
}

// wordEnds returns the byte offset just after each word (run of
// non-space characters) of s.
func wordEnds(s string) []int {
	var ends []int
	inWord := false
	for i, r := range s {
		space := unicode.IsSpace(r)
		if inWord && space {
			ends = append(ends, i)
		}
		inWord = !space
	}
	if inWord {
		ends = append(ends, len(s))
	}
	return ends
}
