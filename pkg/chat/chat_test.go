package chat

import (
	"slices"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

func gemma(t testing.TB) *tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.Default()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type templateGolden struct {
	Messages      []data.Message `json:"messages"`
	Text          string         `json:"text"`
	TextGenPrompt string         `json:"text_gen_prompt"`
	IDs           []int32        `json:"ids"`
}

func loadTemplateGoldens(t testing.TB) []templateGolden {
	t.Helper()
	var gs []templateGolden
	testutil.ReadJSON(t, "testdata/chat_template_goldens.json", &gs)
	if len(gs) < 10 {
		t.Fatalf("only %d goldens", len(gs))
	}
	return gs
}

// TestGoldens checks the text and ids of Hugging Face's apply_chat_template
// (whose reference texts lack the leading <bos>).
func TestGoldens(t *testing.T) {
	tok := gemma(t)
	for i, g := range loadTemplateGoldens(t) {
		text, err := Render(g.Messages, false)
		if err != nil {
			t.Fatalf("golden %d: %v", i, err)
		}
		if text != BOS+g.Text {
			t.Errorf("golden %d: text\n got %q\nwant %q", i, text, BOS+g.Text)
		}
		gen, err := Render(g.Messages[:len(g.Messages)-1], true)
		if err != nil {
			t.Fatalf("golden %d: %v", i, err)
		}
		if gen != BOS+g.TextGenPrompt {
			t.Errorf("golden %d: generation prompt text\n got %q\nwant %q", i, gen, BOS+g.TextGenPrompt)
		}
		ex, err := Tokenize(tok, g.Messages, false)
		if err != nil {
			t.Fatal(err)
		}
		if want := append([]int32{2}, g.IDs...); !slices.Equal(ex.IDs, want) {
			t.Errorf("golden %d: ids\n got %v\nwant %v", i, ex.IDs, want)
		}
		if ex.Text != text {
			t.Errorf("golden %d: Example.Text differs from Render", i)
		}
		checkMask(t, tok, g.Messages, ex, false)

		genEx, err := Tokenize(tok, g.Messages[:len(g.Messages)-1], true)
		if err != nil {
			t.Fatal(err)
		}
		if want := tok.Encode(gen); !slices.Equal(genEx.IDs, want) {
			t.Errorf("golden %d: generation prompt ids differ from encoding the text", i)
		}
	}
}

// checkMask verifies that the trainable tokens are exactly each model
// turn's content followed by <end_of_turn> (only the last turn's with
// onlyFinal), and that the ids equal the encoding of the rendered text.
// msgs are the messages the example kept.
func checkMask(t *testing.T, tok *tokenizer.Tokenizer, msgs []data.Message, ex Example, onlyFinal bool) {
	t.Helper()
	if len(ex.IDs) != len(ex.LossMask) {
		t.Fatalf("%d ids, %d mask entries", len(ex.IDs), len(ex.LossMask))
	}
	if !ex.Truncated {
		if want := tok.Encode(ex.Text); !slices.Equal(ex.IDs, want) {
			t.Fatalf("turn-by-turn ids differ from encoding the rendered text %.80q", ex.Text)
		}
	}
	// Split the trainable ids into runs; each run is one model turn.
	var runs []string
	for i := 0; i < len(ex.IDs); i++ {
		if !ex.LossMask[i] {
			continue
		}
		j := i
		for j < len(ex.IDs) && ex.LossMask[j] {
			j++
		}
		if j < len(ex.IDs) || !ex.Truncated {
			if ex.IDs[j-1] != tok.EndOfTurn() {
				t.Fatalf("trainable run %d..%d does not end with <end_of_turn>", i, j)
			}
			if i < 3 || ex.IDs[i-1] != 107 || ex.IDs[i-2] != 4368 || ex.IDs[i-3] != tok.StartOfTurn() {
				t.Fatalf("trainable run at %d does not follow <start_of_turn>model\\n", i)
			}
		}
		runs = append(runs, tok.Decode(ex.IDs[i:j], false))
		i = j
	}
	var want []string
	for _, m := range msgs {
		if m.Role == data.RoleAssistant {
			want = append(want, pyTrim(m.Content)+EndOfTurn)
		}
	}
	if onlyFinal {
		want = want[len(want)-1:]
	}
	if ex.Truncated {
		last := len(want) - 1
		// A cut inside a byte-fallback sequence decodes to U+FFFD.
		runs[len(runs)-1] = strings.TrimRight(runs[len(runs)-1], "\uFFFD")
		if !strings.HasPrefix(want[last], runs[len(runs)-1]) {
			t.Fatalf("truncated final turn %q is not a prefix of %q", runs[len(runs)-1], want[last])
		}
		want[last] = runs[len(runs)-1]
	}
	if !slices.Equal(runs, want) {
		t.Fatalf("trainable text\n got %q\nwant %q", runs, want)
	}
}

func msgs(pairs ...string) []data.Message {
	var out []data.Message
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, data.Message{Role: pairs[i], Content: pairs[i+1]})
	}
	return out
}

