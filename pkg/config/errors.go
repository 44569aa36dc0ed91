package config

import (
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/jsonpos"
)

// Error is one problem in a configuration, located as precisely as possible.
type Error struct {
	File   string // the YAML file, or "" for values set in code
	Line   int    // 1-based; 0 when unknown
	Column int    // 1-based; 0 when unknown
	Key    string // dotted key within the file ("phases.2.learning_rate"), if known
	Msg    string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(jsonpos.Location(e.File, e.Line, e.Column))
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one load or validation, in file order.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find the individual *Error values.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// orNil returns es as an error, or a true nil when it is empty (never a
// non-nil interface holding an empty list).
func (es Errors) orNil() error {
	if len(es) == 0 {
		return nil
	}
	return es
}
