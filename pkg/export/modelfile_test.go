package export

import (
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/chat"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

// ollamaMessage and ollamaData are the fields of Ollama's template data
// that the template uses.
type ollamaMessage struct{ Role, Content string }

type ollamaData struct {
	System   string
	Messages []ollamaMessage
}

// TestOllamaTemplate renders the Modelfile's template as Ollama does (Go's
// text/template) and compares it with the project's Gemma chat template
// on the same conversations, <bos> aside (Ollama adds it as a token).
func TestOllamaTemplate(t *testing.T) {
	tmpl, err := template.New("ollama").Parse(OllamaTemplate)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		system   string // Modelfile SYSTEM
		messages []data.Message
	}{
		{"one user turn", "", []data.Message{{Role: data.RoleUser, Content: "I feel stuck."}}},
		{"SYSTEM", Disclaimer, []data.Message{{Role: data.RoleUser, Content: "I feel stuck."}}},
		{"system message", "", []data.Message{{Role: data.RoleSystem, Content: "Be brief."}, {Role: data.RoleUser, Content: "Hi."}}},
		{"several turns", Disclaimer, []data.Message{
			{Role: data.RoleUser, Content: "I drink too much."}, {Role: data.RoleAssistant, Content: "What worries you about it?"},
			{Role: data.RoleUser, Content: "My health."}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var msgs []ollamaMessage
			for _, m := range tc.messages {
				msgs = append(msgs, ollamaMessage{Role: m.Role, Content: m.Content})
			}
			var b strings.Builder
			if err := tmpl.Execute(&b, ollamaData{System: tc.system, Messages: msgs}); err != nil {
				t.Fatal(err)
			}
			ref := tc.messages
			if tc.system != "" {
				ref = append([]data.Message{{Role: data.RoleSystem, Content: tc.system}}, ref...)
			}
			want, err := chat.Render(ref, true)
			if err != nil {
				t.Fatal(err)
			}
			if got := chat.BOS + b.String(); got != want {
				t.Errorf("Ollama renders\n%q\nGemma's template\n%q", got, want)
			}
		})
	}
}

func TestModelfile(t *testing.T) {
	tok, err := tokenizer.Tiny()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "counsellor-q8_0.gguf")
	mf, err := WriteModelfile(path, tok)
	if err != nil {
		t.Fatal(err)
	}
	if mf != strings.TrimSuffix(path, ".gguf")+".Modelfile" {
		t.Errorf("Modelfile at %s", mf)
	}
	text := Modelfile(filepath.Base(path), tok)
	for _, want := range []string{
		"FROM ./counsellor-q8_0.gguf\n", "TEMPLATE \"\"\"", "SYSTEM \"\"\"" + Disclaimer + "\"\"\"",
		"PARAMETER stop \"<end_of_turn>\"", "PARAMETER stop \"<eos>\"", "PARAMETER top_k 64",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("Modelfile lacks %q:\n%s", want, text)
		}
	}
}
