package chat

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/jsonl"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

// templateRequest is one input line of TemplateJSONLines.
type templateRequest struct {
	Messages            []jsonMessage `json:"messages"`
	AddGenerationPrompt bool          `json:"add_generation_prompt"`
}

// jsonMessage accepts content as a string or, as in multimodal chat
// formats, a list of {"type": "text", "text": ...} parts.
type jsonMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// templateResponse is one output line of TemplateJSONLines.
type templateResponse struct {
	Text string  `json:"text"`
	IDs  []int32 `json:"ids"`
	Mask []int   `json:"mask"`
}

// TemplateJSONLines reads JSON lines {"messages": [{"role", "content"}...],
// "add_generation_prompt": bool} from r and writes, in the same order, one
// line {"text", "ids", "mask"} for each to w: the rendered conversation
// (with <bos>), its ids and the loss mask as 0/1 (1 on every model turn's
// content and closing <end_of_turn>). Blank lines are skipped. Every line
// is rendered before anything is written, so a bad line leaves no partial
// output. Errors name the 1-based line and message.
func TemplateJSONLines(tok *tokenizer.Tokenizer, r io.Reader, w io.Writer) error {
	var resps []templateResponse
	err := jsonl.Each(r, func(lineNo int, line []byte) error {
		resp, err := templateLine(tok, bytes.TrimSpace(line))
		if err != nil {
			return fmt.Errorf("line %d: %w", lineNo, err)
		}
		resps = append(resps, resp)
		return nil
	})
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false) // keep "<start_of_turn>" readable
	for _, resp := range resps {
		if err := enc.Encode(resp); err != nil {
			return err
		}
	}
	return out.Flush()
}

func templateLine(tok *tokenizer.Tokenizer, line []byte) (templateResponse, error) {
	var req templateRequest
	if err := json.Unmarshal(line, &req); err != nil {
		return templateResponse{}, err
	}
	if req.Messages == nil {
		return templateResponse{}, fmt.Errorf("no \"messages\" list")
	}
	msgs := make([]data.Message, len(req.Messages))
	for i, m := range req.Messages {
		content, err := MessageContent(m.Content)
		if err != nil {
			return templateResponse{}, fmt.Errorf("message %d: %w", i+1, err)
		}
		msgs[i] = data.Message{Role: m.Role, Content: content}
	}
	ex, err := Tokenize(tok, msgs, req.AddGenerationPrompt)
	if err != nil {
		return templateResponse{}, err
	}
	mask := make([]int, len(ex.LossMask))
	for i, m := range ex.LossMask {
		if m {
			mask[i] = 1
		}
	}
	return templateResponse{Text: ex.Text, IDs: ex.IDs, Mask: mask}, nil
}

// MessageContent reads a message's JSON "content": a string, or a list of
// {"type": "text", "text": ...} parts joined the way the template does
// (each part trimmed).
func MessageContent(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", fmt.Errorf("no \"content\"")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string  `json:"type"`
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", fmt.Errorf("\"content\" must be a string or a list of text parts")
	}
	var b strings.Builder
	for j, p := range parts {
		if p.Type != "text" || p.Text == nil {
			return "", fmt.Errorf("content part %d: only {\"type\": \"text\", \"text\": ...} parts are supported", j+1)
		}
		b.WriteString(pyTrim(*p.Text))
	}
	return b.String(), nil
}
