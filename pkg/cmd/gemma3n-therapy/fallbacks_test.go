package main

import (
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
