package tokenizer

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonScanner is a minimal pull parser over a JSON document held in memory.
//
// encoding/json needs about a second and hundreds of megabytes to decode the
// 262k-entry vocabulary and 515k merges of a Gemma tokenizer.json into maps;
// scanning the bytes directly, without allocating a string per merge, is an
// order of magnitude faster. Small, irregular parts of the file (normalizer,
// decoder, added tokens) are still handed to encoding/json as raw spans.
type jsonScanner struct {
	name    string // file name, for error messages
	data    []byte
	pos     int
	scratch []byte // unescaped string contents when the raw bytes hold escapes
}

// errorf returns an error naming the file, line and column of the current
// position.
func (s *jsonScanner) errorf(format string, args ...any) error {
	return s.errorAt(s.pos, format, args...)
}

func (s *jsonScanner) errorAt(pos int, format string, args ...any) error {
	if pos > len(s.data) {
		pos = len(s.data)
	}
	line := 1 + bytes.Count(s.data[:pos], []byte{'\n'})
	col := 1 + pos - (bytes.LastIndexByte(s.data[:pos], '\n') + 1)
	return fmt.Errorf("%s:%d:%d: %s", s.name, line, col, fmt.Sprintf(format, args...))
}

func (s *jsonScanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte without consuming it, or 0 at the end.
func (s *jsonScanner) peek() byte {
	s.skipSpace()
	if s.pos >= len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

func (s *jsonScanner) describeNext() string {
	if s.pos >= len(s.data) {
		return "end of input"
	}
	return strconv.QuoteRune(rune(s.data[s.pos]))
}

// expect consumes the byte c, after optional white space.
func (s *jsonScanner) expect(c byte) error {
	if s.peek() != c {
		return s.errorf("expected %q, found %s", c, s.describeNext())
	}
	s.pos++
	return nil
}

// readStringBytes reads a JSON string and returns its unescaped contents.
// The result aliases the input or the scanner's scratch buffer: it is only
// valid until the next call.
func (s *jsonScanner) readStringBytes() ([]byte, error) {
	if s.peek() != '"' {
		return nil, s.errorf("expected a string, found %s", s.describeNext())
	}
	s.pos++
	start := s.pos
	// Fast path: no escapes, the common case for vocabulary entries.
	for i := start; i < len(s.data); i++ {
		switch c := s.data[i]; {
		case c == '"':
			s.pos = i + 1
			return s.data[start:i], nil
		case c == '\\':
			return s.readEscapedString(start, i)
		case c < 0x20:
			return nil, s.errorAt(i, "control character %#02x in string", c)
		}
	}
	return nil, s.errorAt(start-1, "unterminated string")
}

// readEscapedString continues readStringBytes from the first backslash at i.
func (s *jsonScanner) readEscapedString(start, i int) ([]byte, error) {
	buf := append(s.scratch[:0], s.data[start:i]...)
	for i < len(s.data) {
		c := s.data[i]
		switch {
		case c == '"':
			s.pos = i + 1
			s.scratch = buf
			return buf, nil
		case c < 0x20:
			return nil, s.errorAt(i, "control character %#02x in string", c)
		case c != '\\':
			buf = append(buf, c)
			i++
			continue
		}
		if i+1 >= len(s.data) {
			break
		}
		esc := s.data[i+1]
		i += 2
		switch esc {
		case '"', '\\', '/':
			buf = append(buf, esc)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := s.hex4(i)
			if !ok {
				return nil, s.errorAt(i-2, "invalid \\u escape")
			}
			i += 4
			if utf16.IsSurrogate(r) {
				// A surrogate pair spells one code point; a lone half is
				// replaced, as encoding/json does.
				r2, ok2 := rune(0), false
				if i+6 <= len(s.data) && s.data[i] == '\\' && s.data[i+1] == 'u' {
					r2, ok2 = s.hex4(i + 2)
				}
				if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return nil, s.errorAt(i-2, "invalid escape \\%c", esc)
		}
	}
	return nil, s.errorAt(start-1, "unterminated string")
}

func (s *jsonScanner) hex4(i int) (rune, bool) {
	if i+4 > len(s.data) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(s.data[i:i+4]), 16, 32)
	return rune(v), err == nil
}

// readString reads a JSON string into a new Go string.
func (s *jsonScanner) readString() (string, error) {
	b, err := s.readStringBytes()
	return string(b), err
}

// readInt reads a JSON number that must be an integer fitting in 64 bits.
func (s *jsonScanner) readInt() (int64, error) {
	s.skipSpace()
	start := s.pos
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		if (c < '0' || c > '9') && c != '-' && c != '+' && c != '.' && c != 'e' && c != 'E' {
			break
		}
		s.pos++
	}
	if start == s.pos {
		return 0, s.errorf("expected an integer, found %s", s.describeNext())
	}
	v, err := strconv.ParseInt(string(s.data[start:s.pos]), 10, 64)
	if err != nil {
		return 0, s.errorAt(start, "expected an integer, found %q", s.data[start:s.pos])
	}
	return v, nil
}

// skipValue consumes one JSON value and returns its raw bytes. It checks the
// structure (brackets, strings, literals) but leaves number syntax to the
// consumer of the raw bytes.
func (s *jsonScanner) skipValue() ([]byte, error) {
	s.skipSpace()
	start := s.pos
	depth := 0
	for {
		s.skipSpace()
		if s.pos >= len(s.data) {
			return nil, s.errorf("unexpected end of input")
		}
		switch c := s.data[s.pos]; c {
		case '{', '[':
			depth++
			s.pos++
			continue
		case '}', ']':
			if depth == 0 {
				return nil, s.errorf("unexpected %q", c)
			}
			depth--
			s.pos++
		case ',', ':':
			if depth == 0 {
				return nil, s.errorf("unexpected %q", c)
			}
			s.pos++
			continue
		case '"':
			if _, err := s.readStringBytes(); err != nil {
				return nil, err
			}
		default:
			if err := s.skipScalar(); err != nil {
				return nil, err
			}
		}
		if depth == 0 {
			return s.data[start:s.pos], nil
		}
	}
}

// skipScalar consumes a number or a literal (true, false, null).
func (s *jsonScanner) skipScalar() error {
	start := s.pos
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		if c == ',' || c == '}' || c == ']' || c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' {
			break
		}
		s.pos++
	}
	if start == s.pos {
		return s.errorf("expected a value, found %s", s.describeNext())
	}
	switch lit := string(s.data[start:s.pos]); lit {
	case "true", "false", "null":
		return nil
	default:
		if c := lit[0]; c == '-' || (c >= '0' && c <= '9') {
			return nil
		}
		return s.errorAt(start, "invalid literal %q", lit)
	}
}

// readNull consumes a null literal if one comes next and reports whether it
// did.
func (s *jsonScanner) readNull() bool {
	s.skipSpace()
	if bytes.HasPrefix(s.data[s.pos:], []byte("null")) {
		s.pos += 4
		return true
	}
	return false
}

// eachMember calls fn for every member of the object that comes next; fn
// must consume the member's value. The key is only valid until fn reads
// another string.
func (s *jsonScanner) eachMember(fn func(key []byte) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.peek() == '}' {
		s.pos++
		return nil
	}
	for {
		key, err := s.readStringBytes()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return s.errorf("expected ',' or '}', found %s", s.describeNext())
		}
	}
}

// eachElement calls fn for every element of the array that comes next; fn
// must consume the element.
func (s *jsonScanner) eachElement(fn func(index int) error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	if s.peek() == ']' {
		s.pos++
		return nil
	}
	for i := 0; ; i++ {
		if err := fn(i); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return s.errorf("expected ',' or ']', found %s", s.describeNext())
		}
	}
}

// expectEnd checks that only white space follows.
func (s *jsonScanner) expectEnd() error {
	s.skipSpace()
	if s.pos < len(s.data) {
		return s.errorf("unexpected %s after the top-level value", s.describeNext())
	}
	return nil
}
