package safety

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/jsonl"
)

// ScreenRequest is one input line of ScreenJSONL: an id (any JSON value,
// echoed back) and either a message or a conversation.
type ScreenRequest struct {
	ID       json.RawMessage `json:"id"`
	Text     *string         `json:"text"`
	Messages []data.Message  `json:"messages"`
}

// ScreenLine is one output line of ScreenJSONL.
type ScreenLine struct {
	ID          json.RawMessage `json:"id"`
	Level       Level           `json:"level"`
	Categories  []Category      `json:"categories"`
	Subject     Subject         `json:"subject,omitempty"`
	Evidence    []Evidence      `json:"evidence"`
	Explanation string          `json:"explanation"`
	Crisis      bool            `json:"crisis,omitempty"`
	Discounted  []Evidence      `json:"discounted,omitempty"`
}

// ReadScreenRequests reads JSON lines of ScreenRequest. Errors name the
// input and the 1-based line; blank lines are skipped.
func ReadScreenRequests(r io.Reader, name string) ([]ScreenRequest, error) {
	var reqs []ScreenRequest
	err := jsonl.EachNamed(r, name, func(line int, raw []byte) error {
		req, err := parseScreenRequest(raw)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
		reqs = append(reqs, req)
		return nil
	})
	return reqs, err
}

func parseScreenRequest(raw []byte) (ScreenRequest, error) {
	var req ScreenRequest
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return req, errors.New(`want a JSON object {"id", "text"} or {"id", "messages"}`)
	}
	if err := json.Unmarshal(trimmed, &req); err != nil {
		return req, fmt.Errorf("not a valid request: %w", err)
	}
	if len(req.ID) == 0 || string(req.ID) == "null" {
		return req, errors.New(`missing "id"`)
	}
	switch {
	case req.Text != nil && req.Messages != nil:
		return req, errors.New(`give "text" or "messages", not both`)
	case req.Text == nil && req.Messages == nil:
		return req, errors.New(`missing "text" (a message) or "messages" (a conversation)`)
	case req.Messages != nil:
		if err := checkMessages(req.Messages); err != nil {
			return req, err
		}
	}
	return req, nil
}

// Screen screens the request's message or conversation.
func (req *ScreenRequest) Screen() Result {
	if req.Messages != nil {
		return ScreenConversation(req.Messages)
	}
	return Screen(*req.Text)
}

// ScreenJSONL reads every line of r (see ReadScreenRequests), screens each
// and writes one ScreenLine per input line to w, in order. It writes
// nothing when any line is bad: the error names the line. With explain,
// the lines also hold the discounted matches.
func ScreenJSONL(r io.Reader, name string, w io.Writer, explain bool) error {
	reqs, err := ReadScreenRequests(r, name)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i := range reqs {
		res := reqs[i].Screen()
		line := ScreenLine{ID: reqs[i].ID, Level: res.Level, Categories: res.Categories, Subject: res.Subject,
			Evidence: res.Evidence, Explanation: res.Explanation, Crisis: res.Crisis}
		if explain {
			line.Discounted = res.Discounted
		}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	_, err = w.Write(buf.Bytes())
	return err
}
