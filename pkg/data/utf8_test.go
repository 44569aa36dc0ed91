package data

import (
	"strings"
	"testing"
)

// TestInvalidUTF8IsAnError: a byte that is not UTF-8 in a CSV field or a
// JSONL line is refused with the file and line (and the CSV column),
// instead of becoming U+FFFD without a word.
func TestInvalidUTF8IsAnError(t *testing.T) {
	input := ccHeader +
		ccRow(1, "Sad?", "I feel sad,\nvery.", "ann", "It helps to talk.", 3, 10) +
		ccRow(2, "Tired", "I feel\ntired \xff today", "bob", "Rest.", 0, 5)
	_, err := ReadCounselChat(strings.NewReader(input), "cc.csv")
	if err == nil || !strings.Contains(err.Error(), `cc.csv:5: column "questionText": invalid UTF-8 (byte 0xff`) {
		t.Errorf("CSV: err = %v, want cc.csv:5 and the column", err)
	}
	header := strings.Replace(ccHeader, "topic", "top\xe9ic", 1)
	if _, err := ReadCounselChat(strings.NewReader(header), "cc.csv"); err == nil || !strings.Contains(err.Error(), "cc.csv:1: header: invalid UTF-8") {
		t.Errorf("CSV header: err = %v", err)
	}
	jsonl := `{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}` + "\n\n" +
		`{"messages": [{"role": "user", "content": "caf` + "\xe9" + `"}, {"role": "assistant", "content": "hello"}]}` + "\n"
	if _, err := ReadConversations(strings.NewReader(jsonl), "c.jsonl"); err == nil || !strings.Contains(err.Error(), "c.jsonl:3: column 47: invalid UTF-8 (byte 0xe9)") {
		t.Errorf("JSONL: err = %v", err)
	}
}
