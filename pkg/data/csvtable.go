package data

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/jsonpos"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/utf8check"
)

// ParseError is a problem in an input file, located as precisely as the
// reader allows: Line and Column are 1-based (Column counts bytes, as
// encoding/csv does; 0 when unknown) and Field names the CSV column.
type ParseError struct {
	File   string // file name as given to the reader
	Line   int    // 1-based line; 0 when the problem is not tied to a line
	Column int    // 1-based byte column; 0 when unknown
	Field  string // CSV column name; empty when not tied to a column
	Err    error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(jsonpos.Location(e.File, e.Line, e.Column))
	b.WriteString(": ")
	if e.Field != "" {
		fmt.Fprintf(&b, "column %q: ", e.Field)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }

// table reads a CSV file with a header row, giving access to fields by
// column name so that the column order of the file does not matter.
type table struct {
	name   string
	r      *csv.Reader
	header []string
	index  map[string]int // column name → position in the record
	record []string       // the current record
}

// utf8BOM is stripped from the first header name: spreadsheet programs add it.
const utf8BOM = "\ufeff"

// newTable reads the header of a CSV stream and checks that every required
// column is present exactly once. Extra columns (such as an unnamed row
// index) are allowed and ignored.
func newTable(r io.Reader, name string, required []string) (*table, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &ParseError{File: name, Line: 1, Err: errors.New("empty file: no header row")}
	}
	if err != nil {
		return nil, csvError(name, err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], utf8BOM)
	}
	for _, h := range header {
		if i := utf8check.FirstInvalid([]byte(h)); i >= 0 {
			line, _ := cr.FieldPos(0)
			return nil, &ParseError{File: name, Line: line, Err: fmt.Errorf("header: invalid UTF-8 (byte 0x%02x); the file must be UTF-8 text", h[i])}
		}
	}
	t := &table{name: name, r: cr, header: header, index: make(map[string]int, len(header))}
	for i, h := range header {
		if h == "" {
			continue // unnamed index columns are common in pandas exports
		}
		if _, dup := t.index[h]; dup {
			line, col := cr.FieldPos(i)
			return nil, &ParseError{File: name, Line: line, Column: col, Field: h, Err: errors.New("duplicate column in header")}
		}
		t.index[h] = i
	}
	for _, c := range required {
		if _, ok := t.index[c]; !ok {
			return nil, &ParseError{File: name, Line: 1, Field: c,
				Err: fmt.Errorf("missing required column (header has %s)", strings.Join(header, ","))}
		}
	}
	return t, nil
}

// next advances to the next record; it returns io.EOF at the end. Records
// must have as many fields as the header.
func (t *table) next() error {
	rec, err := t.r.Read()
	if err == io.EOF {
		return io.EOF
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
		return &ParseError{File: t.name, Line: pe.StartLine, Column: 1,
			Err: fmt.Errorf("row has %d fields, the header has %d", len(rec), len(t.header))}
	}
	if err != nil {
		return csvError(t.name, err)
	}
	t.record = rec
	for i, field := range rec {
		if err := t.checkUTF8(i, field); err != nil {
			return err
		}
	}
	return nil
}

// checkUTF8 refuses a field that is not valid UTF-8, naming the line of
// the bad byte and the column.
func (t *table) checkUTF8(i int, field string) error {
	bad := utf8check.FirstInvalid([]byte(field))
	if bad < 0 {
		return nil
	}
	line, _ := t.r.FieldPos(i)
	line += strings.Count(field[:bad], "\n") // a quoted field may span lines
	column := ""
	if i < len(t.header) {
		column = t.header[i]
	}
	return &ParseError{File: t.name, Line: line, Field: column,
		Err: fmt.Errorf("invalid UTF-8 (byte 0x%02x at byte %d of the field); the file must be UTF-8 text", field[bad], bad+1)}
}

// line is the first line of the current record.
func (t *table) line() int {
	line, _ := t.r.FieldPos(0)
	return line
}

// get returns the field of the named column in the current record.
func (t *table) get(column string) string { return t.record[t.index[column]] }

// errorAt returns a ParseError located at the named column of the current record.
func (t *table) errorAt(column string, format string, args ...any) error {
	line, col := t.r.FieldPos(t.index[column])
	return &ParseError{File: t.name, Line: line, Column: col, Field: column, Err: fmt.Errorf(format, args...)}
}

// int parses the named column as a non-negative decimal integer.
func (t *table) int(column string) (int, error) {
	s := t.get(column)
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || strings.HasPrefix(s, "+") {
		return 0, t.errorAt(column, "want a non-negative integer, got %q", s)
	}
	return n, nil
}

// oneOf checks that the named column holds one of the allowed values.
func (t *table) oneOf(column string, allowed ...string) (string, error) {
	s := t.get(column)
	for _, a := range allowed {
		if s == a {
			return s, nil
		}
	}
	return "", t.errorAt(column, "unknown value %q (want one of %s)", s, strings.Join(allowed, ", "))
}

// csvError turns an encoding/csv error into a ParseError with the file name.
func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ParseError{File: name, Line: pe.Line, Column: pe.Column, Err: pe.Err}
	}
	return &ParseError{File: name, Err: err}
}
