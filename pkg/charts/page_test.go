package charts

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// versionMarker occurs once in echarts.min.js; counting it counts library copies.
const versionMarker = `t.version="5.6.0"`

func renderPage(t *testing.T, p *Page) string {
	t.Helper()
	var b bytes.Buffer
	if err := p.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// withoutLibrary removes the inlined library, whose own text (licence URLs, SVG
// namespaces) would hide what the checks look for in our output.
func withoutLibrary(t *testing.T, page string) string {
	t.Helper()
	lib := LibraryHTML()
	if strings.Count(page, lib) != 1 {
		t.Fatalf("page holds %d copies of LibraryHTML, want 1", strings.Count(page, lib))
	}
	return strings.Replace(page, lib, "", 1)
}

func TestEmbeddedLibrary(t *testing.T) {
	if len(echartsMinJS) < 900_000 {
		t.Fatalf("embedded echarts.min.js has %d bytes; want the full 5.6.0 bundle (~1 MB)", len(echartsMinJS))
	}
	if n := strings.Count(echartsMinJS, versionMarker); n != 1 {
		t.Fatalf("echarts.min.js holds %q %d times, want once", versionMarker, n)
	}
	// Inlined in a <script> element, the bundle must not close it or open an HTML
	// comment (which changes how the parser looks for </script>).
	lower := strings.ToLower(echartsMinJS)
	for _, bad := range []string{"</script", "<!--", "<script"} {
		if strings.Contains(lower, bad) {
			t.Errorf("echarts.min.js contains %q: inlining would break the page", bad)
		}
	}
	for _, f := range []string{"assets/LICENSE", "assets/NOTICE", "assets/LICENSE-d3"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("licence file missing: %v", err)
		}
	}
}

func TestLibraryHTMLHidesAMDLoader(t *testing.T) {
	lib := LibraryHTML()
	for _, want := range []string{
		"<script " + libraryMarker + ">",
		`if (typeof window.echarts === "undefined") {`,
		"(function (define, exports, module) {\n" + echartsMinJS + "\n}).call(window);",
	} {
		if !strings.Contains(lib, want) {
			t.Errorf("LibraryHTML lacks %.80q", want)
		}
	}
	if !strings.HasSuffix(lib, "</script>\n") || strings.Count(lib, "</script>") != 1 {
		t.Error("LibraryHTML is not exactly one script element")
	}
}

func TestPageStructure(t *testing.T) {
	p := samplePage(t)
	page := renderPage(t, p)

	if n := strings.Count(page, versionMarker); n != 1 {
		t.Errorf("page holds the echarts library %d times, want exactly once", n)
	}
	if n := strings.Count(page, libraryMarker); n != 1 {
		t.Errorf("page holds %d library script elements, want 1", n)
	}
	if strings.Index(page, libraryMarker) > strings.Index(page, "</head>") {
		t.Error("library is not in the head, before the charts")
	}
	ours := withoutLibrary(t, page)
	for _, bad := range []string{"http://", "https://", "src=", "cdn", "go-echarts-assets", "<link"} {
		if strings.Contains(strings.ToLower(ours), bad) {
			t.Errorf("page outside the library contains %q: it must not load anything", bad)
		}
	}

	var ids []string
	for _, bl := range p.blocks {
		if bl.kind == chartBlock {
			ids = append(ids, bl.chart.ID())
		}
	}
	if len(ids) != 10 {
		t.Fatalf("sample page has %d charts, want 10", len(ids))
	}
	idPattern := regexp.MustCompile(`^chart-[0-9a-f]{12}$`)
	for _, id := range ids {
		if !idPattern.MatchString(id) {
			t.Errorf("chart ID %q does not match %v", id, idPattern)
		}
		if n := strings.Count(ours, `<div class="echart" id="`+id+`"`); n != 1 {
			t.Errorf("chart %s has %d elements, want 1", id, n)
		}
		if n := strings.Count(ours, `var id = "`+id+`"`); n != 1 {
			t.Errorf("chart %s has %d scripts, want 1", id, n)
		}
	}
	if n := strings.Count(ours, `.setOption({"animation":false,`); n != len(ids) {
		t.Errorf("%d options switch animation off, want %d", n, len(ids))
	}
	// Data values and labels reach the page.
	for _, want := range []string{
		`"name":"counselchat"`, `"data":[2600,1300,0]`, // mix counts
		`"name":"2 · mixed"`, `"xAxis":120`, // phase areas and boundaries
		`"data":["affirm","closed question","complex reflection","give information","open question","simple reflection"]`,
		`[0,1,5]`, // heat map cell: column 0, row 1, value 5
		"<td style=\"text-align:right\">2.718</td>",
	} {
		if !strings.Contains(ours, want) {
			t.Errorf("page lacks %s", want)
		}
	}
}

