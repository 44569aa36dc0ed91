package tokenizer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/jsonl"
)

// jsonLinesBatch is how many lines EncodeJSONLines encodes at once (in
// parallel) before writing them.
const jsonLinesBatch = 1024

// EncodeJSONLines reads JSON lines {"text": "..."} from r and writes, in
// the same order, one line {"ids": [...]} for each to w; with withBOS the
// ids start with <bos>. Blank lines are skipped. Every line is read and
// checked before anything is written, so a bad line leaves no partial
// output; errors name the 1-based line.
func (t *Tokenizer) EncodeJSONLines(r io.Reader, w io.Writer, withBOS bool) error {
	var texts []string
	err := jsonl.Each(r, func(lineNo int, line []byte) error {
		var rec struct {
			Text *string `json:"text"`
		}
		if err := json.Unmarshal(bytes.TrimSpace(line), &rec); err != nil {
			return fmt.Errorf("line %d: %w", lineNo, err)
		}
		if rec.Text == nil {
			return fmt.Errorf("line %d: no \"text\" string", lineNo)
		}
		texts = append(texts, *rec.Text)
		return nil
	})
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(w, 1<<16)
	var buf []byte
	for start := 0; start < len(texts); start += jsonLinesBatch {
		for _, ids := range t.EncodeBatch(texts[start:min(start+jsonLinesBatch, len(texts))]) {
			buf = append(buf[:0], `{"ids":[`...)
			if withBOS && t.bos >= 0 {
				buf = strconv.AppendInt(buf, int64(t.bos), 10)
				if len(ids) > 0 {
					buf = append(buf, ',')
				}
			}
			for i, id := range ids {
				if i > 0 {
					buf = append(buf, ',')
				}
				buf = strconv.AppendInt(buf, int64(id), 10)
			}
			buf = append(buf, "]}\n"...)
			if _, err := out.Write(buf); err != nil {
				return err
			}
		}
	}
	return out.Flush()
}
