package main

import (
	"fmt"
	"html"
	"regexp"
	"strings"
)

// Markers of pkg/charts output: every chart is a <div class="echart" ...>, and the
// inlined ECharts library is a <script data-echarts-library="VERSION">.
const (
	chartMarker   = `<div class="echart" id=`
	libraryMarker = `data-echarts-library="`
)

// countCharts counts the chart elements in HTML.
func countCharts(doc string) int { return strings.Count(doc, chartMarker) }

// executedResult is what checkExecuted finds in one executed notebook.
type executedResult struct {
	problems       []string
	charts         int      // chart elements in all outputs
	expectedCharts int      // sum of the cells' chart tags
	setupLines     []string // first source line of each cell tagged "setup"
}

// checkExecuted checks the outputs of an executed notebook.
func checkExecuted(nb *notebook) executedResult {
	var res executedResult
	for i := range nb.Cells {
		c := &nb.Cells[i]
		if c.CellType != "code" {
			continue
		}
		where := c.where(i)
		if hasTag(c, "setup") {
			if line := firstLine(string(c.Source)); line != "" {
				res.setupLines = append(res.setupLines, line)
			}
		}
		want, err := c.expectedCharts()
		if err != nil {
			res.problems = append(res.problems, fmt.Sprintf("%s: %v", where, err))
		}
		res.expectedCharts += want
		if strings.TrimSpace(string(c.Source)) != "" && !c.executed() {
			res.problems = append(res.problems, where+": not executed (did the kernel die or execution stop early?)")
			continue
		}
		charts := 0
		for _, o := range c.Outputs {
			switch o.OutputType {
			case "error":
				res.problems = append(res.problems, fmt.Sprintf("%s: error output: %s", where, oneLine(o.EName+": "+o.EValue)))
			case "stream":
				for _, line := range textErrors(string(o.Text)) {
					res.problems = append(res.problems, fmt.Sprintf("%s: %s: %s", where, o.Name, line))
				}
			case "display_data", "execute_result", "update_display_data":
				for _, line := range textErrors(string(o.Data["text/plain"])) {
					res.problems = append(res.problems, fmt.Sprintf("%s: output: %s", where, line))
				}
				charts += countCharts(string(o.Data["text/html"]))
			}
		}
		res.charts += charts
		if charts < want {
			res.problems = append(res.problems, fmt.Sprintf(
				"%s: shows %d of the %d expected charts (output lost? end the cell with gonbui.Sync())", where, charts, want))
		}
	}
	return res
}

// checkClean checks that a source notebook carries no outputs.
func checkClean(nb *notebook) []string {
	var problems []string
	for i := range nb.Cells {
		c := &nb.Cells[i]
		if c.CellType != "code" {
			continue
		}
		if len(c.Outputs) > 0 {
			problems = append(problems, fmt.Sprintf("%s: has %d outputs; commit notebooks without outputs", c.where(i), len(c.Outputs)))
		}
		if c.executed() {
			problems = append(problems, fmt.Sprintf("%s: has an execution count; commit notebooks without outputs", c.where(i)))
		}
	}
	return problems
}

// checkReport checks an HTML report rendered from a notebook whose tags expect
// wantCharts charts and whose setup cells start with setupLines.
func checkReport(doc string, wantCharts int, setupLines []string) []string {
	var problems []string
	charts := countCharts(doc)
	if charts < wantCharts {
		problems = append(problems, fmt.Sprintf("holds %d of the %d expected charts", charts, wantCharts))
	}
	if charts > 0 {
		lib := strings.Index(doc, libraryMarker)
		switch {
		case lib < 0:
			problems = append(problems, "has charts but no inlined ECharts library (charts would not draw)")
		case lib > strings.Index(doc, chartMarker):
			problems = append(problems, "the first chart comes before the ECharts library (it would not draw)")
		}
	}
	if len(setupLines) > 0 {
		text := visibleText(doc)
		for _, line := range setupLines {
			if strings.Contains(text, line) {
				problems = append(problems, fmt.Sprintf("shows the setup cell %q (render with the setup tag removed)", line))
			}
		}
	}
	return problems
}

var (
	scriptOrStyle = regexp.MustCompile(`(?is)<(script|style)\b.*?</(script|style)>`)
	tag           = regexp.MustCompile(`(?s)<[^>]*>`)
)

// visibleText strips scripts, styles and tags from HTML and unescapes entities,
// so that highlighted code reads as its source text again.
func visibleText(doc string) string {
	doc = scriptOrStyle.ReplaceAllString(doc, "")
	return html.UnescapeString(tag.ReplaceAllString(doc, ""))
}

func hasTag(c *cell, name string) bool {
	for _, t := range c.Metadata.Tags {
		if t == name {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return ""
}

// oneLine puts a message on one line ("|" between its lines), at most 400 bytes.
func oneLine(s string) string {
	var lines []string
	for _, line := range strings.Split(ansiEscape.ReplaceAllString(s, ""), "\n") {
		if line = strings.Join(strings.Fields(line), " "); line != "" {
			lines = append(lines, line)
		}
	}
	s = strings.Join(lines, " | ")
	if len(s) > 400 {
		s = strings.ToValidUTF8(s[:400], "") + "…"
	}
	return s
}
