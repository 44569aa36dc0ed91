package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safety"
)

// The loop's mechanics with a stand-in model that counts its calls: the
// model is never called for a high turn, nor after one until /reset.
func TestChatLoop(t *testing.T) {
	gate, err := safety.NewGate(config.DefaultSafety(), false)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	var seen [][]data.Message
	respond := func(_ context.Context, msgs []data.Message, out io.Writer) (string, error) {
		calls++
		seen = append(seen, msgs)
		io.WriteString(out, "streamed reply")
		return "streamed reply", nil
	}
	saved := filepath.Join(t.TempDir(), "conversation.json")
	script := strings.Join([]string{
		"hello",
		"I'm going to kill myself tonight.",
		"never mind, what should I cook?",
		"/save " + saved,
		"/reset",
		"",
		"sometimes I wish I could sleep and never wake up",
		"/bogus",
		"/quit",
		"this line is never read",
	}, "\n")
	var out bytes.Buffer
	ctx := &runContext{stdin: strings.NewReader(script), stdout: &out, stderr: io.Discard}
	if err := chatLoop(nil, ctx, gate, respond, "You are a counsellor."); err != nil {
		t.Fatal(err)
	}
	if calls != 2 {
		t.Fatalf("the model was called %d times, want 2 (hello, and the concern after /reset):\n%s", calls, out.String())
	}
	text := out.String()
	for _, want := range []string{
		safety.Disclaimer, chatCommands,
		"I'm really glad you told me",         // the referral
		"I'm still worried about your safety", // crisis mode
		"(saved 7 messages to " + saved + ")",
		"(new conversation)",
		"streamed reply\n\nIf things get harder", // the concern's resource line after the streamed reply
		"(unknown command /bogus)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	// The system message opens every conversation; the model saw the whole history.
	if seen[1][0].Role != data.RoleSystem || len(seen[1]) != 2 {
		t.Errorf("second call saw %+v", seen[1])
	}
	raw, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Messages []data.Message }
	if err := json.Unmarshal(raw, &file); err != nil || len(file.Messages) != 7 || file.Messages[6].Role != data.RoleAssistant ||
		!strings.HasPrefix(file.Messages[6].Content, "I'm still worried") {
		t.Errorf("saved conversation %s (%v)", raw, err)
	}
	if c := gate.Counts(); c.Referrals != 2 || c.CrisisFollowUps != 1 || c.ResourceLines != 1 {
		t.Errorf("gate counts %+v", c)
	}
}

func TestSaveConversationErrors(t *testing.T) {
	if err := saveConversation("", nil); err == nil {
		t.Error("empty file name accepted")
	}
	if err := saveConversation(filepath.Join(t.TempDir(), "missing", "c.json"), nil); err == nil {
		t.Error("missing directory accepted")
	}
}

// The real command on the random-init tiny model, from a stdin script: the
// mechanics, not the quality of the replies.
func TestChatCommandOnTinyModel(t *testing.T) {
	saved := filepath.Join(t.TempDir(), "c.json")
	script := "I keep putting off my exercise.\n/save " + saved + "\nI have the pills and I'm going to take them all tonight.\nhello?\n/reset\nhi\n"
	var out, errOut bytes.Buffer
	err := runMain(&runContext{stdin: strings.NewReader(script), stdout: &out, stderr: &errOut},
		[]string{"chat", "--model", "tiny", "--max-new-tokens", "4"})
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	text := out.String()
	if !strings.HasPrefix(text, safety.Disclaimer) || strings.Count(text, "I'm really glad you told me") != 1 ||
		strings.Count(text, "I'm still worried about your safety") != 1 || errOut.Len() != 0 {
		t.Errorf("output:\n%s\nstderr:\n%s", text, errOut.String())
	}
	raw, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Messages []data.Message }
	if err := json.Unmarshal(raw, &file); err != nil || len(file.Messages) != 2 || file.Messages[1].Content == "" {
		t.Errorf("saved %s (%v)", raw, err)
	}
	// The saved conversation continues with generate --messages.
	if _, err := runCmd(t, "generate", "--model", "tiny", "--messages", saved, "--max-new-tokens", "2"); err != nil {
		t.Errorf("generate --messages on the saved conversation: %v", err)
	}
}

func TestChatCommandFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"chat", "--model", ""}, "--model is empty"},
		{[]string{"chat", "--model", "tiny", "--max-new-tokens", "0"}, "must be positive"},
		{[]string{"chat", "--model", "tiny", "--top-k", "3"}, "need --temperature"},
		{[]string{"chat", "--model", "tiny", "extra"}, "unexpected argument"},
	} {
		if _, err := runCmd(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
	var out, errOut bytes.Buffer
	err := runMain(&runContext{stdin: strings.NewReader("/quit\n"), stdout: &out, stderr: &errOut},
		[]string{"chat", "--model", "tiny", "--max-new-tokens", "2", "--no-safety-gate"})
	if err != nil || !strings.Contains(errOut.String(), safety.GateOffWarning) {
		t.Errorf("gate off: %v, stderr %q", err, errOut.String())
	}
}

// generate --prompt and --messages go through the gate.
func TestGenerateCommandSafetyGate(t *testing.T) {
	gate, err := safety.NewGate(config.DefaultSafety(), false)
	if err != nil {
		t.Fatal(err)
	}
	crisis := "I'm going to kill myself tonight."
	want := gate.Check([]data.Message{{Role: data.RoleUser, Content: crisis}}).Referral
	out, err := runCmd(t, "generate", "--model", "tiny", "--prompt", crisis, "--max-new-tokens", "3")
	if err != nil || out != want+"\n" {
		t.Errorf("crisis prompt: %v\n got %q\nwant %q", err, out, want)
	}
	concern := "Sometimes I wish I could sleep and never wake up."
	line := gate.Check([]data.Message{{Role: data.RoleUser, Content: concern}}).Resources
	out, err = runCmd(t, "generate", "--model", "tiny", "--prompt", concern, "--max-new-tokens", "3")
	if err != nil || !strings.HasSuffix(out, "\n\n"+line+"\n") || strings.HasPrefix(out, "\n") {
		t.Errorf("concern prompt: %v, output %q", err, out)
	}
	var stdout, stderr bytes.Buffer
	err = runMain(&runContext{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr},
		[]string{"generate", "--model", "tiny", "--prompt", crisis, "--max-new-tokens", "3", "--no-safety-gate"})
	if err != nil || strings.Contains(stdout.String(), "988") || !strings.Contains(stderr.String(), safety.GateOffWarning) {
		t.Errorf("gate off: %v, stdout %q, stderr %q", err, stdout.String(), stderr.String())
	}
}
