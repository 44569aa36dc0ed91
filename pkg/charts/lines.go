package charts

import (
	"fmt"

	ec "github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// LineData describes a chart of series on two value axes, such as DPO rewards of the
// chosen and rejected replies and their margin against the step.
type LineData struct {
	Title, Subtitle string
	XName, YName    string
	Series          []Series
	// Scatter draws points only, without connecting lines.
	Scatter bool
	// LogScale uses a logarithmic y axis; values <= 0 are left out.
	LogScale bool
	// Phases, if any, are shaded and the x axis spans them all (see Phase).
	Phases []Phase
	Size   Size
}

// Lines draws one or more series on value axes.
func Lines(d LineData) (*Chart, error) {
	xy := make([]xySeries, len(d.Series))
	for i, s := range d.Series {
		xy[i] = xySeries{Series: s, scatter: d.Scatter}
	}
	return xyChart(frame{title: d.Title, subtitle: d.Subtitle, xName: d.XName, yName: d.YName}, xy, d.Phases, d.LogScale, d.Size)
}

// LossData describes training and evaluation loss against the optimizer step.
type LossData struct {
	Title, Subtitle string
	// Train is the training loss per logged step; Eval the evaluation loss per
	// evaluation (drawn with markers, as evaluations are sparse).
	Train, Eval []Point
	// Phases are the curriculum phases in steps; the x axis spans them all, so a curve
	// redrawn during training grows into the planned phases.
	Phases []Phase
	// LogScale uses a logarithmic y axis; losses <= 0 are left out.
	LogScale bool
	Size     Size
}

// LossCurves draws training and evaluation loss with the curriculum phases marked.
// Empty Train and Eval give an empty chart (e.g. before the first logged step).
func LossCurves(d LossData) (*Chart, error) {
	series := []xySeries{
		{Series: Series{Name: "train loss", Points: d.Train}},
		{Series: Series{Name: "eval loss", Points: d.Eval}, symbols: true},
	}
	return xyChart(frame{title: d.Title, subtitle: d.Subtitle, xName: "step", yName: "loss"}, series, d.Phases, d.LogScale, d.Size)
}

// xySeries is a series with its drawing style.
type xySeries struct {
	Series
	scatter bool // points only
	symbols bool // markers on every point of a line
}

// xyChart draws series on value axes, with optional phases.
func xyChart(f frame, series []xySeries, phases []Phase, logScale bool, size Size) (*Chart, error) {
	if err := validatePhases(phases); err != nil {
		return nil, err
	}
	line := ec.NewLine()
	line.SetGlobalOptions(f.globalOpts("axis")...)

	xAxis := f.xAxis("value")
	xAxis.Scale = opts.Bool(true)
	if len(phases) > 0 {
		// Markers do not widen an axis: span the phases explicitly.
		lo, hi := phases[0].Start, phases[0].End
		for _, p := range phases {
			lo, hi = min(lo, p.Start), max(hi, p.End)
		}
		for _, s := range series {
			for _, p := range s.Points {
				if finite(p.X) {
					lo, hi = min(lo, p.X), max(hi, p.X)
				}
			}
		}
		xAxis.Min, xAxis.Max = lo, hi
	}
	yAxis := opts.YAxis{Type: "value", Name: f.yName, Scale: opts.Bool(true)}
	if logScale {
		yAxis.Type = "log"
	}
	line.SetGlobalOptions(ec.WithXAxisOpts(xAxis), ec.WithYAxisOpts(yAxis))

	for i, s := range series {
		name := s.Name
		if name == "" {
			name = fmt.Sprintf("series %d", i+1)
		}
		data := make([][2]interface{}, len(s.Points))
		for j, p := range s.Points {
			if !finite(p.X) {
				return nil, fmt.Errorf("charts: series %q, point %d: x is %v", name, j, p.X)
			}
			data[j] = [2]interface{}{p.X, jsonNumber(p.Y, logScale)}
		}
		scatter, symbols := s.scatter, s.symbols
		line.AddSeries(name, nil, ec.WithSeriesOpts(func(ss *ec.SingleSeries) {
			ss.Data = data
			if scatter {
				ss.Type = "scatter"
				ss.SymbolSize = 6
				return
			}
			ss.ShowSymbol = opts.Bool(symbols || len(data) == 1)
			ss.SymbolSize = 6
		}))
	}
	if len(phases) > 0 {
		// A series of its own carries the phase marks, so that hiding a data series in
		// the legend keeps them (and "phases" can be toggled by itself).
		line.AddSeries("phases", nil, append(phaseMarks(phases), ec.WithSeriesOpts(func(ss *ec.SingleSeries) {
			ss.Data = [][2]interface{}{}
			ss.ShowSymbol = opts.Bool(false)
			ss.Color = "#999" // neutral in the legend, unlike the data series
		}))...)
	}
	return Wrap(line, size)
}
