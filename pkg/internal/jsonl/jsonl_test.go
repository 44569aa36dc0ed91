package jsonl

import (
	"errors"
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
