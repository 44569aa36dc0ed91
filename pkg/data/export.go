package data

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/jsonl"
)

// EncodeJSONL writes one JSON object per line. HTML characters are not
// escaped, so texts stay readable.
func EncodeJSONL[T any](w io.Writer, items []T) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i := range items {
		if err := enc.Encode(&items[i]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteJSONL writes items as JSON lines to path atomically: to a temporary
// file in the same directory, renamed over path only once complete, so a
// crash never leaves a half-written file. Conversations come out in the
// common {"messages":[{"role","content"}], ...} format.
func WriteJSONL[T any](path string, items []T) error {
	return atomicfile.Write(path, func(w io.Writer) error { return EncodeJSONL(w, items) })
}

// LoadConversations reads a JSONL file of conversations (see ReadConversations).
func LoadConversations(path string) ([]Conversation, error) {
	return jsonl.ReadFile(path, ReadConversations)
}

// ReadConversations reads conversations in the common JSONL format, one
// object per line; blank lines are skipped and unknown fields ignored. Only
// "messages" is required: a missing id becomes the line number and a
// missing source "jsonl". Every conversation must pass ValidateConversation;
// errors name the file and line.
func ReadConversations(r io.Reader, name string) ([]Conversation, error) {
	var convs []Conversation
	ids := map[string]int{}
	err := jsonl.Each(r, func(line int, text []byte) error {
		c, perr := parseConversationLine(bytes.TrimSpace(text), line)
		if perr != nil {
			return &ParseError{File: name, Line: line, Err: perr}
		}
		key := c.Source + "\x00" + c.ID
		if first, dup := ids[key]; dup {
			return &ParseError{File: name, Line: line, Err: fmt.Errorf("duplicate id %q of source %q (first on line %d)", c.ID, c.Source, first)}
		}
		ids[key] = line
		convs = append(convs, c)
		return nil
	})
	if le := (*jsonl.Error)(nil); errors.As(err, &le) {
		return nil, &ParseError{File: name, Line: le.Line, Err: le.Err}
	}
	if err != nil {
		return nil, err
	}
	return convs, nil
}

func parseConversationLine(text []byte, line int) (Conversation, error) {
	var c Conversation
	if err := json.Unmarshal(text, &c); err != nil {
		return c, err
	}
	if c.Messages == nil {
		return c, errors.New(`missing "messages"`)
	}
	if c.ID == "" {
		c.ID = strconv.Itoa(line)
	}
	if c.Source == "" {
		c.Source = "jsonl"
	}
	return c, ValidateConversation(&c)
}
