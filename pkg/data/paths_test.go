package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeDataDir makes root/datasets/annomi/AnnoMI-simple.csv.
func fakeDataDir(t *testing.T) (root, datasets string) {
	t.Helper()
	root = t.TempDir()
	datasets = filepath.Join(root, "datasets")
	if err := os.MkdirAll(filepath.Join(datasets, "annomi"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(PathsIn(datasets).AnnoMISimple, []byte(simpleHeader), 0o644); err != nil {
		t.Fatal(err)
	}
	return root, datasets
}

func TestFindDataDir(t *testing.T) {
	root, datasets := fakeDataDir(t)
	t.Setenv(EnvDataDir, "")
	for _, dir := range []string{datasets, root} {
		if got, err := FindDataDir(dir); err != nil || got != datasets {
			t.Errorf("FindDataDir(%q) = %q, %v", dir, got, err)
		}
	}
	if _, err := FindDataDir(filepath.Join(root, "nope")); err == nil || !strings.Contains(err.Error(), "is not a datasets directory") {
		t.Errorf("missing explicit dir: %v", err)
	}
	// Walk up from a subdirectory.
	sub := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	if got, err := FindDataDir(""); err != nil || got != datasets {
		t.Errorf("walk up: %q, %v", got, err)
	}
	// The environment variable wins over the walk.
	_, other := fakeDataDir(t)
	t.Setenv(EnvDataDir, other)
	if got, err := FindDataDir(""); err != nil || got != other {
		t.Errorf("env: %q, %v", got, err)
	}
	t.Setenv(EnvDataDir, filepath.Join(root, "nope"))
	if _, err := FindDataDir(""); err == nil || !strings.Contains(err.Error(), "$"+EnvDataDir) {
		t.Errorf("bad env: %v", err)
	}
	// Nothing found.
	t.Setenv(EnvDataDir, "")
	t.Chdir(t.TempDir())
	if _, err := FindDataDir(""); err == nil || !strings.Contains(err.Error(), "--data-dir") {
		t.Errorf("not found: %v", err)
	}
}

func TestLoadCorpusErrors(t *testing.T) {
	_, datasets := fakeDataDir(t)
	// The simple file exists but the others do not.
	if _, err := LoadCorpus(datasets); err == nil || !strings.Contains(err.Error(), "AnnoMI-full.csv") && !strings.Contains(err.Error(), "counsel_chat") {
		t.Errorf("LoadCorpus with missing files: %v", err)
	}
}
