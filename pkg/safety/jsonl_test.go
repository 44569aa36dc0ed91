package safety

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestScreenJSONL(t *testing.T) {
	in := `{"id": "a", "text": "I'm going to kill myself tonight."}
{"id": 2, "text": "This commute is killing me."}

{"id": {"q": 3}, "messages": [{"role": "user", "content": "I want to die."}, {"role": "assistant", "content": "I'm sorry."}, {"role": "user", "content": "I have the pills."}]}
{"id": "d", "text": "", "extra": "ignored"}
`
	var out bytes.Buffer
	if err := ScreenJSONL(strings.NewReader(in), "in.jsonl", &out, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines:\n%s", len(lines), out.String())
	}
	want := []struct {
		id    string
		level Level
	}{{`"a"`, High}, {`2`, None}, {`{"q":3}`, High}, {`"d"`, None}}
	for i, line := range lines {
		var got struct {
			ID         json.RawMessage `json:"id"`
			Level      Level           `json:"level"`
			Categories []Category      `json:"categories"`
			Evidence   []Evidence      `json:"evidence"`
		}
		dec := json.NewDecoder(strings.NewReader(line))
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("line %d %q: %v", i+1, line, err)
		}
		if compact(got.ID) != want[i].id || got.Level != want[i].level || got.Categories == nil || got.Evidence == nil {
			t.Errorf("line %d: %s", i+1, line)
		}
	}
	if !strings.Contains(lines[2], `"message":2`) || strings.Contains(lines[0], "discounted") {
		t.Errorf("conversation evidence should name message 2; no discounted matches without explain:\n%s", out.String())
	}
	out.Reset()
	if err := ScreenJSONL(strings.NewReader(`{"id":1,"text":"I would never kill myself"}`), "x", &out, true); err != nil ||
		!strings.Contains(out.String(), `"discounted":[{`) || !strings.Contains(out.String(), "negated") {
		t.Errorf("explain: %v\n%s", err, out.String())
	}
}

// A bad line anywhere: nothing on the output, an error naming the line.
func TestScreenJSONLErrorsNameTheLine(t *testing.T) {
	good := `{"id": 1, "text": "hello"}` + "\n"
	for _, c := range []struct{ bad, want string }{
		{`not json`, "in:3: want a JSON object"},
		{`{"id": 3}`, `in:3: missing "text"`},
		{`{"text": "x"}`, `in:3: missing "id"`},
		{`{"id": null, "text": "x"}`, `in:3: missing "id"`},
		{`{"id": 3, "text": "x", "messages": []}`, "in:3: give \"text\" or \"messages\", not both"},
		{`{"id": 3, "messages": [{"role": "robot", "content": "x"}]}`, `in:3: message 1: unknown role "robot"`},
		{`{"id": 3, "messages": [{"role": "assistant", "content": "x"}]}`, "in:3: no user message"},
		{`{"id": 3, "text": 5}`, "in:3: not a valid request"},
		{`[1, 2]`, "in:3: want a JSON object"},
	} {
		var out bytes.Buffer
		err := ScreenJSONL(strings.NewReader(good+"\n"+c.bad+"\n"+good), "in", &out, false)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.bad, err, c.want)
		}
		if out.Len() != 0 {
			t.Errorf("%s: output written before the error:\n%s", c.bad, out.String())
		}
	}
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}
