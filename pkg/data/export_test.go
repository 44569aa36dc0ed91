package data

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestWriteJSONLRoundTrip(t *testing.T) {
	convs := AnnoMIConversations(windowTranscript(), WindowOptions{})
	convs[0].Messages[0].Content = "<b>&</b> \"quoted\"\nnew line"
	convs[1].Split = string(SplitTest)
	dir := t.TempDir()
	path := filepath.Join(dir, "out.jsonl")
	if err := os.WriteFile(path, []byte("old content that must be replaced\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSONL(path, convs); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if len(lines) != len(convs) {
		t.Fatalf("%d lines, want %d", len(lines), len(convs))
	}
	if !strings.HasPrefix(lines[0], `{"source":"annomi","id":"7-3","group":"7","messages":[{"role":"user","content":"<b>&</b> \"quoted\"\nnew line"}`) {
		t.Errorf("line 1 = %s", lines[0])
	}
	if !strings.Contains(lines[1], `"split":"test"`) || strings.Contains(lines[0], `"split"`) {
		t.Errorf("split field: %s / %s", lines[0], lines[1])
	}
	back, err := LoadConversations(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, convs) {
		t.Errorf("round trip differs:\n%+v\n%+v", back, convs)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	if err := WriteJSONL(filepath.Join(dir, "missing", "x.jsonl"), convs); err == nil {
		t.Error("write into a missing directory succeeded")
	}
}

func TestReadConversations(t *testing.T) {
	input := `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}],"extra":1}

{"source":"s","id":"x","messages":[{"role":"system","content":"be kind"},{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}
`
	convs, err := ReadConversations(strings.NewReader(input), "in.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(convs) != 2 || convs[0].ID != "1" || convs[0].Source != "jsonl" || convs[1].ID != "x" || len(convs[1].Messages) != 3 {
		t.Errorf("conversations %+v", convs)
	}
	// No trailing newline.
	if convs, err := ReadConversations(strings.NewReader(strings.TrimSpace(input)), "in.jsonl"); err != nil || len(convs) != 2 {
		t.Errorf("without final newline: %d, %v", len(convs), err)
	}
	ok := `{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}`
	tests := []struct {
		name, input, want string
	}{
		{"bad json", ok + "\n{\"messages\": [\n", "in.jsonl:2: unexpected end of JSON input"},
		{"no messages", ok + "\n{\"id\":\"a\"}\n", `in.jsonl:2: missing "messages"`},
		{"bad roles", `{"messages":[{"role":"assistant","content":"a"},{"role":"user","content":"q"}]}`, "in.jsonl:1: conversation \"1\": message 1 has role"},
		{"duplicate id", `{"id":"a",` + ok[1:] + "\n" + `{"id":"a",` + ok[1:], `in.jsonl:2: duplicate id "a" of source "jsonl" (first on line 1)`},
		{"wrong type", `{"messages":"hi"}`, "in.jsonl:1: json: cannot unmarshal"},
	}
	for _, tc := range tests {
		_, err := ReadConversations(strings.NewReader(tc.input), "in.jsonl")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want prefix %q", tc.name, err, tc.want)
		}
	}
}

func TestEncodeJSONLPairs(t *testing.T) {
	var b bytes.Buffer
	pairs := []PreferencePair{{ID: "q1", Group: "1", Prompt: []Message{{RoleUser, "q"}}, Chosen: "a", Rejected: "b", ChosenUpvotes: 2}}
	if err := EncodeJSONL(&b, pairs); err != nil {
		t.Fatal(err)
	}
	want := `{"id":"q1","group":"1","prompt":[{"role":"user","content":"q"}],"chosen":"a","rejected":"b","chosen_upvotes":2,"rejected_upvotes":0}` + "\n"
	if b.String() != want {
		t.Errorf("got %s want %s", b.String(), want)
	}
}
