package charts

import (
	"fmt"
	"html"
	"io"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
)

// Page is a standalone HTML report: a title, then headings, text, charts and tables
// in the order they were added. The ECharts library is inlined once, in the head, if
// the page has any chart; the page loads nothing from the network.
type Page struct {
	Title  string
	blocks []block
}

type blockKind int

const (
	headingBlock blockKind = iota
	textBlock
	chartBlock
	tableBlock
)

type block struct {
	kind  blockKind
	text  string
	chart *Chart
	table Table
}

// NewPage returns an empty page with the given title.
func NewPage(title string) *Page { return &Page{Title: title} }

// Heading adds a section heading.
func (p *Page) Heading(text string) {
	p.blocks = append(p.blocks, block{kind: headingBlock, text: text})
}

// Text adds paragraphs in the little Markdown of TextHTML; all else is escaped.
func (p *Page) Text(text string) { p.blocks = append(p.blocks, block{kind: textBlock, text: text}) }

// Chart adds a chart. A chart added twice is drawn twice, under suffixed IDs.
func (p *Page) Chart(c *Chart) { p.blocks = append(p.blocks, block{kind: chartBlock, chart: c}) }

// Table adds a table.
func (p *Page) Table(t Table) { p.blocks = append(p.blocks, block{kind: tableBlock, table: t}) }

const pageStyle = `body { margin: 0; background: #fff; color: #222;
  font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 960px; margin: 0 auto; padding: 24px; }
h1 { font-size: 26px; margin: 0 0 16px; }
h2 { font-size: 20px; margin: 32px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f3f3f3; padding: 1px 4px; border-radius: 3px; }
.echart { margin: 16px 0; }
table.metrics { border-collapse: collapse; margin: 16px 0; font-size: 14px; }
table.metrics caption { text-align: left; font-weight: 600; padding-bottom: 6px; }
table.metrics th, table.metrics td { border: 1px solid #ddd; padding: 4px 10px; }
table.metrics th { background: #f6f6f6; text-align: left; }
`

// WriteHTML writes the page as one HTML document.
func (p *Page) WriteHTML(w io.Writer) error {
	var b strings.Builder
	hasChart := false
	for i, bl := range p.blocks {
		if bl.kind == chartBlock {
			if bl.chart == nil {
				return fmt.Errorf("charts: page %q, block %d: nil chart", p.Title, i)
			}
			hasChart = true
		}
	}
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	fmt.Fprintf(&b, "<title>%s</title>\n<style>\n%s</style>\n", html.EscapeString(p.Title), pageStyle)
	if hasChart {
		b.WriteString(LibraryHTML())
	}
	b.WriteString("</head>\n<body>\n<main>\n")
	if p.Title != "" {
		fmt.Fprintf(&b, "<h1>%s</h1>\n", html.EscapeString(p.Title))
	}
	uses := map[string]int{} // chart ID -> times drawn so far
	for _, bl := range p.blocks {
		switch bl.kind {
		case headingBlock:
			fmt.Fprintf(&b, "<h2>%s</h2>\n", html.EscapeString(bl.text))
		case textBlock:
			writeText(&b, bl.text)
		case chartBlock:
			id := bl.chart.ID()
			uses[id]++
			if n := uses[id]; n > 1 {
				id = fmt.Sprintf("%s-%d", id, n)
			}
			bl.chart.writeHTML(&b, id)
		case tableBlock:
			bl.table.writeHTML(&b)
		}
	}
	b.WriteString("</main>\n</body>\n</html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Save writes the page to path atomically: it writes a temporary file in the same
// directory and renames it, so that a reader never sees half a report.
func (p *Page) Save(path string) error {
	if err := atomicfile.Write(path, p.WriteHTML); err != nil {
		return fmt.Errorf("charts: %w", err)
	}
	return nil
}
