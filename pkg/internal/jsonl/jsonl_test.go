package jsonl

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/iotest"
)

func TestEach(t *testing.T) {
	var lines []int
	var texts []string
	err := Each(strings.NewReader("{\"a\":1}\n\n  \n{\"b\":2}"), func(line int, raw []byte) error {
		lines, texts = append(lines, line), append(texts, string(raw))
		return nil
	})
	if err != nil || len(lines) != 2 || lines[0] != 1 || lines[1] != 4 || texts[0] != "{\"a\":1}\n" || texts[1] != "{\"b\":2}" {
		t.Errorf("lines %v %q, err %v", lines, texts, err)
	}
	stop := errors.New("stop")
	if err := Each(strings.NewReader("x\ny\n"), func(int, []byte) error { return stop }); err != stop {
		t.Errorf("fn's error: got %v", err)
	}
	var le *Error
	err = Each(strings.NewReader("ok\nbad \xff\n"), func(int, []byte) error { return nil })
	if !errors.As(err, &le) || le.Line != 2 || le.Read || !strings.HasPrefix(err.Error(), "line 2: ") {
		t.Errorf("invalid UTF-8: %v", err)
	}
	err = Each(iotest.ErrReader(errors.New("disk")), func(int, []byte) error { return nil })
	if !errors.As(err, &le) || !le.Read || err.Error() != "reading line 1: disk" {
		t.Errorf("read error: %v", err)
	}
}

func TestReadFile(t *testing.T) {
	path := t.TempDir() + "/x.jsonl"
	if _, err := ReadFile(path, func(io.Reader, string) (int, error) { return 1, nil }); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if err := os.WriteFile(path, []byte("a\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := ReadFile(path, func(r io.Reader, name string) (int, error) {
		if name != path {
			t.Errorf("name %q, want %q", name, path)
		}
		count := 0
		err := Each(r, func(int, []byte) error { count++; return nil })
		return count, err
	})
	if err != nil || n != 2 {
		t.Errorf("ReadFile = %d, %v; want 2 lines", n, err)
	}
}
