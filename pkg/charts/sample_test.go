package charts

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
)

// samplePage builds a page with every kind of chart, from data shaped like the
// notebooks' (a three-phase curriculum, the CounselChat/AnnoMI mix, MI techniques,
// reply lengths, topic × behaviour counts, DPO rewards).
func samplePage(t testing.TB) *Page {
	t.Helper()
	must := func(c *Chart, err error) *Chart {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	phases := []Phase{{"1 · CounselChat", 0, 120}, {"2 · mixed", 120, 240}, {"3 · AnnoMI", 240, 360}}
	var train, eval []Point
	for step := 1; step <= 300; step++ { // training still running: phase 3 not finished
		loss := 3.2*math.Exp(-float64(step)/90) + 0.9 + 0.08*math.Sin(float64(step)/3)
		train = append(train, Point{float64(step), loss})
		if step%40 == 0 {
			eval = append(eval, Point{float64(step), loss + 0.15})
		}
	}
	lengthsA := make([]float64, 0, 400)
	lengthsB := make([]float64, 0, 300)
	for i := range 400 {
		lengthsA = append(lengthsA, float64(20+(i*37)%180))
	}
	for i := range 300 {
		lengthsB = append(lengthsB, float64(10+(i*53)%90))
	}
	techniques, groups := FromCounts(map[string]map[string]int{
		"high quality": {"open question": 120, "closed question": 60, "simple reflection": 140, "complex reflection": 110, "affirm": 30, "give information": 50},
		"low quality":  {"open question": 20, "closed question": 45, "simple reflection": 15, "complex reflection": 5, "affirm": 4, "give information": 70},
	})
	var chosen, rejected, margin []Point
	for step := 0; step <= 100; step += 5 {
		c, r := 0.02*float64(step), -0.015*float64(step)
		chosen = append(chosen, Point{float64(step), c})
		rejected = append(rejected, Point{float64(step), r})
		margin = append(margin, Point{float64(step), c - r})
	}

	p := NewPage("Sample report <&> \"charts\"")
	p.Text("A sample of every chart in **pkg/charts**, rendered offline with `echarts.min.js`.\n\n- loss curves with phases\n- dataset mix\n- <script>alert('escaped')</script>")
	p.Heading("Training")
	p.Chart(must(LossCurves(LossData{Title: "Curriculum loss", Subtitle: "tiny model, debug sizes", Train: train, Eval: eval, Phases: phases})))
	p.Chart(must(LossCurves(LossData{Title: "Curriculum loss (log scale)", Train: train, Eval: eval, Phases: phases, LogScale: true, Size: Size{Height: 300}})))
	p.Chart(must(MixBars(BarData{Title: "Dataset mix per phase", XName: "phase", YName: "examples",
		Categories: []string{"phase 1", "phase 2", "phase 3"},
		Series:     []Values{{"counselchat", []float64{2600, 1300, 0}}, {"annomi", []float64{0, 100, 133}}}})))
	p.Chart(must(MixBars(BarData{Title: "Dataset mix per phase (shares)", Shares: true,
		Categories: []string{"phase 1", "phase 2", "phase 3"},
		Series:     []Values{{"counselchat", []float64{2600, 1300, 0}}, {"annomi", []float64{0, 100, 133}}}})))
	p.Heading("Data")
	p.Chart(must(GroupedBars(BarData{Title: "MI techniques: high vs low quality", Categories: techniques, Series: groups, Shares: true})))
	p.Chart(must(GroupedBars(BarData{Title: "MI techniques (horizontal)", Categories: techniques, Series: groups, Horizontal: true})))
	p.Chart(must(Histogram(HistogramData{Title: "Reply length", XName: "words", Percent: true,
		Samples: []Sample{{"therapist", lengthsA}, {"client", lengthsB}}})))
	p.Chart(must(HeatMap(HeatMapData{Title: "Behaviour by topic", XName: "behaviour", YName: "topic",
		Rows: []string{"alcohol", "smoking", "diabetes"}, Columns: []string{"question", "reflection", "therapist input", "other"},
		Values: [][]float64{{12, 30, 8, 2}, {5, 14, math.NaN(), 1}, {0, 7, 9, 3}}, ShowValues: true})))
	p.Heading("DPO")
	p.Chart(must(Lines(LineData{Title: "DPO rewards", XName: "step", YName: "reward",
		Series: []Series{{"chosen", chosen}, {"rejected", rejected}, {"margin", margin}}})))
	p.Chart(must(Lines(LineData{Title: "DPO margins (scatter)", Scatter: true, Series: []Series{{"margin", margin}}})))
	var tbl Table
	tbl.Caption = "Metrics"
	tbl.Header = []string{"model", "loss", "BLEU", "reflection:question"}
	tbl.AddRow("base", 2.71828, 0.0123, "0.4")
	tbl.AddRow("SFT <curriculum>", 1.25, 0.0456, "1.2")
	p.Table(tbl)
	return p
}

// TestWriteSamplePage writes the sample page to $CHARTS_SAMPLE_OUT for a look in a
// browser (e.g. a headless Chromium screenshot); without it the test only renders.
func TestWriteSamplePage(t *testing.T) {
	p := samplePage(t)
	out := os.Getenv("CHARTS_SAMPLE_OUT")
	if out == "" {
		out = t.TempDir() + "/sample.html"
	}
	if err := p.Save(out); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", out, info.Size())

	// A notebook-like page: three "cells" (processes) of snippets, the same chart
	// shown twice, the library guarded in each cell.
	defer resetSnippetLibrary()
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n")
	for cell := range 3 {
		resetSnippetLibrary() // a new GoNB cell is a new process
		c, err := Lines(LineData{Title: fmt.Sprintf("cell %d", cell), Series: []Series{{"y", []Point{{0, 1}, {1, float64(cell)}}}}})
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(Snippet(c))
		b.WriteString(Snippet(c))
	}
	b.WriteString("</body></html>\n")
	if err := atomicfile.WriteBytes(strings.TrimSuffix(out, ".html")+".notebook.html", []byte(b.String())); err != nil {
		t.Fatal(err)
	}
}