const (
	sys  = data.RoleSystem
	user = data.RoleUser
	asst = data.RoleAssistant
)

func TestRender(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []data.Message
		gen  bool
		want string
	}{
		{"one turn", msgs(user, "Hi"), false, "<bos><start_of_turn>user\nHi<end_of_turn>\n"},
		{"generation prompt", msgs(user, "Hi"), true, "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n"},
		{"system folded, not trimmed", msgs(sys, " Be kind. ", user, "  Hi\n", asst, "\tHello!\n\n"), false,
			"<bos><start_of_turn>user\n Be kind. \n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"},
		{"python white space", msgs(user, "\x1c\u00a0\u3000a b\x1f\u2028"), false, "<bos><start_of_turn>user\na b<end_of_turn>\n"},
		{"zero-width space is not trimmed", msgs(user, "\u200bx"), false, "<bos><start_of_turn>user\n\u200bx<end_of_turn>\n"},
		{"empty content", msgs(user, "", asst, " "), false, "<bos><start_of_turn>user\n<end_of_turn>\n<start_of_turn>model\n<end_of_turn>\n"},
		{"model alias", msgs(user, "a", "model", "b"), false, "<bos><start_of_turn>user\na<end_of_turn>\n<start_of_turn>model\nb<end_of_turn>\n"},
	} {
		got, err := Render(c.in, c.gen)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []data.Message
		want string
	}{
		{"empty", nil, "no messages"},
		{"only system", msgs(sys, "x"), "only a system message"},
		{"starts with assistant", msgs(asst, "x"), `message 1: role "assistant" where "user" is due`},
		{"two users", msgs(user, "a", user, "b"), `message 2: role "user" where "assistant" is due`},
		{"second system", msgs(sys, "s", user, "a", sys, "b"), `message 3: role "system" where "assistant" is due`},
		{"unknown role", msgs(user, "a", asst, "b", "tool", "c"), `message 3: role "tool"`},
		{"model as user", msgs("model", "a"), `message 1: role "model" where "user" is due`},
	} {
		_, err := Render(c.in, false)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
		if err2 := Validate(c.in); (err2 == nil) != (err == nil) {
			t.Errorf("%s: Validate disagrees with Render", c.name)
		}
		if _, err := Tokenize(gemma(t), c.in, false); err == nil {
			t.Errorf("%s: Tokenize accepted it", c.name)
		}
	}
}

func TestTokenizeMask(t *testing.T) {
	tok := gemma(t)
	conv := msgs(sys, "You are kind.", user, "I feel anxious.", asst, "That sounds hard.", user, "It is.", asst, "Tell me more.")
	ex, err := Tokenize(tok, conv, false)
	if err != nil {
		t.Fatal(err)
	}
	checkMask(t, tok, conv, ex, false)
	// Spelled out: the masked tokens decode to the answers and their ends.
	var masked []int32
	for i, id := range ex.IDs {
		if ex.LossMask[i] {
			masked = append(masked, id)
		}
	}
	if got, want := tok.Decode(masked, false), "That sounds hard.<end_of_turn>Tell me more.<end_of_turn>"; got != want {
		t.Errorf("masked text %q, want %q", got, want)
	}
	gen, err := Tokenize(tok, conv[:4], true)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(gen.IDs); !slices.Equal(gen.IDs[n-3:], []int32{105, 4368, 107}) || gen.LossMask[n-1] {
		t.Errorf("generation prompt: ids end %v, mask %v", gen.IDs[n-3:], gen.LossMask[n-3:])
	}
}

