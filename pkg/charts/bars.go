package charts

import (
	"fmt"
	"math"

	ec "github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// BarData describes a bar chart: one bar (or bar segment) per series and category.
type BarData struct {
	Title, Subtitle string
	XName, YName    string
	// Categories label the axis: curriculum phases for MixBars, MI techniques for
	// GroupedBars.
	Categories []string
	// Series holds one value per category each, e.g. example counts of a corpus.
	// Values must be finite and, with Shares, not negative.
	Series []Values
	// Shares plots percentages instead of raw values: of each category's total for
	// MixBars (every stack reaches 100%), of each series' total for GroupedBars (each
	// group's distribution sums to 100%, so groups of different sizes compare).
	Shares bool
	// Horizontal draws the bars left to right, for long category names.
	Horizontal bool
	Size       Size
}

// MixBars draws stacked bars, one stack per category: the dataset mix of each
// curriculum phase, with one series per corpus.
func MixBars(d BarData) (*Chart, error) {
	return barChart(d, true)
}

// GroupedBars draws bars side by side, one group per category and one bar per
// series: e.g. the share of each MI technique in high- and low-quality sessions.
func GroupedBars(d BarData) (*Chart, error) {
	return barChart(d, false)
}

func barChart(d BarData, stacked bool) (*Chart, error) {
	values, err := barValues(d, stacked)
	if err != nil {
		return nil, err
	}
	yName := d.YName
	if yName == "" && d.Shares {
		yName = "%"
	}
	// Many categories get tilted labels, so that ECharts hides fewer of them.
	f := frame{title: d.Title, subtitle: d.Subtitle, xName: d.XName, yName: yName,
		rotateX: !d.Horizontal && len(d.Categories) > 6}
	bar := ec.NewBar()
	bar.SetGlobalOptions(f.globalOpts("axis")...)
	valueAxis := opts.YAxis{Type: "value", Name: yName}
	if d.Shares && stacked {
		valueAxis.Max = 100
	}
	if d.Horizontal {
		bar.SetGlobalOptions(
			ec.WithXAxisOpts(opts.XAxis{Type: "value", Name: yName, Max: valueAxis.Max}),
			ec.WithYAxisOpts(opts.YAxis{Type: "category", Name: d.XName, Inverse: opts.Bool(true)}),
		)
		bar.XYReversal()
	} else {
		bar.SetGlobalOptions(ec.WithXAxisOpts(f.xAxis("category")), ec.WithYAxisOpts(valueAxis))
	}
	bar.SetXAxis(d.Categories)
	for i, s := range d.Series {
		row := values[i]
		var seriesOpts []ec.SeriesOpts
		if stacked {
			seriesOpts = append(seriesOpts, ec.WithBarChartOpts(opts.BarChart{Stack: "total"}))
		}
		seriesOpts = append(seriesOpts, ec.WithSeriesOpts(func(ss *ec.SingleSeries) { ss.Data = row }))
		bar.AddSeries(s.Name, nil, seriesOpts...)
	}
	return Wrap(bar, d.Size)
}

// barValues validates the rows and returns the plotted values, as percentages where
// d.Shares asks for them (rounded to 0.01 so that tooltips stay readable).
func barValues(d BarData, stacked bool) ([][]float64, error) {
	if len(d.Series) == 0 {
		return nil, fmt.Errorf("charts: bar chart %q has no series", d.Title)
	}
	out := make([][]float64, len(d.Series))
	for i, s := range d.Series {
		if len(s.Values) != len(d.Categories) {
			return nil, fmt.Errorf("charts: bar series %q has %d values for %d categories", s.Name, len(s.Values), len(d.Categories))
		}
		for j, v := range s.Values {
			if !finite(v) || (d.Shares && v < 0) {
				return nil, fmt.Errorf("charts: bar series %q, category %q: invalid value %v", s.Name, d.Categories[j], v)
			}
		}
		out[i] = append([]float64(nil), s.Values...)
	}
	if !d.Shares {
		return out, nil
	}
	total := func(i, j int) float64 { // the denominator for value (series i, category j)
		sum := 0.0
		if stacked {
			for k := range out {
				sum += d.Series[k].Values[j]
			}
		} else {
			for _, v := range d.Series[i].Values {
				sum += v
			}
		}
		return sum
	}
	for i := range out {
		for j, v := range d.Series[i].Values {
			if t := total(i, j); t > 0 {
				out[i][j] = math.Round(v/t*10000) / 100
			}
		}
	}
	return out, nil
}
