package charts

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	ec "github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// Point is one sample on two value axes, e.g. (step, loss).
type Point struct {
	X, Y float64
}

// Series is a named sequence of points. A NaN or infinite Y leaves a gap.
type Series struct {
	Name   string
	Points []Point
}

// Values is a named row of numbers, one per category of a bar chart.
type Values struct {
	Name   string
	Values []float64
}

// Phase is a named interval [Start, End) of the x axis, e.g. a curriculum phase in
// steps. Phases are shaded alternately and their boundaries drawn as vertical lines.
type Phase struct {
	Name       string
	Start, End float64
}

// Number is what FromCounts accepts as a count.
type Number interface {
	~int | ~int32 | ~int64 | ~float32 | ~float64
}

// FromCounts turns counts[series][category] (e.g. counts["high"]["reflection"]) into
// bar chart rows: the sorted union of categories and one Values per series, in sorted
// order, with 0 where a series lacks a category. Sorting keeps the output
// independent of Go's random map order.
func FromCounts[N Number](counts map[string]map[string]N) (categories []string, series []Values) {
	seen := map[string]bool{}
	for _, byCategory := range counts {
		for category := range byCategory {
			if !seen[category] {
				seen[category] = true
				categories = append(categories, category)
			}
		}
	}
	slices.Sort(categories)
	names := make([]string, 0, len(counts))
	for name := range counts {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		row := Values{Name: name, Values: make([]float64, len(categories))}
		for i, category := range categories {
			row.Values[i] = float64(counts[name][category])
		}
		series = append(series, row)
	}
	return categories, series
}

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// jsonNumber returns v for the JSON encoder, or nil (null: a gap in ECharts) where v
// is not finite or, on a log axis, not positive. encoding/json rejects NaN and Inf.
func jsonNumber(v float64, logScale bool) interface{} {
	if !finite(v) || (logScale && v <= 0) {
		return nil
	}
	return v
}

// validatePhases checks that phases have finite, ordered bounds.
func validatePhases(phases []Phase) error {
	for i, p := range phases {
		if !finite(p.Start) || !finite(p.End) || p.End <= p.Start {
			return fmt.Errorf("charts: phase %d (%q): need finite Start < End, got [%v, %v)", i, p.Name, p.Start, p.End)
		}
	}
	return nil
}

// phaseMarks returns the series options that shade each phase (alternating light
// bands labelled with the phase name) and draw a dashed vertical line at every
// boundary between phases.
func phaseMarks(phases []Phase) []ec.SeriesOpts {
	if len(phases) == 0 {
		return nil
	}
	sorted := slices.Clone(phases)
	slices.SortStableFunc(sorted, func(a, b Phase) int { return cmp.Compare(a.Start, b.Start) })
	areaColors := []string{"rgba(84,112,198,0.07)", "rgba(250,200,88,0.12)"}
	var areas [][]opts.MarkAreaData
	var lines []opts.MarkLineNameXAxisItem
	boundaries := map[float64]bool{}
	for i, p := range sorted {
		areas = append(areas, []opts.MarkAreaData{
			{Name: p.Name, XAxis: p.Start, MarkAreaStyle: opts.MarkAreaStyle{
				ItemStyle: &opts.ItemStyle{Color: areaColors[i%len(areaColors)]},
			}},
			{XAxis: p.End},
		})
		for _, x := range []float64{p.Start, p.End} {
			if x == sorted[0].Start || boundaries[x] {
				continue
			}
			boundaries[x] = true
			if i == len(sorted)-1 && x == p.End {
				continue // the end of the last phase is the end of the run, not a boundary
			}
			lines = append(lines, opts.MarkLineNameXAxisItem{XAxis: x})
		}
	}
	return []ec.SeriesOpts{
		ec.WithMarkAreaData(areas...),
		ec.WithMarkAreaStyleOpts(opts.MarkAreaStyle{
			Label: &opts.Label{Show: opts.Bool(true), Position: "insideTop", Color: "#555"},
		}),
		ec.WithMarkLineNameXAxisItemOpts(lines...),
		ec.WithMarkLineStyleOpts(opts.MarkLineStyle{
			Symbol:    []string{"none", "none"},
			Label:     &opts.Label{Show: opts.Bool(false)},
			LineStyle: &opts.LineStyle{Type: "dashed", Color: "#888", Width: 1},
		}),
	}
}

// frame holds what every chart has: titles and axis names.
type frame struct {
	title, subtitle, xName, yName string
	// rotateX tilts the x axis labels, for many categories; the axis name then moves
	// to the end of the axis, clear of the tilted labels.
	rotateX bool
}

// globalOpts returns the options shared by the helpers' charts: no animation, titles,
// a tooltip, a scrollable legend at the bottom and a grid that keeps the labels
// inside the canvas.
func (f frame) globalOpts(tooltipTrigger string) []ec.GlobalOpts {
	return []ec.GlobalOpts{
		ec.WithAnimation(false),
		ec.WithTitleOpts(opts.Title{Title: f.title, Subtitle: f.subtitle}),
		ec.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: tooltipTrigger}),
		ec.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Type: "scroll", Bottom: "0"}),
		ec.WithGridOpts(f.grid()),
	}
}

// grid leaves room for the title and subtitle above the plot, the centred x axis
// name and legend below it, and an end-placed x axis name on the right.
func (f frame) grid() opts.Grid {
	g := opts.Grid{Left: "3%", Right: "4%", Top: "50", Bottom: "45", ContainLabel: opts.Bool(true)}
	if f.subtitle != "" {
		g.Top = "70"
	}
	if f.xName != "" {
		if f.rotateX {
			g.Right = "12%"
		} else {
			g.Bottom = "60"
		}
	}
	return g
}

// xAxis returns an x axis of the given type carrying the frame's name.
func (f frame) xAxis(axisType string) opts.XAxis {
	a := opts.XAxis{Type: axisType, Name: f.xName, NameLocation: "middle", NameGap: 30}
	if f.rotateX {
		a.AxisLabel = &opts.AxisLabel{Rotate: 30}
		a.NameLocation, a.NameGap = "end", 10
	}
	return a
}
