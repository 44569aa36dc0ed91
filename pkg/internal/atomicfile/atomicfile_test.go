package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteReplacesWholeOrNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.txt")
	if err := WriteBytes(path, []byte("first")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(path, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want boom", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name %s", err, path)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "first" {
		t.Errorf("a failed write changed the file to %q", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d files left, want only the destination", len(entries))
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	missing := filepath.Join(dir, "missing", "f")
	if err := WriteBytes(missing, nil); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("writing into a missing directory: error %v, want one naming %s", err, missing)
	}
}

func TestWriteReplacesReadOnlyFileWithReadable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("old"), 0o400); err != nil {
		t.Fatal(err)
	}
	if err := WriteBytes(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if got, _ := os.ReadFile(path); string(got) != "new" || st.Mode().Perm() != 0o644 {
		t.Errorf("got %q with mode %v, want \"new\" with 0644", got, st.Mode().Perm())
	}
}

func TestIsTempMatchesWhatWriteCreates(t *testing.T) {
	dir := t.TempDir()
	var seen []string
	err := Write(filepath.Join(dir, "best.json"), func(w io.Writer) error {
		entries, err := os.ReadDir(dir)
		for _, e := range entries {
			seen = append(seen, e.Name())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || !IsTemp(seen[0]) || !strings.HasPrefix(seen[0], ".best.json.tmp-") {
		t.Fatalf("during the write the directory held %q, want one temporary file that IsTemp recognises", seen)
	}
	for _, name := range []string{".a.tmp-1", ".x.tmp-y.tmp-42", ".metrics.jsonl.tmp-3735928559"} {
		if !IsTemp(name) {
			t.Errorf("IsTemp(%q) = false", name)
		}
	}
	for _, name := range []string{"best.json", "a.tmp-1", "..tmp-1", ".a.tmp-", ".a.tmp-1x", ".tmp-step-00000006-123", ".a.tmp1"} {
		if IsTemp(name) {
			t.Errorf("IsTemp(%q) = true", name)
		}
	}
}

func TestReadJSONRoundTripsWriteJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.json")
	type doc struct {
		A int    `json:"a"`
		B string `json:"b"`
	}
	if err := WriteJSON(path, doc{1, "x"}); err != nil {
		t.Fatal(err)
	}
	var got doc
	if err := ReadJSON(path, &got); err != nil || got != (doc{1, "x"}) {
		t.Fatalf("ReadJSON = %+v, %v", got, err)
	}
	if err := ReadJSON(filepath.Join(t.TempDir(), "none.json"), &got); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want os.ErrNotExist", err)
	}
	if err := os.WriteFile(path, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ReadJSON(path, &got); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("bad JSON: %v, want an error naming %s", err, path)
	}
}
