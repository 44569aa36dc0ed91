package charts

import (
	_ "embed"
	"strings"
	"sync"
)

// EChartsVersion is the version of the embedded echarts.min.js (npm package echarts).
const EChartsVersion = "5.6.0"

// echartsMinJS is dist/echarts.min.js of the npm package echarts@5.6.0, unchanged.
// Its licence (Apache-2.0, with a BSD-3-Clause part from d3) is in assets/.
//
//go:embed assets/echarts.min.js
var echartsMinJS string

// libraryMarker is the attribute that identifies the library's script element; tests
// and report checks count it to make sure the library is inlined once.
const libraryMarker = `data-echarts-library="` + EChartsVersion + `"`

var libraryHTML = sync.OnceValue(func() string {
	var b strings.Builder
	b.Grow(len(echartsMinJS) + 1024)
	b.WriteString("<script " + libraryMarker + ">\n")
	b.WriteString("/* Apache ECharts " + EChartsVersion + " (echarts.min.js), Apache License 2.0, inlined for offline use. */\n")
	// Load only once per browser page: notebooks include the library in several
	// cells, and re-running it would replace the global and orphan existing charts.
	b.WriteString("if (typeof window.echarts === \"undefined\") {\n")
	// echarts.min.js is a UMD bundle: when an AMD loader is present (nbconvert's HTML
	// and Jupyter load require.js, which defines window.define) it registers an
	// anonymous AMD module and never sets window.echarts, so every chart fails with
	// "echarts is not defined". Passing undefined parameters named define, exports and
	// module hides the loader (and any CommonJS globals) from the bundle without
	// touching window.define, so nothing needs restoring even if loading throws.
	b.WriteString("(function (define, exports, module) {\n")
	b.WriteString(echartsMinJS)
	b.WriteString("\n}).call(window);\n}\n</script>\n")
	return b.String()
})

// LibraryHTML returns a <script> element that defines window.echarts from the embedded
// echarts.min.js, unless the page already has it. It is about 1 MB. A Page includes it
// by itself; notebooks get it through Snippet, or may display it once on their own and
// then use Chart.HTML (see Snippet).
func LibraryHTML() string { return libraryHTML() }

// notebookLibrary remembers whether this process has already emitted the library
// through Snippet.
var notebookLibrary struct {
	sync.Mutex
	sent bool
}

// Snippet returns the HTML of one chart for a notebook cell, for example
// gonbui.DisplayHTML(charts.Snippet(c)).
//
// The first Snippet of each process carries the (guarded) ECharts library and later
// ones do not. GoNB runs every cell as its own process, so this means: the first chart
// of each cell carries the library. Every cell therefore draws on its own, whatever
// was run, cleared or reloaded before it, and the exported HTML report works
// standalone. The price is about 1 MB of output per cell that shows charts (the
// browser evaluates the library only once per page; later copies are skipped by the
// guard). Committed notebooks are stored without outputs, so only rendered reports pay.
//
// Output that is later replaced (gonbui.UpdateHTML, for a curve redrawn while training)
// must not rely on the copy of an earlier update, which the replacement removes: use
// StandaloneSnippet there, or display LibraryHTML once in its own output and update
// with Chart.HTML.
func Snippet(c *Chart) string {
	notebookLibrary.Lock()
	withLibrary := !notebookLibrary.sent
	notebookLibrary.sent = true
	notebookLibrary.Unlock()
	if withLibrary {
		return StandaloneSnippet(c)
	}
	return c.HTML()
}

// StandaloneSnippet returns the HTML of one chart preceded by the guarded ECharts
// library, whatever was emitted before.
func StandaloneSnippet(c *Chart) string {
	return LibraryHTML() + c.HTML()
}

// resetSnippetLibrary forgets that the library was emitted (for tests).
func resetSnippetLibrary() {
	notebookLibrary.Lock()
	notebookLibrary.sent = false
	notebookLibrary.Unlock()
}