func TestPageIsDeterministic(t *testing.T) {
	first := renderPage(t, samplePage(t))
	second := renderPage(t, samplePage(t))
	if first != second {
		t.Fatal("rendering the same page twice gave different bytes")
	}
}

func TestPageEscapesText(t *testing.T) {
	const evil = `<script>alert("x")</script> & <b>`
	c, err := Lines(LineData{Title: evil, XName: evil, Series: []Series{{Name: evil, Points: []Point{{0, 1}}}}})
	if err != nil {
		t.Fatal(err)
	}
	p := NewPage(evil)
	p.Heading(evil)
	p.Text(evil + "\n\n- " + evil + "\n\n**" + evil + "** `" + evil + "`")
	p.Chart(c)
	p.Table(Table{Caption: evil, Header: []string{evil}, Rows: [][]string{{evil}}})
	ours := withoutLibrary(t, renderPage(t, p))
	if strings.Contains(ours, "<script>alert") || strings.Contains(ours, "<b>") {
		t.Errorf("unescaped text in page:\n%s", ours)
	}
	// <title>, h1, h2, paragraph, list item, bold, code, caption, th, td.
	if got := strings.Count(ours, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;"); got != 10 {
		t.Errorf("escaped text occurs %d times, want 10", got)
	}
	// In the chart's option the text is a JSON string with <, > and & escaped.
	if !strings.Contains(ours, `\u003cscript\u003ealert(\"x\")\u003c/script\u003e \u0026 \u003cb\u003e`) {
		t.Error("chart title is not HTML-safe JSON")
	}
}

func TestPageRepeatedChartGetsSuffixedID(t *testing.T) {
	c, err := Lines(LineData{Title: "twice", Series: []Series{{"y", []Point{{0, 1}, {1, 2}}}}})
	if err != nil {
		t.Fatal(err)
	}
	p := NewPage("repeats")
	p.Chart(c)
	p.Chart(c)
	p.Chart(c)
	ours := withoutLibrary(t, renderPage(t, p))
	for _, id := range []string{c.ID(), c.ID() + "-2", c.ID() + "-3"} {
		if !strings.Contains(ours, `id="`+id+`"`) {
			t.Errorf("no element with id %s", id)
		}
	}
}

func TestPageWithoutChartsHasNoLibrary(t *testing.T) {
	p := NewPage("tables only")
	p.Table(Table{Header: []string{"a"}, Rows: [][]string{{"1"}}})
	page := renderPage(t, p)
	if strings.Contains(page, libraryMarker) {
		t.Error("a page without charts carries the 1 MB library")
	}
}

func TestPageNilChart(t *testing.T) {
	p := NewPage("broken")
	p.Chart(nil)
	if err := p.WriteHTML(&bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "block 0: nil chart") {
		t.Errorf("WriteHTML with a nil chart: error %v", err)
	}
}

func TestSaveIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := samplePage(t)
	if err := p.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != renderPage(t, p) {
		t.Error("saved file differs from WriteHTML output")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after Save, want only the report (temporary file left?)", len(entries))
	}
	if err := p.Save(filepath.Join(dir, "missing", "report.html")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Save into a missing directory: error %v", err)
	}
}

func TestSnippetCarriesLibraryOncePerProcess(t *testing.T) {
	resetSnippetLibrary()
	defer resetSnippetLibrary()
	c, err := Lines(LineData{Title: "snippet", Series: []Series{{"y", []Point{{0, 1}, {1, 2}}}}})
	if err != nil {
		t.Fatal(err)
	}
	first, second := Snippet(c), Snippet(c)
	if strings.Count(first, versionMarker) != 1 || !strings.HasSuffix(first, c.HTML()) {
		t.Error("first Snippet does not carry the library followed by the chart")
	}
	if second != c.HTML() {
		t.Error("second Snippet is not the bare chart")
	}
	if s := StandaloneSnippet(c); strings.Count(s, versionMarker) != 1 {
		t.Error("StandaloneSnippet does not carry the library")
	}
	for _, s := range []string{first, second} {
		if strings.Contains(strings.Replace(s, LibraryHTML(), "", 1), "http") {
			t.Error("snippet refers to a URL")
		}
	}
}

func TestChartHTMLFindsItsOwnElement(t *testing.T) {
	c, err := Lines(LineData{Series: []Series{{"y", []Point{{0, 1}}}}})
	if err != nil {
		t.Fatal(err)
	}
	h := c.HTML()
	for _, want := range []string{
		`<div class="echart" id="` + c.ID() + `" style="width:900px;height:420px;max-width:100%;"></div>`,
		"document.currentScript",
		"getInstanceByDom(el)",
		"Chart not drawn",
		".setOption(" + string(c.OptionJSON()) + ");",
	} {
		if !strings.Contains(h, want) {
			t.Errorf("chart HTML lacks %q", want)
		}
	}
	if strings.Contains(h, "let ") {
		t.Error("chart script declares top-level let bindings, which break on a second display")
	}
}
