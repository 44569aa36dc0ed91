// Package chat renders conversations with Gemma's chat template and turns
// them into training examples: token ids plus a loss mask that is on
// exactly for what the model must learn to say.
//
// The template, as in Gemma's tokenizer_config.json:
//
//	<bos><start_of_turn>user
//	{system}
//
//	{user}<end_of_turn>
//	<start_of_turn>model
//	{assistant}<end_of_turn>
//
// Contents are trimmed; a leading system message is folded into the first
// user turn, followed by a blank line; the role "assistant" is written
// "model"; roles alternate, starting with the user. With a generation
// prompt the text ends in "<start_of_turn>model\n".
package chat

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
)

// Template text.
const (
	BOS              = "<bos>"
	StartOfTurn      = "<start_of_turn>"
	EndOfTurn        = "<end_of_turn>"
	UserRole         = "user"
	ModelRole        = "model"
	GenerationPrompt = StartOfTurn + ModelRole + "\n"
)

// roleModel is accepted as another name of data.RoleAssistant, as Gemma's
// own template does.
const roleModel = "model"

// turn is one rendered turn: <start_of_turn>{role}\n{body}<end_of_turn>\n.
type turn struct {
	role  string // UserRole or ModelRole
	body  string // trimmed content, with the system prefix on the first user turn
	index int    // of the message in the input, for errors
}

// conversation is a validated conversation: an optional system prefix and
// turns that alternate user, model, user, ...
type conversation struct {
	systemPrefix string // system content + "\n\n", or ""
	turns        []turn
}

// parse validates messages and splits them into turns. Errors name the
// offending message by its index.
func parse(messages []data.Message) (conversation, error) {
	var c conversation
	if len(messages) == 0 {
		return c, errors.New("no messages")
	}
	rest, offset := messages, 1 // messages are numbered from 1 in errors, as editors count
	if messages[0].Role == data.RoleSystem {
		// Not trimmed: the template adds the system text as it is.
		c.systemPrefix = messages[0].Content + "\n\n"
		rest, offset = messages[1:], 2
		if len(rest) == 0 {
			return c, errors.New("only a system message: the conversation needs a user message")
		}
	}
	c.turns = make([]turn, len(rest))
	for i, m := range rest {
		want, role := data.RoleUser, UserRole
		if i%2 == 1 {
			want, role = data.RoleAssistant, ModelRole
		}
		if m.Role != want && !(want == data.RoleAssistant && m.Role == roleModel) {
			return c, fmt.Errorf("message %d: role %q where %q is due: roles must alternate user/assistant, starting with user (after an optional leading system message)",
				i+offset, m.Role, want)
		}
		c.turns[i] = turn{role: role, body: pyTrim(m.Content), index: i + offset}
	}
	return c, nil
}

// pyTrim trims white space as Python's str.strip, which the template's
// Jinja "trim" filter calls: Go's unicode.IsSpace plus the ASCII
// information separators U+001C–U+001F.
func pyTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
	})
}

// Render returns the chat-template text of messages, starting with <bos>.
// With addGenerationPrompt it ends with "<start_of_turn>model\n", the cue
// for the model to answer.
func Render(messages []data.Message, addGenerationPrompt bool) (string, error) {
	c, err := parse(messages)
	if err != nil {
		return "", err
	}
	return c.render(0, addGenerationPrompt), nil
}

// Validate reports whether messages form a conversation the template
// accepts.
func Validate(messages []data.Message) error {
	_, err := parse(messages)
	return err
}

// render writes the turns from index first on, the system prefix going to
// the first of them.
func (c conversation) render(first int, addGenerationPrompt bool) string {
	var b strings.Builder
	b.WriteString(BOS)
	for i, t := range c.turns[first:] {
		b.WriteString(StartOfTurn)
		b.WriteString(t.role)
		b.WriteByte('\n')
		if i == 0 {
			b.WriteString(c.systemPrefix)
		}
		b.WriteString(t.body)
		b.WriteString(EndOfTurn)
		b.WriteByte('\n')
	}
	if addGenerationPrompt {
		b.WriteString(GenerationPrompt)
	}
	return b.String()
}
