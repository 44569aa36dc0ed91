// Package jsonpos locates encoding/json errors in the document they came
// from, as a line and column counted the way editors count them (from 1,
// columns in characters), so that every package reports the same place for
// the same error.
package jsonpos

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Position is a 1-based line and column (in characters, not bytes).
type Position struct{ Line, Column int }

// String is "line L, column C".
func (p Position) String() string { return fmt.Sprintf("line %d, column %d", p.Line, p.Column) }

// At returns the position of the byte at offset (0-based) in data; an
// offset outside data is clamped to it.
func At(data []byte, offset int64) Position {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return Position{
		Line:   bytes.Count(before, []byte("\n")) + 1,
		Column: utf8.RuneCount(before[lineStart:]) + 1,
	}
}

// Of returns the position that an encoding/json *SyntaxError or
// *UnmarshalTypeError in err (wrapped or not) points at, for the document
// data that was decoded. Both errors' Offset counts the bytes read, the
// offending one included, so the position is that of byte Offset−1: the
// unexpected character of a syntax error, and for a type error the last
// character of the mistyped value (or the bracket that opens it). ok is
// false for any other error.
func Of(data []byte, err error) (pos Position, ok bool) {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return At(data, syn.Offset-1), true
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return At(data, typ.Offset-1), true
	}
	return Position{}, false
}

// Location is how errors name a place in a file: "file", "file:line" or
// "file:line:column" (line and column from 1; 0 means unknown, and a
// column counts only with a line).
func Location(file string, line, column int) string {
	switch {
	case line <= 0:
		return file
	case column <= 0:
		return fmt.Sprintf("%s:%d", file, line)
	}
	return fmt.Sprintf("%s:%d:%d", file, line, column)
}
