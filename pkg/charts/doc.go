// Package charts draws the project's charts offline with Apache ECharts.
//
// Helpers take plain data (the structs and slices defined here, so this package does
// not depend on training or evaluation code) and return a *Chart: loss curves with
// curriculum phases marked, stacked bars of the dataset mix per phase, grouped bars of
// category distributions, histograms with the binning done in Go, heat maps, and a
// generic line/scatter chart. [Wrap] accepts any go-echarts chart for everything else.
//
// A Chart renders in two places:
//
//   - A [Page] collects headings, text, charts and tables and writes one standalone
//     HTML document with echarts.min.js (ECharts 5.6.0, Apache-2.0, embedded with
//     go:embed; licence files in assets/) inlined exactly once. Nothing is fetched from
//     the network, so reports open offline.
//   - [Snippet] returns the HTML of one chart for a notebook cell (GoNB's
//     gonbui.DisplayHTML). See Snippet for how the library is shipped to notebooks.
//
// Output is deterministic: animation is off, element IDs are derived from the chart's
// content (plus a per-page counter for repeats), and option objects are encoded by
// encoding/json, which sorts map keys. Rendering the same charts twice gives the same
// bytes, so reports diff cleanly and screenshots are reproducible.
//
// The charts are drawn by our own small script rather than go-echarts' RenderSnippet
// script for three reasons: its options are encoded without HTML escaping (a title
// containing "</script>" would end the script element), it declares top-level `let`
// variables (a second display of the same chart in one notebook page is a
// SyntaxError), and its assets point to a CDN.
package charts
