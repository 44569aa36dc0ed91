package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigDefaultsAreLoud: the built-in defaults are used only where no
// configuration file exists, and the command says so on stderr; an empty
// file or a configs directory without any configuration file is an error.
func TestConfigDefaultsAreLoud(t *testing.T) {
	dir := t.TempDir()
	partial := filepath.Join(dir, "partial")
	empty := filepath.Join(dir, "empty")
	emptyFile := filepath.Join(dir, "training_config.yaml")
	for _, d := range []string{partial, empty} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for path, content := range map[string]string{
		filepath.Join(partial, "lora_config.yaml"): "r: 8\n",
		emptyFile: "",
	} {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	missingData := filepath.Join(dir, "no-such-data.jsonl")
	for _, tc := range []struct {
		args       []string
		wantErr    string
		wantStderr string
	}{
		{[]string{"train", "sft", "--config", partial, "--data", missingData, "--out", filepath.Join(dir, "r1")},
			"no-such-data.jsonl", partial + " has no training_config.yaml: the training section is the built-in defaults"},
		{[]string{"train", "sft", "--config", empty, "--data", missingData, "--out", filepath.Join(dir, "r2")},
			empty + ": a configs directory without any configuration file", ""},
		{[]string{"train", "sft", "--config", emptyFile, "--data", missingData, "--out", filepath.Join(dir, "r3")},
			emptyFile + ": the file is empty", ""},
		{[]string{"dpo", "--model", "tiny", "--out", filepath.Join(dir, "r4"), "--set", "dpo.nope=1"},
			`unknown key "dpo.nope"`, "dpo: configuration: no --config: every setting is a built-in default"},
		{[]string{"dpo", "--model", "tiny", "--config", emptyFile, "--out", filepath.Join(dir, "r5")},
			emptyFile + ": the file is empty", ""},
	} {
		_, stderr, err := runCmdAll(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%q: err = %v, want %q", tc.args, err, tc.wantErr)
		}
		if !strings.Contains(stderr, tc.wantStderr) {
			t.Errorf("%q: stderr lacks %q:\n%s", tc.args, tc.wantStderr, stderr)
		}
	}
}

// TestStreamingCommandsAreAllOrNothing: tokenize, chat-template, metrics,
// mi-classify and safety screen check every input line before writing
// anything: a bad line (invalid JSON, or bytes that are not UTF-8) leaves
// stdout empty, and the error names the 1-based line.
func TestStreamingCommandsAreAllOrNothing(t *testing.T) {
	many := func(line string, n int) string { return strings.Repeat(line+"\n", n) }
	const badUTF8 = "caf\xe9"
	for _, tc := range []struct {
		cmd   []string
		good  string // one valid line
		bad   string // a line with a bad value
		want  string // the error for the bad line after 3000 good ones
		field string // where invalid UTF-8 goes in the good line
	}{
		{[]string{"tokenize"}, `{"text": "I have been feeling low for weeks and cannot sleep."}`, `{"txt": "x"}`, `line 3001: no "text"`, "feeling"},
		{[]string{"chat-template"}, `{"messages": [{"role": "user", "content": "hello"}]}`, `{"messages": [{"role": "assistant", "content": "x"}]}`,
			`line 3001: message 1: role "assistant"`, "hello"},
		{[]string{"metrics"}, `{"hyp": "it sounds hard", "ref": "that sounds hard"}`, `{"hyp": "x"}`, `stdin:3001: missing field "ref"`, "hard"},
		{[]string{"mi-classify"}, `{"text": "What brings you here today?"}`, `{"text": 5}`, `stdin:3001: field "text" is not a string`, "brings"},
		{[]string{"safety", "screen"}, `{"id": 1, "text": "I had a long day at work."}`, `{"id": 2}`, `stdin:3001: missing "text"`, "long"},
	} {
		name := strings.Join(tc.cmd, " ")
		for _, input := range []struct{ text, want string }{
			{many(tc.good, 3000) + tc.bad + "\n" + tc.good + "\n", tc.want},
			{tc.good + "\n" + strings.Replace(tc.good, tc.field, badUTF8, 1) + "\n", "2: column"},
		} {
			var stdout, stderr strings.Builder
			err := runMain(&runContext{stdin: strings.NewReader(input.text), stdout: &stdout, stderr: &stderr}, tc.cmd)
			if err == nil || !strings.Contains(err.Error(), input.want) {
				t.Errorf("%s: err = %v, want %q", name, err, input.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("%s: %d bytes of output before the error", name, stdout.Len())
			}
		}
		if err := runMain(&runContext{stdin: strings.NewReader(tc.good + "\n" + strings.Replace(tc.good, tc.field, badUTF8, 1) + "\n"), stdout: io.Discard, stderr: io.Discard}, tc.cmd); err == nil || !strings.Contains(err.Error(), "invalid UTF-8 (byte 0xe9)") {
			t.Errorf("%s: invalid UTF-8: err = %v", name, err)
		}
	}
}

// TestMessagesFileWithInvalidUTF8: generate --messages names the line.
func TestMessagesFileWithInvalidUTF8(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.json")
	if err := os.WriteFile(path, []byte("[\n  {\"role\": \"user\", \"content\": \"caf\xe9\"}\n]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readMessages(path); err == nil || !strings.Contains(err.Error(), path+":2: column 35: invalid UTF-8 (byte 0xe9)") {
		t.Errorf("err = %v", err)
	}
}

// TestFailedStartRemovesTheNewRunDirectory: a start that fails after the
// run directory got its config.yaml, data_summary.json and run.json (here: an
// adapter without weights) removes the directory it created, and leaves
// alone one that existed before.
func TestFailedStartRemovesTheNewRunDirectory(t *testing.T) {
	adapter := t.TempDir()
	cfg, err := os.ReadFile(filepath.Join(tinyLoRAFixture, "adapter_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(adapter, "adapter_config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	args := func(out string) []string {
		return []string{"train", "sft", "--model", tinyFixture, "--adapter", adapter, "--data", "counselchat", "--debug", "--max-steps", "1",
			"--out", out, "--config", "../../../configs", "--dtype", "float32", "--set", "data.debug.counselchat_questions=4"}
	}
	fresh := filepath.Join(t.TempDir(), "fresh")
	_, stderr, err := runCmdAll(args(fresh)...)
	if err == nil {
		t.Fatal("no error for an adapter without weights")
	}
	if _, statErr := os.Stat(fresh); !os.IsNotExist(statErr) {
		entries, _ := os.ReadDir(fresh)
		t.Errorf("the failed start left %s behind (%v): %v\n%s", fresh, entries, err, stderr)
	}
	if !strings.Contains(stderr, "removed the run directory "+fresh+", which this failed start created (it held only config.yaml, data_summary.json, run.json)") {
		t.Errorf("stderr does not say what was removed:\n%s", stderr)
	}

	existing := t.TempDir()
	if _, _, err := runCmdAll(args(existing)...); err == nil {
		t.Fatal("no error")
	}
	if _, err := os.Stat(filepath.Join(existing, "config.yaml")); err != nil {
		t.Errorf("a directory that existed before was cleaned: %v", err)
	}
}

// TestCleanUpFailedStartKeepsWork: only a new directory holding nothing but
// start files is removed; a checkpoint, a metric record or an adapter keeps it.
func TestCleanUpFailedStartKeepsWork(t *testing.T) {
	for _, tc := range []struct {
		files  map[string]string
		remove bool
	}{
		{map[string]string{"config.yaml": "x", "data_summary.json": "{}", "metrics.jsonl": "", "checkpoints/.keep/": ""}, true},
		{map[string]string{"config.yaml": "x", "run.json": "{}", "phases/01-a/config.yaml": "x", "summary.json": "{}"}, true},
		{map[string]string{"config.yaml": "x", "metrics.jsonl": `{"kind":"train","step":1}` + "\n"}, false},
		{map[string]string{"config.yaml": "x", "checkpoints/step-00000001/state.json": "{}"}, false},
		{map[string]string{"config.yaml": "x", "phases/01-a/adapter/adapter_config.json": "{}"}, false},
	} {
		dir := filepath.Join(t.TempDir(), "run")
		guard := guardRunDir(dir)
		for name, content := range tc.files {
			path := filepath.Join(dir, name)
			if strings.HasSuffix(name, "/") {
				if err := os.MkdirAll(path, 0o755); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var out strings.Builder
		removed := guard.cleanUpFailedStart(&out)
		_, statErr := os.Stat(dir)
		if removed != tc.remove || os.IsNotExist(statErr) != tc.remove {
			t.Errorf("%v: removed %v (exists: %v), want %v", tc.files, removed, statErr == nil, tc.remove)
		}
		if existed := guardRunDir(t.TempDir()); existed.cleanUpFailedStart(&out) {
			t.Error("removed a directory that existed before")
		}
	}
}
