// Package jsonl reads JSON-lines input line by line: the one loop that the
// readers of conversations, labelled safety items, metric inputs, chat
// template requests and tokenizer inputs share.
package jsonl

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/utf8check"
)

// Error is a line Each could not read: the reader failed on it (Read), or
// it is not valid UTF-8.
type Error struct {
	Line int  // 1-based
	Read bool // the reader failed; otherwise the line is not valid UTF-8
	Err  error
}

func (e *Error) Error() string {
	if e.Read {
		return fmt.Sprintf("reading line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Each calls fn with the 1-based number and the bytes (as read, newline
// included) of every line of r that is not blank, in order, and returns
// the first error fn returns as it is. A read error or a line that is not
// valid UTF-8 stops it with an *Error.
func Each(r io.Reader, fn func(line int, raw []byte) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	for line := 1; ; line++ {
		raw, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return &Error{Line: line, Read: true, Err: err}
		}
		if uerr := utf8check.Line(raw); uerr != nil {
			return &Error{Line: line, Err: uerr}
		}
		if len(bytes.TrimSpace(raw)) > 0 {
			if ferr := fn(line, raw); ferr != nil {
				return ferr
			}
		}
		if err != nil { // io.EOF
			return nil
		}
	}
}

// EachNamed is Each for input named name in errors: a line that is not
// valid UTF-8 is "name:line: …", a read error is returned as it is.
func EachNamed(r io.Reader, name string, fn func(line int, raw []byte) error) error {
	err := Each(r, fn)
	var le *Error
	if errors.As(err, &le) {
		if le.Read {
			return le.Err
		}
		return fmt.Errorf("%s:%d: %w", name, le.Line, le.Err)
	}
	return err
}

// ReadFile opens the file at path and reads it with read, which names the
// input path in its errors.
func ReadFile[T any](path string, read func(r io.Reader, name string) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, err
	}
	defer f.Close()
	return read(f, path)
}
