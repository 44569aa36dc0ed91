package safety

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
)

// FuzzScreen: the screen never panics, on any bytes, and its evidence
// always points at the text it quotes.
func FuzzScreen(f *testing.F) {
	for _, cases := range phenomena {
		for _, c := range cases {
			f.Add(c.text)
		}
	}
	for _, s := range []string{"", " ", "\x00", "\xff\xfe", "k i l l", "a b c d e f g h i j k l m n o p",
		`"""`, "''''", "I I I I I I I I I", "1!1!1!1!1!", "😂😭💀", "sh sh sh", "unalive", strings.Repeat("kill myself ", 50),
		"i\u200b\u200b\u200bwant", "-.-.-.-", "k-i-l-l-m-y-s-e-l-f-k-i-l-l", "IIIIIIIIIIIIIIIIIIIIIII"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		r := Screen(text)
		checkResult(t, text, r)
		c := ScreenConversation([]data.Message{
			{Role: data.RoleUser, Content: text},
			{Role: data.RoleAssistant, Content: text + "?"},
			{Role: data.RoleUser, Content: text},
		})
		if c.Level < r.Level {
			t.Fatalf("%q: the conversation is %s, its turn alone %s", text, c.Level, r.Level)
		}
	})
}

// FuzzScreenJSONL: the reader never panics; it either writes one line per
// non-blank input line or writes nothing and names a line.
func FuzzScreenJSONL(f *testing.F) {
	f.Add([]byte(`{"id": 1, "text": "I want to die"}` + "\n"))
	f.Add([]byte(`{"id": "x", "messages": [{"role": "user", "content": "hi"}]}`))
	f.Add([]byte("{\"id\": 1}\n\n{"))
	f.Add([]byte(`{"id": [1,{"a":null}], "text": "\u0000"}`))
	f.Add([]byte("\n\n\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		err := ScreenJSONL(bytes.NewReader(in), "fuzz", &out, true)
		if err != nil {
			if out.Len() != 0 {
				t.Fatalf("error %v after writing output", err)
			}
			if !strings.HasPrefix(err.Error(), "fuzz:") {
				t.Fatalf("error without the input's name and line: %v", err)
			}
			return
		}
		want := 0
		for _, line := range bytes.Split(in, []byte("\n")) {
			if len(bytes.TrimSpace(line)) > 0 {
				want++
			}
		}
		if got := bytes.Count(out.Bytes(), []byte("\n")); got != want {
			t.Fatalf("%d output lines for %d input lines", got, want)
		}
	})
}
