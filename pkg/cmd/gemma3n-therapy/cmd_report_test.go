package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReportCommand(t *testing.T) {
	run := t.TempDir()
	if err := os.WriteFile(filepath.Join(run, "metrics.jsonl"), []byte(`{"kind":"train","step":1,"loss":3}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "r.html")
	if got, err := runCmd(t, "report", "--run", run, "--out", out); err != nil || strings.TrimSpace(got) != out {
		t.Fatalf("report: %q, %v", got, err)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
	if _, err := runCmd(t, "report", "--run", run); err == nil {
		t.Error("report without --out succeeded")
	}
}
