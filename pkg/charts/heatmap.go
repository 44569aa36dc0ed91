package charts

import (
	"fmt"
	"math"

	ec "github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// HeatMapData describes a matrix of values, such as therapist-behaviour counts per
// topic (rows) and behaviour (columns).
type HeatMapData struct {
	Title, Subtitle string
	// XName names the columns' axis, YName the rows'.
	XName, YName  string
	Rows, Columns []string
	// Values[r][c] is the value of row r and column c; NaN leaves the cell empty.
	Values [][]float64
	// ShowValues prints each cell's value in the cell.
	ShowValues bool
	Size       Size
}

// HeatMap draws a rows × columns matrix with a continuous colour scale (visualMap)
// from the smallest to the largest finite value. The first row is at the top.
func HeatMap(d HeatMapData) (*Chart, error) {
	if len(d.Values) != len(d.Rows) {
		return nil, fmt.Errorf("charts: heat map %q has %d rows of values for %d row names", d.Title, len(d.Values), len(d.Rows))
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	var cells [][3]interface{}
	for r, row := range d.Values {
		if len(row) != len(d.Columns) {
			return nil, fmt.Errorf("charts: heat map %q, row %q has %d values for %d columns", d.Title, d.Rows[r], len(row), len(d.Columns))
		}
		for c, v := range row {
			if math.IsInf(v, 0) {
				return nil, fmt.Errorf("charts: heat map %q, row %q, column %q: value %v", d.Title, d.Rows[r], d.Columns[c], v)
			}
			if math.IsNaN(v) {
				continue
			}
			lo, hi = min(lo, v), max(hi, v)
			cells = append(cells, [3]interface{}{c, r, v})
		}
	}
	if len(cells) == 0 {
		lo, hi = 0, 1
	}
	if hi == lo {
		hi = lo + 1 // a one-value scale would divide by zero
	}

	hm := ec.NewHeatMap()
	f := frame{title: d.Title, subtitle: d.Subtitle, xName: d.XName, yName: d.YName, rotateX: len(d.Columns) > 6}
	grid := f.grid()
	grid.Right = "110" // the visual map stands on the right
	hm.SetGlobalOptions(f.globalOpts("item")...)
	hm.SetGlobalOptions(ec.WithLegendOpts(opts.Legend{Show: opts.Bool(false)})) // it would only repeat the title
	hm.GridList = []opts.Grid{grid}                                             // WithGridOpts would append a second grid
	xAxis := f.xAxis("category")
	xAxis.Data = d.Columns
	xAxis.SplitArea = &opts.SplitArea{Show: opts.Bool(true)}
	hm.SetGlobalOptions(
		ec.WithXAxisOpts(xAxis),
		// Inverse puts the first row on top; "start" is then the top end of the axis.
		ec.WithYAxisOpts(opts.YAxis{Type: "category", Name: d.YName, NameLocation: "start", Data: d.Rows,
			Inverse: opts.Bool(true), SplitArea: &opts.SplitArea{Show: opts.Bool(true)}}),
	)
	showValues := d.ShowValues
	hm.AddSeries(d.Title, nil, ec.WithSeriesOpts(func(ss *ec.SingleSeries) {
		ss.Data = cells
		if showValues {
			ss.Label = &opts.Label{Show: opts.Bool(true)}
		}
	}))
	hm.Validate()
	option := hm.JSON()
	// go-echarts' VisualMap omits a zero min or max and holds float32: set it directly.
	option["visualMap"] = map[string]interface{}{
		"type": "continuous", "min": lo, "max": hi, "calculable": true,
		"orient": "vertical", "right": 10, "top": "middle",
	}
	return newChart(option, d.Size)
}
