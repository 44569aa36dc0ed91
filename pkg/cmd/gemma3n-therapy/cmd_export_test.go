package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/export"
)

func TestExportGGUFCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "tiny.gguf")
	stdout, stderr, err := runCmdAll("export", "gguf", "--model", tinyFixture, "--adapter", tinyLoRAFixture,
		"--out", out, "--type", "q8_0", "--ollama", "--name", "tiny-counsellor")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, want := range []string{"wrote ", "Q8_0", "warning: llama.cpp: KV sharing must start at layer 20", "Modelfile: "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "export gguf:") {
		t.Errorf("no progress on stderr:\n%s", stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if lines[len(lines)-1] != out {
		t.Errorf("last line %q, want %s", lines[len(lines)-1], out)
	}
	g, err := export.ReadGGUF(out)
	if err != nil {
		t.Fatal(err)
	}
	if name, _ := g.Get("general.name"); name != "tiny-counsellor" {
		t.Errorf("general.name %v", name)
	}
	if _, err := os.Stat(filepath.Join(dir, "tiny.Modelfile")); err != nil {
		t.Error(err)
	}
	for _, args := range [][]string{
		{"export", "gguf", "--out", out},
		{"export", "gguf", "--model", tinyFixture, "--out", out, "--type", "q4_0"},
		{"export", "gguf", "--model", tinyFixture, "--out", out, "extra"},
	} {
		if _, _, err := runCmdAll(args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