func TestNewExample(t *testing.T) {
	tok := gemma(t)
	conv := msgs(sys, "Be kind.",
		user, "First question here.", asst, "First answer, somewhat longer than the question.",
		user, "Second question.", asst, "Second answer.",
		user, "Third question?", asst, "Third and final answer with several words in it.")
	full, err := NewExample(tok, conv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkMask(t, tok, conv, full, false)
	n := len(full.IDs)

	final, err := NewExample(tok, conv, Options{OnlyFinalTurn: true})
	if err != nil {
		t.Fatal(err)
	}
	checkMask(t, tok, conv, final, true)
	if !slices.Equal(final.IDs, full.IDs) || final.Trainable() >= full.Trainable() {
		t.Error("OnlyFinalTurn must keep the ids and train on fewer tokens")
	}

	// Length of the example without its first pair, and without two.
	drop1, _ := Render(append(msgs(sys, "Be kind."), conv[3:]...), false)
	drop2, _ := Render(append(msgs(sys, "Be kind."), conv[5:]...), false)
	n1, n2 := len(tok.Encode(drop1)), len(tok.Encode(drop2))
	for _, c := range []struct {
		name      string
		max       int
		dropped   int
		truncated bool
		length    int
	}{
		{"fits", n, 0, false, n},
		{"fits without the final newline", n - 1, 0, false, n - 1},
		{"drops one pair", n - 2, 1, false, n1},
		{"drops two pairs", n1 - 2, 2, false, n2},
		{"truncates the final answer", n2 - 5, 2, true, n2 - 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			ex, err := NewExample(tok, conv, Options{MaxSeqLen: c.max})
			if err != nil {
				t.Fatal(err)
			}
			if ex.DroppedTurns != c.dropped || ex.Truncated != c.truncated || len(ex.IDs) != c.length {
				t.Errorf("dropped %d truncated %v length %d; want %d %v %d", ex.DroppedTurns, ex.Truncated, len(ex.IDs), c.dropped, c.truncated, c.length)
			}
			if len(ex.IDs) > c.max {
				t.Errorf("%d tokens > max %d", len(ex.IDs), c.max)
			}
			if !strings.HasPrefix(ex.Text, "<bos><start_of_turn>user\nBe kind.\n\n") {
				t.Errorf("the system message was lost: %.60q", ex.Text)
			}
			kept := append(msgs(sys, "Be kind."), conv[1+2*ex.DroppedTurns:]...)
			checkMask(t, tok, kept, ex, false)
		})
	}
	// With room for the final prompt only, nothing of the answer fits.
	last, _ := Render(append(msgs(sys, "Be kind."), conv[5:6]...), true)
	promptLen := len(tok.Encode(last))
	if _, err := NewExample(tok, conv, Options{MaxSeqLen: promptLen}); err == nil || !strings.Contains(err.Error(), "no trainable token") {
		t.Errorf("prompt-only length: error %v", err)
	}
	if ex, err := NewExample(tok, conv, Options{MaxSeqLen: promptLen + 1}); err != nil || ex.Trainable() != 1 || !ex.Truncated {
		t.Errorf("one trainable token: %v, trainable %d", err, ex.Trainable())
	}
	if _, err := NewExample(tok, conv[:6], Options{}); err == nil || !strings.Contains(err.Error(), "must end with an assistant message") {
		t.Errorf("conversation ending with the user: error %v", err)
	}
}

func TestBuildExamples(t *testing.T) {
	tok := gemma(t)
	convs := [][]data.Message{
		msgs(user, "Hi", asst, "Hello"),
		msgs(asst, "wrong start"),
		msgs(user, strings.Repeat("long question ", 100), asst, "answer"),
		msgs(user, "a", asst, strings.Repeat("long answer ", 100)),
		msgs(user, "a", asst, "b", user, "c", asst, "d"),
		msgs(user, "only a question"),
	}
	examples, st, err := BuildExamples(tok, convs, Options{MaxSeqLen: 64})
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Conversations: 6, Kept: 3, Truncated: 1, SkippedTooLong: 1, SkippedInvalid: 2}
	if st.Conversations != want.Conversations || st.Kept != want.Kept || st.Truncated != want.Truncated ||
		st.SkippedTooLong != want.SkippedTooLong || st.SkippedInvalid != want.SkippedInvalid || len(st.Errors) != 3 {
		t.Errorf("stats %+v", st)
	}
	if len(examples) != 3 || examples[0].Index != 0 || examples[1].Index != 3 || examples[2].Index != 4 {
		t.Fatalf("examples out of order: %d", len(examples))
	}
	tokens, trainable := 0, 0
	for _, ex := range examples {
		tokens += len(ex.IDs)
		trainable += ex.Trainable()
		if len(ex.IDs) > 64 {
			t.Errorf("example %d has %d tokens", ex.Index, len(ex.IDs))
		}
	}
	if st.Tokens != tokens || st.TrainableTokens != trainable {
		t.Errorf("token counts %d/%d, want %d/%d", st.Tokens, st.TrainableTokens, tokens, trainable)
	}
	if !strings.Contains(st.Errors[0], "conversation 2: message 1") {
		t.Errorf("first error %q", st.Errors[0])
	}
	if ex, st, err := BuildExamples(tok, nil, Options{}); err != nil || len(ex) != 0 || st.Conversations != 0 {
		t.Errorf("empty input: %v %v %+v", ex, err, st)
	}
}

// FuzzTokenize checks that tokenizing turn by turn always equals encoding
// the rendered text, and that the mask marks the answer.
func FuzzTokenize(f *testing.F) {
	f.Add("Be kind.", "I feel anxious.", "That sounds hard.")
	f.Add("", " <end_of_turn> ", "\n\nx\n")
	f.Add("\nsys\n", "<start_of_turn>user", "a<")
	f.Add("s", "\t\tq", "<bos>")
	tok := gemma(f)
	f.Fuzz(func(t *testing.T, system, question, answer string) {
		conv := msgs(user, question, asst, answer)
		if system != "" {
			conv = append(msgs(sys, system), conv...)
		}
		ex, err := Tokenize(tok, conv, false)
		if err != nil {
			t.Fatal(err)
		}
		if want := tok.Encode(ex.Text); !slices.Equal(ex.IDs, want) {
			t.Fatalf("turn-by-turn %v\n   whole text %v", ex.IDs, want)
		}
		if ex.Trainable() < 1 || !ex.LossMask[len(ex.IDs)-2] || ex.LossMask[len(ex.IDs)-1] {
			t.Fatalf("mask %v", ex.LossMask)
		}
	})
}
