package export

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safety"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

// Disclaimer is the Modelfile's system note: what the model is, and the
// project's safety disclaimer (safety.Disclaimer) word for word, so that a
// model served by Ollama carries the same note as the project's chat.
const Disclaimer = "You are a counselling assistant trained on motivational-interviewing conversations. " +
	"You are not a therapist, doctor or crisis service and cannot diagnose or treat anyone. " +
	"If someone may be in danger or thinking about harming themselves or others, tell them to contact " +
	"local emergency services or a crisis line right away, and encourage them to seek a qualified professional. " +
	safety.Disclaimer

// OllamaTemplate is the Gemma 3n turn format as an Ollama (Go text/template)
// template: a system prompt (the Modelfile's SYSTEM or a system message)
// goes at the start of the first user turn followed by a blank line, as
// Gemma's chat template puts it; every turn is
// "<start_of_turn>{user|model}\n{content}<end_of_turn>\n"; the prompt ends
// with "<start_of_turn>model\n". Ollama adds <bos> itself
// (tokenizer.ggml.add_bos_token). Unlike Gemma's Jinja template it does not
// trim the messages.
const OllamaTemplate = `{{- $system := .System }}
{{- $first := true }}
{{- range $i, $m := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
{{- if eq $m.Role "system" }}{{ $system = $m.Content }}
{{- else if eq $m.Role "user" }}<start_of_turn>user
{{ if and $first $system }}{{ $system }}

{{ end }}{{ $m.Content }}<end_of_turn>
{{ $first = false }}
{{- if $last }}<start_of_turn>model
{{ end }}
{{- else if eq $m.Role "assistant" }}<start_of_turn>model
{{ $m.Content }}{{ if not $last }}<end_of_turn>
{{ end }}
{{- end }}
{{- end }}`

// Sampling defaults of the Modelfile: those of Gemma 3n's
// generation_config.json.
const (
	ollamaTemperature = 1.0
	ollamaTopK        = 64
	ollamaTopP        = 0.95
)

// ModelfilePath is where WriteModelfile puts the Modelfile of a GGUF file:
// beside it, "NAME.Modelfile" for "NAME.gguf".
func ModelfilePath(ggufPath string) string {
	return strings.TrimSuffix(ggufPath, filepath.Ext(ggufPath)) + ".Modelfile"
}

// Modelfile renders an Ollama Modelfile for the GGUF file named
// ggufName (relative to the Modelfile): FROM, the Gemma 3n TEMPLATE, stop
// tokens (<end_of_turn>, and <eos>), Gemma's sampling defaults and the
// project's safety disclaimer as SYSTEM.
func Modelfile(ggufName string, tok *tokenizer.Tokenizer) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Ollama Modelfile written by gemma3n-therapy export gguf --ollama.\n")
	fmt.Fprintf(&b, "# ollama create NAME -f %s && ollama run NAME\n", strings.TrimSuffix(ggufName, filepath.Ext(ggufName))+".Modelfile")
	fmt.Fprintf(&b, "FROM ./%s\n\n", ggufName)
	fmt.Fprintf(&b, "TEMPLATE \"\"\"%s\"\"\"\n\n", OllamaTemplate)
	fmt.Fprintf(&b, "SYSTEM \"\"\"%s\"\"\"\n\n", Disclaimer)
	for _, stop := range stopTokens(tok) {
		fmt.Fprintf(&b, "PARAMETER stop %q\n", stop)
	}
	fmt.Fprintf(&b, "PARAMETER temperature %g\nPARAMETER top_k %d\nPARAMETER top_p %g\n", ollamaTemperature, ollamaTopK, ollamaTopP)
	return b.String()
}

// stopTokens are the texts that end the model's turn.
func stopTokens(tok *tokenizer.Tokenizer) []string {
	var out []string
	for _, id := range []int32{tok.EndOfTurn(), tok.EOS()} {
		if t := tok.IDToToken(id); id >= 0 && t != "" && !containsString(out, t) {
			out = append(out, t)
		}
	}
	if t := "<eos>"; !containsString(out, t) {
		if _, ok := tok.TokenToID(t); ok {
			out = append(out, t)
		}
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// WriteModelfile writes the Modelfile of a GGUF file beside it
// (ModelfilePath) and returns its path.
func WriteModelfile(ggufPath string, tok *tokenizer.Tokenizer) (string, error) {
	path := ModelfilePath(ggufPath)
	if err := atomicfile.WriteBytes(path, []byte(Modelfile(filepath.Base(ggufPath), tok))); err != nil {
		return "", err
	}
	return path, nil
}
