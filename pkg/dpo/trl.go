package dpo

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/chat"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/jsonpos"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/utf8check"
)

// maxTRLLine bounds one JSON line of a pairs file (a corrupt file must not
// make us read gigabytes into one line).
const maxTRLLine = 64 << 20

// ReadTRLPairs reads a JSON-lines file of preference pairs in the formats
// TRL's DPOTrainer accepts. See ParseTRLPairs.
func ReadTRLPairs(path string) ([]data.PreferencePair, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dpo: %w", err)
	}
	defer f.Close()
	return ParseTRLPairs(f, path)
}

// ParseTRLPairs reads preference pairs, one JSON object per line (blank
// lines are skipped), in TRL's formats:
//
//	{"prompt": "question", "chosen": "answer", "rejected": "answer"}
//	{"prompt": [{"role": "user", "content": "…"}, …], "chosen": [{"role": "assistant", "content": "…"}], "rejected": [...]}
//	{"chosen": [user, …, assistant], "rejected": [user, …, assistant]}   (implicit prompt: the shared messages)
//
// "messages" may stand for a conversational "prompt". A prompt string is one
// user turn; a prompt list may begin with a system message and must
// alternate user and assistant turns, ending with the user's. Each answer
// is a string or a list of exactly one assistant message; contents are
// strings or lists of {"type": "text", "text": …} parts. Other keys are
// ignored. Errors name the file (name), the line and the field. Pair IDs are
// "base:line" (base: the file's base name).
func ParseTRLPairs(r io.Reader, name string) ([]data.PreferencePair, error) {
	in := bufio.NewReaderSize(r, 1<<16)
	base := filepath.Base(name)
	var pairs []data.PreferencePair
	for lineNo := 1; ; lineNo++ {
		line, readErr := readLine(in)
		if readErr != nil && readErr != io.EOF {
			return nil, fmt.Errorf("dpo: %s:%d: %w", name, lineNo, readErr)
		}
		if err := utf8check.Line(line); err != nil {
			return nil, fmt.Errorf("dpo: %s:%d: %w", name, lineNo, err)
		}
		if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
			p, err := parseTRLLine(trimmed)
			if err != nil {
				return nil, fmt.Errorf("dpo: %s:%d: %w", name, lineNo, err)
			}
			p.ID = base + ":" + strconv.Itoa(lineNo)
			p.Group = p.ID
			pairs = append(pairs, p)
		}
		if readErr == io.EOF {
			break
		}
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("dpo: %s: no preference pairs", name)
	}
	return pairs, nil
}

// readLine reads one line (without its newline), at most maxTRLLine bytes.
func readLine(in *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, isPrefix, err := in.ReadLine()
		line = append(line, chunk...)
		if len(line) > maxTRLLine {
			return nil, fmt.Errorf("line longer than %d bytes", maxTRLLine)
		}
		if err != nil || !isPrefix {
			return line, err
		}
	}
}

// trlRecord is one line; each field is a string or a message list.
type trlRecord struct {
	Prompt   json.RawMessage `json:"prompt"`
	Messages json.RawMessage `json:"messages"`
	Chosen   json.RawMessage `json:"chosen"`
	Rejected json.RawMessage `json:"rejected"`
}

type trlMessage struct {
	Role    *string         `json:"role"`
	Content json.RawMessage `json:"content"`
}

