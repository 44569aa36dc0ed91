package dpo

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/chat"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

var (
	tokOnce sync.Once
	tok     *tokenizer.Tokenizer
	tokErr  error
)

func gemmaTokenizer(t testing.TB) *tokenizer.Tokenizer {
	t.Helper()
	tokOnce.Do(func() { tok, tokErr = tokenizer.Default() })
	if tokErr != nil {
		t.Fatal(tokErr)
	}
	return tok
}

func userPrompt(text string) []data.Message {
	return []data.Message{{Role: data.RoleUser, Content: text}}
}

// answerStart is the index of the first masked token, checking that the
// mask is off before it and on from it to the end.
func answerStart(t *testing.T, mask []bool) int {
	t.Helper()
	start := slices.Index(mask, true)
	if start < 0 {
		t.Fatal("no masked token")
	}
	for i, m := range mask {
		if m != (i >= start) {
			t.Fatalf("mask %v is not off on a prefix and on for the rest", mask)
		}
	}
	return start
}

// Each side of a pair is exactly the chat template's rendering of the
// conversation prompt + answer (without the template's final "\n"), with
// the loss mask on the answer and its <end_of_turn> only; the prompt ends
// with the generation prompt and is shared by both sides.
func TestEncodePairsTemplate(t *testing.T) {
	tk := gemmaTokenizer(t)
	prompt := []data.Message{
		{Role: data.RoleSystem, Content: "You are a counsellor."},
		{Role: data.RoleUser, Content: "I can't sleep."},
		{Role: data.RoleAssistant, Content: "That sounds hard."},
		{Role: data.RoleUser, Content: "What should I do?"},
	}
	pairs := []data.PreferencePair{{ID: "a", Prompt: prompt, Chosen: "  Tell me more about your evenings. ", Rejected: "Take a pill."}}
	out, st, err := EncodePairs(tk, pairs, LengthPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || st.Kept != 1 || st.Skipped != 0 {
		t.Fatalf("kept %d, stats %+v", len(out), st)
	}
	promptEx, err := chat.Tokenize(tk, prompt, true)
	if err != nil {
		t.Fatal(err)
	}
	for k, side := range []struct {
		ex     []int32
		mask   []bool
		answer string
	}{{out[0].Chosen.IDs, out[0].Chosen.LossMask, pairs[0].Chosen}, {out[0].Rejected.IDs, out[0].Rejected.LossMask, pairs[0].Rejected}} {
		full, err := chat.Tokenize(tk, append(slices.Clone(prompt), data.Message{Role: data.RoleAssistant, Content: side.answer}), false)
		if err != nil {
			t.Fatal(err)
		}
		want := full.IDs[:len(full.IDs)-len(tk.Encode("\n"))]
		if !slices.Equal(side.ex, want) {
			t.Errorf("side %d: ids\n%v\nwant\n%v", k, side.ex, want)
		}
		start := answerStart(t, side.mask)
		if start != len(promptEx.IDs) || !slices.Equal(side.ex[:start], promptEx.IDs) {
			t.Errorf("side %d: answer starts at %d, want after the %d prompt tokens", k, start, len(promptEx.IDs))
		}
		if side.ex[len(side.ex)-1] != tk.EndOfTurn() {
			t.Errorf("side %d: last token %d, want <end_of_turn>", k, side.ex[len(side.ex)-1])
		}
		text := tk.Decode(side.ex[start:], false)
		if text != strings.TrimSpace(side.answer)+chat.EndOfTurn {
			t.Errorf("side %d: answer decodes to %q", k, text)
		}
	}
	if !strings.HasSuffix(tk.Decode(promptEx.IDs, false), chat.GenerationPrompt) {
		t.Errorf("prompt %q does not end with the generation prompt", tk.Decode(promptEx.IDs, false))
	}
	if st.Tokens != len(out[0].Chosen.IDs)+len(out[0].Rejected.IDs) || st.AnswerTokens != len(out[0].Chosen.IDs)+len(out[0].Rejected.IDs)-2*len(promptEx.IDs) {
		t.Errorf("stats %+v", st)
	}
}

// The prompt is cut from the left (keeping <bos>) to MaxPromptLength, the
// answers from the right to MaxLength, and the cuts are counted.
func TestEncodePairsLengthPolicy(t *testing.T) {
	tk := gemmaTokenizer(t)
	long := strings.Repeat("I keep worrying about everything at work and at home. ", 10)
	pairs := []data.PreferencePair{
		{ID: "long", Prompt: userPrompt(long), Chosen: strings.Repeat("Let us slow down together. ", 10), Rejected: "Stop worrying."},
		{ID: "short", Prompt: userPrompt("Hi"), Chosen: "Hello.", Rejected: "Go away."},
	}
	full, _, err := EncodePairs(tk, pairs, LengthPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	policy := LengthPolicy{MaxPromptLength: 16, MaxLength: 24}
	out, st, err := EncodePairs(tk, pairs, policy)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 {
		t.Fatalf("kept %d pairs, stats %+v", len(out), st)
	}
	// The long pair: prompt <bos> + its last 15 tokens, chosen cut to 8 tokens.
	fullPrompt := answerStart(t, full[0].Chosen.LossMask)
	c := out[0].Chosen
	start := answerStart(t, c.LossMask)
	if start != 16 || c.IDs[0] != tk.BOS() || !slices.Equal(c.IDs[1:16], full[0].Chosen.IDs[fullPrompt-15:fullPrompt]) {
		t.Errorf("prompt: %d tokens %v, want <bos> + the last 15 of %v", start, c.IDs[:start], full[0].Chosen.IDs[:fullPrompt])
	}
	if len(c.IDs) != 24 || !slices.Equal(c.IDs[16:], full[0].Chosen.IDs[fullPrompt:fullPrompt+8]) {
		t.Errorf("chosen: %d tokens, want 24 ending with the first 8 answer tokens", len(c.IDs))
	}
	if out[0].Rejected.IDs[len(out[0].Rejected.IDs)-1] != tk.EndOfTurn() {
		t.Error("the short rejected answer lost its <end_of_turn>")
	}
	if !slices.Equal(out[1].Chosen.IDs, full[1].Chosen.IDs) || !slices.Equal(out[1].Rejected.IDs, full[1].Rejected.IDs) {
		t.Error("the short pair changed")
	}
	chosenLen := len(full[0].Chosen.IDs) - fullPrompt
	want := EncodeStats{
		Pairs: 2, Kept: 2, PromptsTruncated: 1, PromptTokensCut: fullPrompt - 16,
		AnswersTruncated: 1, AnswerTokensCut: chosenLen - 8,
	}
	if st.Pairs != want.Pairs || st.Kept != want.Kept || st.PromptsTruncated != want.PromptsTruncated ||
		st.PromptTokensCut != want.PromptTokensCut || st.AnswersTruncated != want.AnswersTruncated || st.AnswerTokensCut != want.AnswerTokensCut {
		t.Errorf("stats %+v, want %+v", st, want)
	}
}

func TestEncodePairsSkips(t *testing.T) {
	tk := gemmaTokenizer(t)
	pairs := []data.PreferencePair{
		{ID: "ok", Prompt: userPrompt("Hi"), Chosen: "Hello.", Rejected: "Bye."},
		{ID: "ends-with-assistant", Prompt: []data.Message{{Role: data.RoleUser, Content: "Hi"}, {Role: data.RoleAssistant, Content: "Hello"}}, Chosen: "a", Rejected: "b"},
		{ID: "no-prompt", Chosen: "a", Rejected: "b"},
		{ID: "empty-chosen", Prompt: userPrompt("Hi"), Chosen: "  \n", Rejected: "b"},
		{ID: "bad-roles", Prompt: []data.Message{{Role: data.RoleUser, Content: "a"}, {Role: data.RoleUser, Content: "b"}}, Chosen: "a", Rejected: "b"},
		{ID: "too-long", Prompt: userPrompt(strings.Repeat("word ", 50)), Chosen: "a", Rejected: "b"},
	}
	out, st, err := EncodePairs(tk, pairs, LengthPolicy{MaxLength: 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || st.Kept != 1 || st.Skipped != 5 || len(st.Errors) != 5 {
		t.Fatalf("kept %d, stats %+v", len(out), st)
	}
	for i, want := range []string{
		"pair ends-with-assistant: the prompt must end with a user message",
		"pair no-prompt: the prompt must end with a user message",
		"pair empty-chosen: the chosen answer is empty",
		`pair bad-roles: prompt: message 2: role "user" where "assistant" is due`,
		"pair too-long: the prompt's",
	} {
		if !strings.HasPrefix(st.Errors[i], want) {
			t.Errorf("error %d: %q, want prefix %q", i, st.Errors[i], want)
		}
	}
	for _, p := range []LengthPolicy{{MaxPromptLength: 8, MaxLength: 8}, {MaxPromptLength: 1}, {MaxLength: -1}} {
		if _, _, err := EncodePairs(tk, pairs, p); err == nil {
			t.Errorf("policy %+v: want an error", p)
		}
	}
	if _, _, err := EncodePairs(nil, pairs, LengthPolicy{}); err == nil {
		t.Error("no tokenizer: want an error")
	}
}

// The shipped CounselChat pairs all encode with dpo.yaml's budgets.
func TestEncodeShippedPairs(t *testing.T) {
	if testing.Short() {
		t.Skip("reads and tokenizes the CounselChat corpus")
	}
	cc, err := data.LoadCounselChat("../../datasets/counselchat/20220401_counsel_chat.csv")
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := data.PreferencePairs(cc, data.PairOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, st, err := EncodePairs(gemmaTokenizer(t), pairs, LengthPolicy{MaxPromptLength: 512, MaxLength: 1024})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", st)
	if len(out) != len(pairs) || st.Skipped != 0 {
		t.Errorf("kept %d of %d pairs: %v", len(out), len(pairs), st.Errors)
	}
	for i, p := range out {
		if len(p.Chosen.IDs) > 1024 || len(p.Rejected.IDs) > 1024 || targets(p.Chosen) == 0 || targets(p.Rejected) == 0 {
			t.Fatalf("pair %d: lengths %d and %d", i, len(p.Chosen.IDs), len(p.Rejected.IDs))
		}
	}
}
