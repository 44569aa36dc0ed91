package chat

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzTemplateJSONLines checks the JSON-lines reader of the chat-template
// command: an error, or one output line per non-blank input line whose
// ids and mask have the same length.
func FuzzTemplateJSONLines(f *testing.F) {
	f.Add(`{"messages": [{"role": "user", "content": "Hi"}], "add_generation_prompt": true}`)
	f.Add(`{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": [{"type": "text", "text": " a "}]}, {"role": "assistant", "content": "b"}]}`)
	f.Add("{\"messages\": [{\"role\": \"user\", \"content\": null}]}\n\n")
	f.Add(`{"messages": [{"role": "assistant", "content": "x"}]}`)
	tok := gemma(f)
	f.Fuzz(func(t *testing.T, in string) {
		var out strings.Builder
		if err := TemplateJSONLines(tok, strings.NewReader(in), &out); err != nil {
			return
		}
		want := 0
		for _, line := range strings.Split(in, "\n") {
			if strings.TrimSpace(line) != "" {
				want++
			}
		}
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if want == 0 {
			if out.Len() != 0 {
				t.Fatalf("output for blank input: %q", out.String())
			}
			return
		}
		if len(lines) != want {
			t.Fatalf("%d output lines for %d input lines", len(lines), want)
		}
		for _, l := range lines {
			var rec templateResponse
			if err := json.Unmarshal([]byte(l), &rec); err != nil || !strings.HasPrefix(rec.Text, BOS) ||
				len(rec.IDs) != len(rec.Mask) || len(rec.IDs) < 2 {
				t.Fatalf("bad line %q: %v", l, err)
			}
		}
	})
}