func parseTRLLine(line []byte) (data.PreferencePair, error) {
	var rec trlRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		return data.PreferencePair{}, describeJSONError(line, err)
	}
	if present(rec.Prompt) && present(rec.Messages) {
		return data.PreferencePair{}, errors.New(`both "prompt" and "messages": give the prompt once`)
	}
	promptKey, promptRaw := "prompt", rec.Prompt
	if present(rec.Messages) {
		promptKey, promptRaw = "messages", rec.Messages
	}
	for _, f := range []struct {
		key string
		raw json.RawMessage
	}{{"chosen", rec.Chosen}, {"rejected", rec.Rejected}} {
		if !present(f.raw) {
			return data.PreferencePair{}, fmt.Errorf("no %q", f.key)
		}
	}
	chosen, err := parseTurns("chosen", rec.Chosen)
	if err != nil {
		return data.PreferencePair{}, err
	}
	rejected, err := parseTurns("rejected", rec.Rejected)
	if err != nil {
		return data.PreferencePair{}, err
	}

	var prompt []data.Message
	switch {
	case present(promptRaw):
		if prompt, err = parseTurns(promptKey, promptRaw); err != nil {
			return data.PreferencePair{}, err
		}
		if isText(promptRaw) {
			prompt[0].Role = data.RoleUser
		}
	case isText(rec.Chosen) || isText(rec.Rejected):
		return data.PreferencePair{}, errors.New(`no "prompt": answers given as strings need a "prompt" (or "messages")`)
	default:
		// Implicit prompt: the messages both conversations share.
		n := 0
		for n < len(chosen)-1 && n < len(rejected)-1 && chosen[n] == rejected[n] {
			n++
		}
		prompt, chosen, rejected = chosen[:n], chosen[n:], rejected[n:]
		if len(prompt) == 0 {
			return data.PreferencePair{}, errors.New(`no "prompt", and "chosen" and "rejected" share no leading messages to take as the prompt`)
		}
	}
	if err := checkPrompt(promptKey, prompt); err != nil {
		return data.PreferencePair{}, err
	}
	pair := data.PreferencePair{Prompt: prompt}
	for _, side := range []struct {
		key   string
		turns []data.Message
		raw   json.RawMessage
		dst   *string
	}{{"chosen", chosen, rec.Chosen, &pair.Chosen}, {"rejected", rejected, rec.Rejected, &pair.Rejected}} {
		text, err := answerText(side.key, side.turns, isText(side.raw))
		if err != nil {
			return data.PreferencePair{}, err
		}
		*side.dst = text
	}
	return pair, nil
}

// present reports whether a field was given (and is not null).
func present(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }

// isText reports whether a field is a JSON string.
func isText(raw json.RawMessage) bool { return len(raw) > 0 && raw[0] == '"' }

// parseTurns reads a field that is a string (one message, role assistant
// until the caller says otherwise) or a list of messages.
func parseTurns(key string, raw json.RawMessage) ([]data.Message, error) {
	if isText(raw) {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%q: %w", key, err)
		}
		return []data.Message{{Role: data.RoleAssistant, Content: s}}, nil
	}
	var list []trlMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("%q must be a string or a list of {\"role\", \"content\"} messages", key)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%q is an empty list", key)
	}
	out := make([]data.Message, len(list))
	for i, m := range list {
		if m.Role == nil {
			return nil, fmt.Errorf("%q message %d: no \"role\"", key, i+1)
		}
		switch *m.Role {
		case data.RoleSystem, data.RoleUser, data.RoleAssistant, "model":
		default:
			return nil, fmt.Errorf("%q message %d: role %q (want system, user or assistant)", key, i+1, *m.Role)
		}
		content, err := chat.MessageContent(m.Content)
		if err != nil {
			return nil, fmt.Errorf("%q message %d: %w", key, i+1, err)
		}
		role := *m.Role
		if role == "model" {
			role = data.RoleAssistant
		}
		out[i] = data.Message{Role: role, Content: content}
	}
	return out, nil
}

// checkPrompt requires a conversation the template accepts that ends with
// the user's turn.
func checkPrompt(key string, prompt []data.Message) error {
	if err := chat.Validate(prompt); err != nil {
		return fmt.Errorf("%q: %w", key, err)
	}
	if last := prompt[len(prompt)-1]; last.Role != data.RoleUser {
		return fmt.Errorf("%q: the prompt must end with a user message, not %s", key, last.Role)
	}
	return nil
}

// answerText takes an answer: one non-empty assistant message.
func answerText(key string, turns []data.Message, fromString bool) (string, error) {
	if len(turns) != 1 {
		return "", fmt.Errorf("%q: want one assistant message after the prompt, got %d messages", key, len(turns))
	}
	if !fromString && turns[0].Role != data.RoleAssistant {
		return "", fmt.Errorf("%q: the answer must be an assistant message, not %s", key, turns[0].Role)
	}
	if strings.TrimSpace(turns[0].Content) == "" {
		return "", fmt.Errorf("%q: empty answer", key)
	}
	return turns[0].Content, nil
}

// describeJSONError turns a decoding error into one naming the column.
func describeJSONError(line []byte, err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field == "" {
		return fmt.Errorf("want a JSON object {\"prompt\", \"chosen\", \"rejected\"}, got %s", typeErr.Value)
	}
	pos, ok := jsonpos.Of(line, err)
	switch {
	case !ok:
		return err
	case typeErr != nil:
		return fmt.Errorf("column %d: %q: %v", pos.Column, typeErr.Field, err)
	}
	return fmt.Errorf("column %d: invalid JSON: %v", pos.Column, err)
}
