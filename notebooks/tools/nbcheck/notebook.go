package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// notebook is the part of an nbformat 4 notebook the checks read.
type notebook struct {
	NBFormat int    `json:"nbformat"`
	Cells    []cell `json:"cells"`
}

type cell struct {
	ID             string          `json:"id"`
	CellType       string          `json:"cell_type"`
	Source         multiline       `json:"source"`
	Metadata       cellMetadata    `json:"metadata"`
	ExecutionCount json.RawMessage `json:"execution_count"`
	Outputs        []output        `json:"outputs"`
}

type cellMetadata struct {
	Tags []string `json:"tags"`
}

// output is one cell output: a stream (Name, Text), an error (EName, EValue) or
// display_data / execute_result (Data: MIME type → content).
type output struct {
	OutputType string               `json:"output_type"`
	Name       string               `json:"name"`
	Text       multiline            `json:"text"`
	EName      string               `json:"ename"`
	EValue     string               `json:"evalue"`
	Data       map[string]multiline `json:"data"`
}

// multiline is a text field of nbformat: a string or a list of strings (lines),
// joined. Other JSON values (such as the objects of application/json outputs)
// decode to their JSON text, so they never fail the whole notebook.
type multiline string

func (m *multiline) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*m = multiline(s)
	case len(b) > 0 && b[0] == '[':
		var parts []json.RawMessage
		if err := json.Unmarshal(b, &parts); err != nil {
			return err
		}
		var sb strings.Builder
		for _, p := range parts {
			var s string
			if json.Unmarshal(p, &s) == nil {
				sb.WriteString(s)
			} else {
				sb.Write(p)
			}
		}
		*m = multiline(sb.String())
	case string(b) == "null":
		*m = ""
	default:
		*m = multiline(b)
	}
	return nil
}

// parseNotebook decodes a notebook; name is used in error messages.
func parseNotebook(name string, b []byte) (*notebook, error) {
	var nb notebook
	if err := json.Unmarshal(b, &nb); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			line, col := position(b, syntax.Offset)
			return nil, fmt.Errorf("%s:%d:%d: not a notebook: %v", name, line, col, err)
		}
		return nil, fmt.Errorf("%s: not a notebook: %v", name, err)
	}
	if nb.NBFormat != 4 {
		return nil, fmt.Errorf("%s: nbformat %d, want 4", name, nb.NBFormat)
	}
	return &nb, nil
}

// position turns a byte offset into a 1-based line and column.
func position(b []byte, offset int64) (line, col int) {
	if offset > int64(len(b)) {
		offset = int64(len(b))
	}
	before := b[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1)
	if col < 1 {
		col = 1
	}
	return line, col
}

// executed tells whether the kernel ran the cell (execution_count is set).
func (c *cell) executed() bool {
	s := string(bytes.TrimSpace(c.ExecutionCount))
	return s != "" && s != "null"
}

// where names a cell in messages: its 1-based position among all cells and its id.
func (c *cell) where(index int) string {
	if c.ID != "" {
		return fmt.Sprintf("cell %d (id %q)", index+1, c.ID)
	}
	return fmt.Sprintf("cell %d", index+1)
}

// expectedCharts reads the cell's chart tags: "chart" expects at least one chart,
// "charts:N" at least N.
func (c *cell) expectedCharts() (int, error) {
	n := 0
	for _, tag := range c.Metadata.Tags {
		switch {
		case tag == "chart":
			n = max(n, 1)
		case strings.HasPrefix(tag, "charts:"):
			k, err := strconv.Atoi(strings.TrimPrefix(tag, "charts:"))
			if err != nil || k < 1 {
				return 0, fmt.Errorf("tag %q: want charts:N with N ≥ 1", tag)
			}
			n = max(n, k)
		}
	}
	return n, nil
}

// errorLine matches what a failed Go cell leaves in its text output: GoNB does not
// report a panic, log.Fatal, os.Exit(n) or a failing "!" command as a cell error,
// so these lines are the only trace (nbconvert exits 0). Lines are matched after
// ANSI escapes are removed.
var errorLine = regexp.MustCompile(`(?m)^\s*(` +
	`panic: |` + // Go panic
	`fatal error: |` + // Go runtime fatal error (e.g. out of memory, deadlock)
	`exit status [1-9][0-9]*\s*$|` + // non-zero exit of the cell program or a ! command
	`signal: |` + // program killed by a signal
	`error: |` + // GoNB and go command errors
	`ERROR\b` + // GoNB raw errors (compile errors)
	`)`)

var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]`)

// textErrors returns the lines of text that report an error, without ANSI escapes.
func textErrors(text string) []string {
	text = ansiEscape.ReplaceAllString(text, "")
	var lines []string
	for _, loc := range errorLine.FindAllStringIndex(text, -1) {
		end := strings.IndexByte(text[loc[0]:], '\n')
		if end < 0 {
			end = len(text) - loc[0]
		}
		lines = append(lines, strings.TrimSpace(text[loc[0]:loc[0]+end]))
	}
	return lines
}
