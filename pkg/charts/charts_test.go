package charts

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	ec "github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/go-echarts/go-echarts/v2/types"
)

// option decodes a chart's option for inspection.
func option(t *testing.T, c *Chart) map[string]interface{} {
	t.Helper()
	var o map[string]interface{}
	if err := json.Unmarshal(c.OptionJSON(), &o); err != nil {
		t.Fatalf("option is not JSON: %v", err)
	}
	return o
}

func seriesOf(t *testing.T, o map[string]interface{}) []map[string]interface{} {
	t.Helper()
	raw, _ := o["series"].([]interface{})
	out := make([]map[string]interface{}, len(raw))
	for i, s := range raw {
		out[i] = s.(map[string]interface{})
	}
	return out
}

// firstAxis returns option[key][0] (go-echarts writes axes as lists).
func firstAxis(t *testing.T, o map[string]interface{}, key string) map[string]interface{} {
	t.Helper()
	list, ok := o[key].([]interface{})
	if !ok || len(list) == 0 {
		t.Fatalf("option has no %s", key)
	}
	return list[0].(map[string]interface{})
}

func TestLossCurves(t *testing.T) {
	phases := []Phase{{"a", 0, 10}, {"b", 10, 20}, {"c", 25, 30}}
	c, err := LossCurves(LossData{
		Title: "loss", Train: []Point{{1, 2.5}, {2, math.NaN()}, {3, 2.0}}, Eval: []Point{{2, 2.7}},
		Phases: phases, LogScale: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	o := option(t, c)
	if o["animation"] != false {
		t.Error("animation is not off")
	}
	series := seriesOf(t, o)
	var names []string
	for _, s := range series {
		names = append(names, s["name"].(string))
	}
	if want := []string{"train loss", "eval loss", "phases"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("series %v, want %v", names, want)
	}
	train := series[0]["data"].([]interface{})
	if got := train[1].([]interface{}); got[0] != 2.0 || got[1] != nil {
		t.Errorf("NaN loss encoded as %v, want [2 <nil>] (a gap)", got)
	}
	if firstAxis(t, o, "yAxis")["type"] != "log" {
		t.Error("LogScale did not give a log y axis")
	}
	x := firstAxis(t, o, "xAxis")
	if x["min"] != 0.0 || x["max"] != 30.0 {
		t.Errorf("x axis spans [%v, %v], want the phases' [0, 30]", x["min"], x["max"])
	}
	marks := series[2]
	areas := marks["markArea"].(map[string]interface{})["data"].([]interface{})
	if len(areas) != len(phases) {
		t.Errorf("%d phase areas, want %d", len(areas), len(phases))
	}
	var boundaries []float64
	for _, l := range marks["markLine"].(map[string]interface{})["data"].([]interface{}) {
		boundaries = append(boundaries, l.(map[string]interface{})["xAxis"].(float64))
	}
	// 0 starts the run and 30 ends it; 10 is shared by a and b; 20 and 25 border a gap.
	if want := []float64{10, 20, 25}; !reflect.DeepEqual(boundaries, want) {
		t.Errorf("boundaries %v, want %v", boundaries, want)
	}
}

func TestLossCurvesLogScaleDropsNonPositive(t *testing.T) {
	c, err := LossCurves(LossData{Train: []Point{{1, 0}, {2, -1}, {3, 1}}, LogScale: true})
	if err != nil {
		t.Fatal(err)
	}
	got := seriesOf(t, option(t, c))[0]["data"]
	want := []interface{}{[]interface{}{1.0, nil}, []interface{}{2.0, nil}, []interface{}{3.0, 1.0}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("data %v, want %v", got, want)
	}
}

func TestLinesScatter(t *testing.T) {
	c, err := Lines(LineData{Scatter: true, Series: []Series{{"", []Point{{0, 1}}}, {"m", []Point{{1, 2}}}}})
	if err != nil {
		t.Fatal(err)
	}
	series := seriesOf(t, option(t, c))
	if len(series) != 2 || series[0]["type"] != "scatter" || series[0]["name"] != "series 1" || series[1]["name"] != "m" {
		t.Errorf("series %v", series)
	}
}

func TestXYErrors(t *testing.T) {
	tests := []struct {
		name string
		data LineData
		want string
	}{
		{"NaN x", LineData{Series: []Series{{"s", []Point{{math.NaN(), 1}}}}}, `series "s", point 0: x is NaN`},
		{"Inf x", LineData{Series: []Series{{"s", []Point{{0, 1}, {math.Inf(1), 1}}}}}, `series "s", point 1: x is +Inf`},
		{"empty phase", LineData{Phases: []Phase{{"p", 5, 5}}}, `phase 0 ("p")`},
		{"reversed phase", LineData{Phases: []Phase{{"ok", 0, 1}, {"q", 9, 3}}}, `phase 1 ("q")`},
		{"negative size", LineData{Size: Size{Width: -1}}, "negative size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Lines(tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestBars(t *testing.T) {
	d := BarData{
		Title:      "mix",
		Categories: []string{"p1", "p2", "p3"},
		Series:     []Values{{"counselchat", []float64{3, 1, 0}}, {"annomi", []float64{1, 1, 0}}},
	}
	tests := []struct {
		name    string
		build   func(BarData) (*Chart, error)
		shares  bool
		want    [][]interface{}
		stacked bool
	}{
		{"mix counts", MixBars, false, [][]interface{}{{3.0, 1.0, 0.0}, {1.0, 1.0, 0.0}}, true},
		// Each phase's stack sums to 100; an empty phase stays 0.
		{"mix shares", MixBars, true, [][]interface{}{{75.0, 50.0, 0.0}, {25.0, 50.0, 0.0}}, true},
		// Each group's distribution sums to 100.
		{"grouped shares", GroupedBars, true, [][]interface{}{{75.0, 25.0, 0.0}, {50.0, 50.0, 0.0}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := d
			d.Shares = tt.shares
			c, err := tt.build(d)
			if err != nil {
				t.Fatal(err)
			}
			o := option(t, c)
			series := seriesOf(t, o)
			for i, s := range series {
				if !reflect.DeepEqual(s["data"], tt.want[i]) {
					t.Errorf("series %d data %v, want %v", i, s["data"], tt.want[i])
				}
				if _, stacked := s["stack"]; stacked != tt.stacked {
					t.Errorf("series %d stacked=%v, want %v", i, stacked, tt.stacked)
				}
			}
			if got := firstAxis(t, o, "xAxis")["data"]; !reflect.DeepEqual(got, []interface{}{"p1", "p2", "p3"}) {
				t.Errorf("categories %v", got)
			}
		})
	}
}

func TestBarsHorizontal(t *testing.T) {
	c, err := GroupedBars(BarData{Horizontal: true, Categories: []string{"a", "b"}, Series: []Values{{"g", []float64{1, 2}}}})
	if err != nil {
		t.Fatal(err)
	}
	o := option(t, c)
	if y := firstAxis(t, o, "yAxis"); y["type"] != "category" || !reflect.DeepEqual(y["data"], []interface{}{"a", "b"}) {
		t.Errorf("horizontal bars: y axis %v", y)
	}
	if x := firstAxis(t, o, "xAxis"); x["type"] != "value" || x["data"] != nil {
		t.Errorf("horizontal bars: x axis %v", x)
	}
}

func TestBarsManyCategoriesTiltLabels(t *testing.T) {
	cats := []string{"a", "b", "c", "d", "e", "f", "g"}
	c, err := GroupedBars(BarData{XName: "technique", Categories: cats, Series: []Values{{"g", make([]float64, len(cats))}}})
	if err != nil {
		t.Fatal(err)
	}
	x := firstAxis(t, option(t, c), "xAxis")
	if x["axisLabel"].(map[string]interface{})["rotate"] != 30.0 || x["nameLocation"] != "end" {
		t.Errorf("x axis %v: want tilted labels and the name at the end", x)
	}
}

func TestBarErrors(t *testing.T) {
	tests := []struct {
		name string
		data BarData
		want string
	}{
		{"no series", BarData{Title: "t", Categories: []string{"a"}}, `bar chart "t" has no series`},
		{"short row", BarData{Categories: []string{"a", "b"}, Series: []Values{{"s", []float64{1}}}}, `bar series "s" has 1 values for 2 categories`},
		{"NaN", BarData{Categories: []string{"a"}, Series: []Values{{"s", []float64{math.NaN()}}}}, `bar series "s", category "a": invalid value NaN`},
		{"negative share", BarData{Shares: true, Categories: []string{"a"}, Series: []Values{{"s", []float64{-1}}}}, `category "a": invalid value -1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, build := range []func(BarData) (*Chart, error){MixBars, GroupedBars} {
				_, err := build(tt.data)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("error %v, want one containing %q", err, tt.want)
				}
			}
		})
	}
}

func TestFromCounts(t *testing.T) {
	cats, series := FromCounts(map[string]map[string]int{
		"low":  {"question": 4, "other": 1},
		"high": {"reflection": 7, "question": 2},
	})
	if want := []string{"other", "question", "reflection"}; !reflect.DeepEqual(cats, want) {
		t.Errorf("categories %v, want %v", cats, want)
	}
	want := []Values{{"high", []float64{0, 2, 7}}, {"low", []float64{1, 4, 0}}}
	if !reflect.DeepEqual(series, want) {
		t.Errorf("series %v, want %v", series, want)
	}
}

func TestHeatMap(t *testing.T) {
	c, err := HeatMap(HeatMapData{
		Title: "topics", Rows: []string{"r0", "r1"}, Columns: []string{"c0", "c1", "c2"},
		Values: [][]float64{{-2, 0, 3}, {math.NaN(), 1, 0}}, ShowValues: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	o := option(t, c)
	vm := o["visualMap"].(map[string]interface{})
	if vm["min"] != -2.0 || vm["max"] != 3.0 {
		t.Errorf("visual map [%v, %v], want [-2, 3]", vm["min"], vm["max"])
	}
	data := seriesOf(t, o)[0]["data"].([]interface{})
	if len(data) != 5 {
		t.Errorf("%d cells, want 5 (the NaN cell left out)", len(data))
	}
	if !reflect.DeepEqual(data[0], []interface{}{0.0, 0.0, -2.0}) || !reflect.DeepEqual(data[3], []interface{}{1.0, 1.0, 1.0}) {
		t.Errorf("cells %v: want [column, row, value]", data)
	}
	if got := firstAxis(t, o, "yAxis")["data"]; !reflect.DeepEqual(got, []interface{}{"r0", "r1"}) {
		t.Errorf("rows %v", got)
	}
	if got := firstAxis(t, o, "xAxis")["data"]; !reflect.DeepEqual(got, []interface{}{"c0", "c1", "c2"}) {
		t.Errorf("columns %v", got)
	}
	// One constant value still gives a usable scale.
	c, err = HeatMap(HeatMapData{Rows: []string{"r"}, Columns: []string{"c"}, Values: [][]float64{{0}}})
	if err != nil {
		t.Fatal(err)
	}
	if vm := option(t, c)["visualMap"].(map[string]interface{}); vm["min"] != 0.0 || vm["max"] != 1.0 {
		t.Errorf("constant heat map scale [%v, %v], want [0, 1]", vm["min"], vm["max"])
	}
}

func TestHeatMapErrors(t *testing.T) {
	tests := []struct {
		name string
		data HeatMapData
		want string
	}{
		{"rows", HeatMapData{Title: "h", Rows: []string{"a", "b"}, Values: [][]float64{{1}}}, "1 rows of values for 2 row names"},
		{"columns", HeatMapData{Rows: []string{"a"}, Columns: []string{"x", "y"}, Values: [][]float64{{1}}}, `row "a" has 1 values for 2 columns`},
		{"Inf", HeatMapData{Rows: []string{"a"}, Columns: []string{"x"}, Values: [][]float64{{math.Inf(-1)}}}, `row "a", column "x": value -Inf`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := HeatMap(tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestHistogram(t *testing.T) {
	c, err := Histogram(HistogramData{
		Samples: []Sample{{"a", []float64{1, 1, 2, 3}}, {"b", []float64{3, 3}}},
		Binning: Binning{Width: 1}, Percent: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	o := option(t, c)
	if got := firstAxis(t, o, "xAxis")["data"]; !reflect.DeepEqual(got, []interface{}{"1", "2", "3"}) {
		t.Errorf("bin labels %v, want integer labels", got)
	}
	series := seriesOf(t, o)
	if !reflect.DeepEqual(series[0]["data"], []interface{}{50.0, 25.0, 25.0}) || !reflect.DeepEqual(series[1]["data"], []interface{}{0.0, 0.0, 100.0}) {
		t.Errorf("percentages %v, %v", series[0]["data"], series[1]["data"])
	}
	if series[1]["barGap"] != "-100%" {
		t.Error("two samples are not overlaid")
	}

	c, err = Histogram(HistogramData{Samples: []Sample{{"x", []float64{0, 0.25, 0.5}}}, Binning: Binning{Width: 0.25}})
	if err != nil {
		t.Fatal(err)
	}
	if got := firstAxis(t, option(t, c), "xAxis")["data"]; !reflect.DeepEqual(got, []interface{}{"0–0.25", "0.25–0.5", "0.5–0.75"}) {
		t.Errorf("bin labels %v", got)
	}
	if _, err := Histogram(HistogramData{Title: "h"}); err == nil {
		t.Error("a histogram without samples gave no error")
	}
}

func TestComputeBins(t *testing.T) {
	tests := []struct {
		name    string
		values  []float64
		binning Binning
		edges   []float64 // Lo of each bin, then Hi of the last
		counts  []int
	}{
		{"fixed width aligned", []float64{3, 7, 10, 10.5}, Binning{Width: 5}, []float64{0, 5, 10, 15}, []int{1, 1, 2}},
		{"count, max in last bin", []float64{0, 1, 2, 3, 4}, Binning{Count: 2}, []float64{0, 2, 4}, []int{2, 3}},
		{"count, one value", []float64{7, 7}, Binning{Count: 3}, []float64{7, 8, 9, 10}, []int{2, 0, 0}},
		{"FD one value", []float64{5, 5, 5}, Binning{}, []float64{5, 6}, []int{3}},
		// 1..8: IQR = 6.25-2.75 = 3.5, width 2·3.5/2 = 3.5 → nice 5 (integers: 5).
		{"FD integers", []float64{1, 2, 3, 4, 5, 6, 7, 8}, Binning{}, []float64{0, 5, 10}, []int{4, 4}},
		// IQR 0 with spread: Sturges, ceil(log2 5)+1 = 4 bins over 100 → 25.
		{"FD zero IQR", []float64{0, 50, 50, 50, 100}, Binning{}, []float64{0, 25, 50, 75, 100, 125}, []int{1, 0, 3, 0, 1}},
		// Heavy tail: capped at 10 bins, width nice(1000/9)=200 as integers.
		{"FD capped", append(make([]float64, 50), 1000), Binning{MaxBins: 10}, []float64{0, 200, 400, 600, 800, 1000, 1200}, []int{50, 0, 0, 0, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bins, err := ComputeBins([]Sample{{"s", tt.values}}, tt.binning)
			if err != nil {
				t.Fatal(err)
			}
			var edges []float64
			var counts []int
			for _, b := range bins {
				edges = append(edges, b.Lo)
				counts = append(counts, b.Counts[0])
			}
			edges = append(edges, bins[len(bins)-1].Hi)
			if !reflect.DeepEqual(edges, tt.edges) || !reflect.DeepEqual(counts, tt.counts) {
				t.Errorf("edges %v counts %v, want %v %v", edges, counts, tt.edges, tt.counts)
			}
		})
	}
}

func TestComputeBinsFreedmanDiaconisNonIntegers(t *testing.T) {
	values := make([]float64, 1000)
	for i := range values {
		values[i] = float64(i) / 1000 // uniform on [0, 1): IQR 0.4995, width 0.0999 → 0.1
	}
	bins, err := ComputeBins([]Sample{{"u", values}}, Binning{})
	if err != nil {
		t.Fatal(err)
	}
	if len(bins) != 10 || math.Abs(bins[0].Hi-bins[0].Lo-0.1) > 1e-12 {
		t.Errorf("%d bins of width %v, want 10 of 0.1", len(bins), bins[0].Hi-bins[0].Lo)
	}
	for _, b := range bins {
		if b.Counts[0] != 100 {
			t.Errorf("bin [%v, %v) holds %d, want 100", b.Lo, b.Hi, b.Counts[0])
		}
	}
}

func TestComputeBinsErrors(t *testing.T) {
	tests := []struct {
		name    string
		samples []Sample
		binning Binning
		want    string
	}{
		{"no values", []Sample{{"a", nil}}, Binning{}, "no values"},
		{"NaN", []Sample{{"a", []float64{1}}, {"b", []float64{2, math.NaN()}}}, Binning{}, `sample "b", value 1: NaN`},
		{"negative width", []Sample{{"a", []float64{1}}}, Binning{Width: -1}, "invalid binning"},
		{"too many bins", []Sample{{"a", []float64{0, 1e9}}}, Binning{Width: 1}, "bins over"},
		{"huge range", []Sample{{"a", []float64{-1e308, 1e308}}}, Binning{}, "bins over"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ComputeBins(tt.samples, tt.binning)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func FuzzComputeBins(f *testing.F) {
	f.Add(1.0, 2.0, 3.0, 10.0, 0.0, 0)
	f.Add(0.5, 0.5, 0.5, 0.5, 0.0, 0)
	f.Add(-3.0, 1e6, 2.0, 7.0, 0.5, 0)
	f.Add(1.0, 2.0, 3.0, 4.0, 0.0, 7)
	f.Fuzz(func(t *testing.T, a, b, c, d, width float64, count int) {
		values := []float64{a, b, c, d}
		bins, err := ComputeBins([]Sample{{"x", values[:2]}, {"y", values[2:]}}, Binning{Width: width, Count: count % 50})
		if err != nil {
			return
		}
		total := 0
		moderate := width == 0 || width >= 1e-6
		for i, bin := range bins {
			if bin.Lo > bin.Hi || (i > 0 && bins[i-1].Hi != bin.Lo) {
				t.Fatalf("bins %d-%d are not contiguous and ordered: %v", i-1, i, bins[max(i-1, 0):i+1])
			}
			// Only far from 0, or with a tiny width, can float64 run out of digits.
			if !(bin.Lo < bin.Hi) && moderate && math.Abs(bin.Lo) < 1e6 {
				t.Fatalf("bin %d [%v, %v) is empty", i, bin.Lo, bin.Hi)
			}
			total += bin.Counts[0] + bin.Counts[1]
		}
		if total != len(values) {
			t.Fatalf("bins hold %d values, want %d", total, len(values))
		}
	})
}

func TestWrap(t *testing.T) {
	pie := ec.NewPie()
	pie.SetGlobalOptions(ec.WithTitleOpts(opts.Title{Title: "pie"}))
	pie.AddSeries("share", []opts.PieData{{Name: "a", Value: 1}, {Name: "b", Value: 2}})
	c, err := Wrap(pie, Size{Width: 400})
	if err != nil {
		t.Fatal(err)
	}
	if o := option(t, c); o["animation"] != false || seriesOf(t, o)[0]["type"] != "pie" {
		t.Errorf("wrapped pie option %v", o)
	}
	if c.Size() != (Size{400, DefaultHeight}) {
		t.Errorf("size %v", c.Size())
	}

	line := ec.NewLine()
	line.SetGlobalOptions(ec.WithTooltipOpts(opts.Tooltip{Formatter: types.FuncStr(opts.FuncOpts("function (p) { return p.name; }"))}))
	if _, err := Wrap(line, Size{}); err == nil || !strings.Contains(err.Error(), "JavaScript function") {
		t.Errorf("Wrap of a chart with a JS function: error %v", err)
	}
}

func TestChartIDIsContentDerived(t *testing.T) {
	build := func(title string, size Size) *Chart {
		c, err := Lines(LineData{Title: title, Series: []Series{{"y", []Point{{0, 1}}}}, Size: size})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if build("a", Size{}).ID() != build("a", Size{}).ID() {
		t.Error("the same chart got two IDs")
	}
	if build("a", Size{}).ID() == build("b", Size{}).ID() {
		t.Error("different titles got one ID")
	}
	if build("a", Size{}).ID() == build("a", Size{Height: 300}).ID() {
		t.Error("different sizes got one ID")
	}
}
