// Package utf8check finds invalid UTF-8 in text input, so that readers can
// refuse it with a position instead of letting encoding/json or a
// tokenizer turn it into U+FFFD without a word.
package utf8check

import (
	"fmt"
	"unicode/utf8"
)

// FirstInvalid returns the byte offset of the first invalid UTF-8 sequence
// in b, or -1 when b is valid UTF-8.
func FirstInvalid(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return -1
}

// Line returns nil when line is valid UTF-8, else an error naming the
// 1-based byte column of the first invalid byte ("column 7: invalid UTF-8
// (byte 0xff); the input must be UTF-8 text"). Callers put file:line in
// front.
func Line(line []byte) error {
	i := FirstInvalid(line)
	if i < 0 {
		return nil
	}
	return fmt.Errorf("column %d: invalid UTF-8 (byte 0x%02x); the input must be UTF-8 text", i+1, line[i])
}

// String is Line for a string.
func String(s string) error {
	if utf8.ValidString(s) {
		return nil
	}
	return Line([]byte(s))
}
