package charts

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// Table is a small HTML table, such as the metrics of several models. All text is
// escaped. Cells that read as numbers (optionally with a trailing %) are right-aligned.
type Table struct {
	Caption string
	Header  []string
	Rows    [][]string
}

// AddRow appends a row, formatting each cell: strings as they are, integers in full,
// floats briefly (see FormatValue).
func (t *Table) AddRow(cells ...interface{}) {
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = FormatValue(c)
	}
	t.Rows = append(t.Rows, row)
}

// FormatValue formats a table cell: whole floats without decimals, others with four
// significant digits (one decimal from 100 on, exponents from 1e15 on), so that
// metric tables stay readable.
func FormatValue(v interface{}) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return formatFloat(x)
	case float32:
		return formatFloat(float64(x))
	case fmt.Stringer:
		return x.String()
	default:
		return fmt.Sprint(v)
	}
}

func formatFloat(v float64) string {
	switch {
	case !finite(v):
		return strconv.FormatFloat(v, 'g', -1, 64)
	case math.Abs(v) >= 1e15:
		return strconv.FormatFloat(v, 'g', 4, 64)
	case v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
}

// HTML returns the table as an HTML <table> element, for a notebook cell or a Page.
func (t Table) HTML() string {
	var b strings.Builder
	t.writeHTML(&b)
	return b.String()
}

func (t Table) writeHTML(b *strings.Builder) {
	b.WriteString("<table class=\"metrics\">\n")
	if t.Caption != "" {
		fmt.Fprintf(b, "<caption>%s</caption>\n", html.EscapeString(t.Caption))
	}
	if len(t.Header) > 0 {
		b.WriteString("<thead><tr>")
		for _, h := range t.Header {
			fmt.Fprintf(b, "<th>%s</th>", html.EscapeString(h))
		}
		b.WriteString("</tr></thead>\n")
	}
	b.WriteString("<tbody>\n")
	for _, row := range t.Rows {
		b.WriteString("<tr>")
		for _, cell := range row {
			if isNumeric(cell) {
				fmt.Fprintf(b, "<td style=\"text-align:right\">%s</td>", html.EscapeString(cell))
			} else {
				fmt.Fprintf(b, "<td>%s</td>", html.EscapeString(cell))
			}
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n</table>\n")
}

func isNumeric(cell string) bool {
	s := strings.TrimSuffix(strings.TrimSpace(cell), "%")
	_, err := strconv.ParseFloat(s, 64)
	return s != "" && err == nil
}
