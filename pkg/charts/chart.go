package charts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Default chart size in CSS pixels.
const (
	DefaultWidth  = 900
	DefaultHeight = 420
)

// Size is a chart's size in CSS pixels; zero fields take DefaultWidth and DefaultHeight.
// The width shrinks to the page width on narrow screens.
type Size struct {
	Width, Height int
}

func (s Size) resolve() (Size, error) {
	if s.Width < 0 || s.Height < 0 {
		return s, fmt.Errorf("charts: negative size %dx%d", s.Width, s.Height)
	}
	if s.Width == 0 {
		s.Width = DefaultWidth
	}
	if s.Height == 0 {
		s.Height = DefaultHeight
	}
	return s, nil
}

// Chart is a rendered ECharts option with a size and a stable element ID. It is
// immutable; build one with a helper (LossCurves, MixBars, ...) or with Wrap.
type Chart struct {
	id     string
	size   Size
	option []byte // JSON, HTML-escaped so that it is safe inside a <script> element
}

// EChart is what Wrap needs from a go-echarts chart; *charts.Bar, *charts.Line,
// *charts.HeatMap and the other go-echarts v2 charts satisfy it.
type EChart interface {
	Validate()
	JSON() map[string]interface{}
}

// Wrap turns any go-echarts chart into a Chart, for charts the helpers do not cover.
// Animation is switched off. JavaScript functions (go-echarts types.FuncStr, such as
// formatters) are rejected: options travel as JSON data only.
func Wrap(c EChart, size Size) (*Chart, error) {
	c.Validate()
	return newChart(c.JSON(), size)
}

// newChart encodes an option object and derives the chart's ID from its content.
func newChart(option map[string]interface{}, size Size) (*Chart, error) {
	size, err := size.resolve()
	if err != nil {
		return nil, err
	}
	option["animation"] = false
	// json.Marshal escapes <, > and & inside strings (\u003c ...), so no title or label
	// can end the script element that carries the option.
	data, err := json.Marshal(option)
	if err != nil {
		return nil, fmt.Errorf("charts: encoding option: %w", err)
	}
	if bytes.Contains(data, []byte("__f__")) {
		return nil, fmt.Errorf("charts: option contains a JavaScript function (go-echarts types.FuncStr), which is not supported")
	}
	sum := sha256.New()
	fmt.Fprintf(sum, "%dx%d\n", size.Width, size.Height)
	sum.Write(data)
	return &Chart{
		id:     "chart-" + hex.EncodeToString(sum.Sum(nil))[:12],
		size:   size,
		option: data,
	}, nil
}

// ID returns the chart's element ID, derived from its content: the same chart always
// gets the same ID. A Page suffixes repeats ("-2", "-3", ...).
func (c *Chart) ID() string { return c.id }

// Size returns the chart's size in CSS pixels.
func (c *Chart) Size() Size { return c.size }

// OptionJSON returns a copy of the chart's ECharts option as JSON.
func (c *Chart) OptionJSON() []byte { return bytes.Clone(c.option) }

// HTML returns the chart's element and drawing script, without the ECharts library:
// the page must already have loaded it (see LibraryHTML and Snippet).
func (c *Chart) HTML() string {
	var b strings.Builder
	c.writeHTML(&b, c.id)
	return b.String()
}

// writeHTML writes a <div> with the given element ID followed by the script that draws
// the chart into it. The script finds its own <div> through document.currentScript so
// that a chart displayed twice in one notebook page draws twice; it falls back to the
// ID where scripts are re-inserted elsewhere (jQuery's evaluation in classic Jupyter).
// It replaces an earlier instance on the same element and writes a message into the
// element instead of failing silently when the library is missing.
func (c *Chart) writeHTML(b *strings.Builder, id string) {
	quotedID := strconv.Quote(id) // IDs are [a-z0-9-]: safe in HTML and JavaScript
	fmt.Fprintf(b, `<div class="echart" id=%s style="width:%dpx;height:%dpx;max-width:100%%;"></div>`+"\n",
		quotedID, c.size.Width, c.size.Height)
	b.WriteString("<script>\n(function () {\n")
	fmt.Fprintf(b, "  var id = %s, s = document.currentScript, el = s && s.previousElementSibling;\n", quotedID)
	b.WriteString("  if (!el || el.id !== id) { el = document.getElementById(id); }\n")
	b.WriteString("  if (!el) { return; }\n")
	b.WriteString("  if (typeof window.echarts === \"undefined\") { el.textContent = \"Chart not drawn: the ECharts library is not loaded on this page.\"; return; }\n")
	b.WriteString("  var old = window.echarts.getInstanceByDom(el);\n")
	b.WriteString("  if (old) { old.dispose(); }\n")
	b.WriteString("  window.echarts.init(el, null, { renderer: \"canvas\" }).setOption(")
	b.Write(c.option)
	b.WriteString(");\n})();\n</script>\n")
}
