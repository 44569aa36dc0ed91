package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

type templateLine struct {
	Text string  `json:"text"`
	IDs  []int32 `json:"ids"`
	Mask []int   `json:"mask"`
}

func decodeTemplateLines(t *testing.T, out string) []templateLine {
	t.Helper()
	var all []templateLine
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var rec templateLine
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("bad output line %q: %v", line, err)
		}
		all = append(all, rec)
	}
	return all
}

func TestChatTemplateCommand(t *testing.T) {
	in := `{"messages": [{"role": "user", "content": "Hello"}], "add_generation_prompt": true}
{"messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": " I feel anxious. "}, {"role": "assistant", "content": "Tell me more."}]}
{"messages": [{"role": "user", "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]}, {"role": "model", "content": "Yes?"}], "add_generation_prompt": false}
`
	out, err := runWithStdin(t, in, "chat-template")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"text":"<bos><start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n"`) {
		t.Errorf("text not written verbatim (HTML escaping?):\n%s", out)
	}
	got := decodeTemplateLines(t, out)
	want := []templateLine{
		{
			Text: "<bos><start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n",
			IDs:  []int32{2, 105, 2364, 107, 9259, 106, 107, 105, 4368, 107},
			Mask: []int{0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		},
		{
			Text: "<bos><start_of_turn>user\nBe kind.\n\nI feel anxious.<end_of_turn>\n<start_of_turn>model\nTell me more.<end_of_turn>\n",
			// <bos> <sot> user \n Be kind . \n\n I feel anxious . <eot> \n <sot> model \n Tell me more . <eot> \n
			IDs:  []int32{2, 105, 2364, 107, 3912, 2712, 236761, 108, 236777, 2597, 34835, 236761, 106, 107, 105, 4368, 107, 54593, 786, 919, 236761, 106, 107},
			Mask: []int{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0},
		},
		{
			Text: "<bos><start_of_turn>user\nHithere<end_of_turn>\n<start_of_turn>model\nYes?<end_of_turn>\n",
		},
	}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Text != w.Text {
			t.Errorf("line %d: text %q, want %q", i, g.Text, w.Text)
		}
		if w.IDs != nil && (!slices.Equal(g.IDs, w.IDs) || !slices.Equal(g.Mask, w.Mask)) {
			t.Errorf("line %d:\n ids %v\nmask %v\nwant %v\n     %v", i, g.IDs, g.Mask, w.IDs, w.Mask)
		}
		if len(g.Mask) != len(g.IDs) {
			t.Errorf("line %d: %d mask values for %d ids", i, len(g.Mask), len(g.IDs))
		}
	}
}

func TestChatTemplateCommandErrors(t *testing.T) {
	for _, c := range []struct {
		stdin string
		want  string
	}{
		{`{"messages": [{"role": "assistant", "content": "x"}]}`, `line 1: message 1: role "assistant" where "user" is due`},
		{"{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}]}\n{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"user\", \"content\": \"b\"}]}", `line 2: message 2: role "user"`},
		{`{"messages": []}`, "line 1: no messages"},
		{`{"msgs": []}`, `line 1: no "messages" list`},
		{`{"messages": [{"role": "user", "content": 5}]}`, "line 1: message 1: \"content\" must be a string"},
		{`{"messages": [{"role": "user"}]}`, `line 1: message 1: no "content"`},
		{`{"messages": [{"role": "user", "content": [{"type": "image"}]}]}`, "content part 1: only"},
		{`{"messages": `, "line 1:"},
	} {
		_, err := runWithStdin(t, c.stdin, "chat-template")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("stdin %q: error %v, want %q", c.stdin, err, c.want)
		}
	}
}
