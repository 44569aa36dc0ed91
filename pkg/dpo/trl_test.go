package dpo

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/chat"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
)

func msg(role, content string) data.Message { return data.Message{Role: role, Content: content} }

func TestParseTRLPairsFormats(t *testing.T) {
	sys, u1, a1, u2 := msg("system", "Be kind."), msg("user", "I feel low."), msg("assistant", "Tell me more."), msg("user", "Work is hard.")
	for _, tc := range []struct {
		name string
		line string
		want data.PreferencePair
	}{
		{"standard", `{"prompt": "I feel low.", "chosen": "Tell me more.", "rejected": "Cheer up."}`,
			data.PreferencePair{Prompt: []data.Message{u1}, Chosen: "Tell me more.", Rejected: "Cheer up."}},
		{"conversational", `{"prompt": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "I feel low."}],
			"chosen": [{"role": "assistant", "content": "Tell me more."}], "rejected": [{"role": "assistant", "content": "Cheer up."}]}`,
			data.PreferencePair{Prompt: []data.Message{sys, u1}, Chosen: "Tell me more.", Rejected: "Cheer up."}},
		{"messages as prompt, multi-turn", `{"messages": [{"role": "user", "content": "I feel low."}, {"role": "assistant", "content": "Tell me more."}, {"role": "user", "content": "Work is hard."}],
			"chosen": "That sounds heavy.", "rejected": [{"role": "model", "content": "Quit."}], "score": 3}`,
			data.PreferencePair{Prompt: []data.Message{u1, a1, u2}, Chosen: "That sounds heavy.", Rejected: "Quit."}},
		{"implicit prompt", `{"chosen": [{"role": "user", "content": "I feel low."}, {"role": "assistant", "content": "Tell me more."}],
			"rejected": [{"role": "user", "content": "I feel low."}, {"role": "assistant", "content": "Cheer up."}]}`,
			data.PreferencePair{Prompt: []data.Message{u1}, Chosen: "Tell me more.", Rejected: "Cheer up."}},
		{"text parts", `{"prompt": [{"role": "user", "content": [{"type": "text", "text": " I feel low. "}]}], "chosen": [{"role": "assistant", "content": [{"type": "text", "text": "Tell me more."}]}], "rejected": "Cheer up."}`,
			data.PreferencePair{Prompt: []data.Message{u1}, Chosen: "Tell me more.", Rejected: "Cheer up."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			input := "\n" + strings.ReplaceAll(tc.line, "\n", " ") + "\n\n"
			pairs, err := ParseTRLPairs(strings.NewReader(input), "dir/extra.jsonl")
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			want.ID, want.Group = "extra.jsonl:2", "extra.jsonl:2"
			if len(pairs) != 1 || !reflect.DeepEqual(pairs[0], want) {
				t.Errorf("got %+v\nwant %+v", pairs, want)
			}
			if err := chat.Validate(pairs[0].Prompt); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestParseTRLPairsErrors(t *testing.T) {
	good := `{"prompt": "q", "chosen": "a", "rejected": "b"}`
	for _, tc := range []struct {
		name, input, want string
	}{
		{"empty file", "\n \n", "f.jsonl: no preference pairs"},
		{"syntax", good + "\n{\"prompt\": \"q\", \"chosen\": }", `f.jsonl:2: column 27: invalid JSON`},
		{"not an object", `["q", "a", "b"]`, `f.jsonl:1: want a JSON object`},
		{"no chosen", `{"prompt": "q", "rejected": "b"}`, `f.jsonl:1: no "chosen"`},
		{"null rejected", `{"prompt": "q", "chosen": "a", "rejected": null}`, `f.jsonl:1: no "rejected"`},
		{"both prompts", `{"prompt": "q", "messages": [], "chosen": "a", "rejected": "b"}`, `both "prompt" and "messages"`},
		{"strings without prompt", `{"chosen": "a", "rejected": "b"}`, `no "prompt": answers given as strings`},
		{"number", `{"prompt": 3, "chosen": "a", "rejected": "b"}`, `"prompt" must be a string or a list`},
		{"empty list", `{"prompt": [], "chosen": "a", "rejected": "b"}`, `"prompt" is an empty list`},
		{"no role", `{"prompt": [{"content": "q"}], "chosen": "a", "rejected": "b"}`, `"prompt" message 1: no "role"`},
		{"bad role", `{"prompt": [{"role": "tool", "content": "q"}], "chosen": "a", "rejected": "b"}`, `role "tool"`},
		{"no content", `{"prompt": [{"role": "user"}], "chosen": "a", "rejected": "b"}`, `"prompt" message 1: no "content"`},
		{"image part", `{"prompt": [{"role": "user", "content": [{"type": "image"}]}], "chosen": "a", "rejected": "b"}`, "content part 1"},
		{"prompt ends with assistant", `{"prompt": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "x"}], "chosen": "a", "rejected": "b"}`,
			`"prompt": the prompt must end with a user message`},
		{"roles do not alternate", `{"messages": [{"role": "user", "content": "q"}, {"role": "user", "content": "x"}], "chosen": "a", "rejected": "b"}`,
			`"messages": message 2: role "user"`},
		{"two answer messages", `{"prompt": "q", "chosen": [{"role": "assistant", "content": "a"}, {"role": "user", "content": "b"}], "rejected": "b"}`,
			`"chosen": want one assistant message after the prompt, got 2`},
		{"answer from user", `{"prompt": "q", "chosen": "a", "rejected": [{"role": "user", "content": "b"}]}`,
			`"rejected": the answer must be an assistant message`},
		{"empty answer", `{"prompt": "q", "chosen": " ", "rejected": "b"}`, `"chosen": empty answer`},
		{"implicit, nothing shared", `{"chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "rejected": [{"role": "user", "content": "p"}, {"role": "assistant", "content": "b"}]}`,
			"share no leading messages"},
		{"error on line 3", good + "\n" + good + "\n{}", `f.jsonl:3: no "chosen"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTRLPairs(strings.NewReader(tc.input), "f.jsonl")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestReadTRLPairs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pairs.jsonl")
	content := `{"prompt": "q1", "chosen": "a", "rejected": "b"}` + "\n" + `{"prompt": "q2", "chosen": "c", "rejected": "d"}`
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	pairs, err := ReadTRLPairs(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 2 || pairs[1].ID != "pairs.jsonl:2" || pairs[1].Prompt[0].Content != "q2" {
		t.Errorf("pairs %+v", pairs)
	}
	if _, err := ReadTRLPairs(filepath.Join(t.TempDir(), "missing.jsonl")); err == nil || !strings.Contains(err.Error(), "missing.jsonl") {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzParseTRLPairs: any input gives pairs or an error naming a line, never
// a panic, and every pair it accepts has a prompt the template renders,
// ending with the user's turn, and two non-empty answers.
func FuzzParseTRLPairs(f *testing.F) {
	for _, seed := range []string{
		`{"prompt": "q", "chosen": "a", "rejected": "b"}`,
		`{"prompt": [{"role": "user", "content": "q"}], "chosen": [{"role": "assistant", "content": "a"}], "rejected": [{"role": "assistant", "content": "b"}]}`,
		`{"chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "b"}]}`,
		`{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": [{"type": "text", "text": "q"}]}], "chosen": "a", "rejected": "b"}` + "\n\n{}",
		"{\"prompt\": \"\xff\", \"chosen\": 1}",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input string) {
		pairs, err := ParseTRLPairs(strings.NewReader(input), "fuzz.jsonl")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "dpo: fuzz.jsonl") {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		for _, p := range pairs {
			if _, err := chat.Render(p.Prompt, true); err != nil {
				t.Errorf("accepted prompt %+v: %v", p.Prompt, err)
			}
			if p.Prompt[len(p.Prompt)-1].Role != data.RoleUser || strings.TrimSpace(p.Chosen) == "" || strings.TrimSpace(p.Rejected) == "" {
				t.Errorf("accepted pair %+v", p)
			}
		}
	})
}
