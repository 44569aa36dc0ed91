package charts

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	ec "github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// Limits on the number of bins, so that a bad width cannot produce a huge page.
const (
	defaultMaxBins = 100
	hardMaxBins    = 10000
)

// Binning chooses the bins of a histogram. Its zero value uses the Freedman–Diaconis
// rule.
type Binning struct {
	// Width, if > 0, gives fixed-width bins aligned to multiples of Width.
	Width float64
	// Count, if > 0 (and Width is 0), splits [min, max] into Count equal bins.
	Count int
	// MaxBins caps the Freedman–Diaconis rule (default 100): heavy tails would
	// otherwise give thousands of tiny bins.
	MaxBins int
}

// Sample is a named set of observations, such as the lengths of therapist replies.
type Sample struct {
	Name   string
	Values []float64
}

// Bin is the half-open interval [Lo, Hi) with the number of values of each sample
// that fall into it (the last bin also holds values equal to its Hi).
type Bin struct {
	Lo, Hi float64
	Counts []int
}

// ComputeBins bins all samples on one shared set of bins, so that overlaid histograms
// compare bin by bin.
//
// The Freedman–Diaconis width is 2·IQR·n^(-1/3) over all values pooled, rounded up
// to 1, 2, 2.5 or 5 times a power of ten (and up to an integer for integer data, such
// as lengths); where the IQR is 0 it falls back to Sturges' bin count.
func ComputeBins(samples []Sample, b Binning) ([]Bin, error) {
	if b.Width < 0 || !finite(b.Width) || b.Count < 0 || b.MaxBins < 0 {
		return nil, fmt.Errorf("charts: invalid binning %+v", b)
	}
	var all []float64
	for _, s := range samples {
		for i, v := range s.Values {
			if !finite(v) {
				return nil, fmt.Errorf("charts: sample %q, value %d: %v", s.Name, i, v)
			}
		}
		all = append(all, s.Values...)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("charts: histogram has no values")
	}
	slices.Sort(all)
	lo, hi := all[0], all[len(all)-1]

	var start, width, n float64
	switch {
	case b.Width > 0:
		width = b.Width
		start = math.Floor(lo/width) * width
		n = math.Floor((hi-start)/width) + 1
	case b.Count > 0:
		start, n = lo, float64(b.Count)
		width = (hi - lo) / n
		if width == 0 {
			width = 1
		}
	default:
		width = freedmanDiaconisWidth(all)
		maxBins := b.MaxBins
		if maxBins == 0 {
			maxBins = defaultMaxBins
		}
		maxBins = max(maxBins, 2)
		if (hi-lo)/width >= float64(maxBins) {
			width = niceCeil((hi - lo) / float64(maxBins-1))
			if isIntegral(all) {
				width = math.Ceil(width)
			}
		}
		start = math.Floor(lo/width) * width
		n = math.Floor((hi-start)/width) + 1
	}
	if !(n <= hardMaxBins) { // also catches NaN from extreme ranges
		return nil, fmt.Errorf("charts: binning %+v gives %v bins over [%v, %v] (at most %d)", b, n, lo, hi, hardMaxBins)
	}
	// Edges are rounded to 12 significant digits, so that start + i·width lands on
	// the decimal a reader expects (0.3, not 0.30000000000000004), and values are
	// placed by comparing with those edges: a value equal to an edge opens its bin.
	edges := make([]float64, int(n)+1)
	rounded := true
	for i := range edges {
		edges[i] = roundEdge(start + float64(i)*width)
		rounded = rounded && (i == 0 || edges[i] > edges[i-1])
	}
	if !rounded { // bins too narrow for 12 digits at this magnitude
		for i := range edges {
			edges[i] = start + float64(i)*width
		}
	}
	bins := make([]Bin, int(n))
	for i := range bins {
		bins[i] = Bin{Lo: edges[i], Hi: edges[i+1], Counts: make([]int, len(samples))}
	}
	for si, s := range samples {
		for _, v := range s.Values {
			// The first bin whose Hi exceeds v; the last bin also takes its Hi.
			i, _ := slices.BinarySearchFunc(bins, v, func(b Bin, v float64) int {
				if b.Hi <= v {
					return -1
				}
				return 1
			})
			bins[min(i, len(bins)-1)].Counts[si]++
		}
	}
	return bins, nil
}

// roundEdge rounds a bin edge to 12 significant digits.
func roundEdge(x float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 12, 64), 64)
	if err != nil || !finite(r) {
		return x
	}
	return r
}

// freedmanDiaconisWidth returns the rule's bin width for sorted values, made nice.
func freedmanDiaconisWidth(sorted []float64) float64 {
	n := float64(len(sorted))
	iqr := quantile(sorted, 0.75) - quantile(sorted, 0.25)
	var width float64
	if iqr > 0 {
		width = 2 * iqr / math.Cbrt(n)
	} else {
		span := sorted[len(sorted)-1] - sorted[0]
		if span == 0 {
			return 1
		}
		width = span / (math.Ceil(math.Log2(n)) + 1) // Sturges
	}
	width = niceCeil(width)
	if isIntegral(sorted) {
		width = math.Max(1, math.Ceil(width))
	}
	return width
}

// quantile interpolates linearly between order statistics (R's type 7).
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	i := int(math.Floor(pos))
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	frac := pos - float64(i)
	return sorted[i] + frac*(sorted[i+1]-sorted[i])
}

// niceCeil rounds w > 0 up to 1, 2, 2.5 or 5 times a power of ten.
func niceCeil(w float64) float64 {
	exp := math.Pow(10, math.Floor(math.Log10(w)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*exp >= w*(1-1e-12) {
			return m * exp
		}
	}
	return 10 * exp
}

func isIntegral(values []float64) bool {
	for _, v := range values {
		if v != math.Trunc(v) {
			return false
		}
	}
	return true
}

// HistogramData describes one histogram or several overlaid on shared bins.
type HistogramData struct {
	Title, Subtitle string
	XName, YName    string
	Samples         []Sample
	Binning         Binning
	// Percent plots each bin as a percentage of its sample's size, to compare samples
	// of different sizes.
	Percent bool
	Size    Size
}

// Histogram bins the samples in Go (see ComputeBins) and draws them as bars; several
// samples overlay each other, half transparent.
func Histogram(d HistogramData) (*Chart, error) {
	if len(d.Samples) == 0 {
		return nil, fmt.Errorf("charts: histogram %q has no samples", d.Title)
	}
	bins, err := ComputeBins(d.Samples, d.Binning)
	if err != nil {
		return nil, fmt.Errorf("histogram %q: %w", d.Title, err)
	}
	yName := d.YName
	if yName == "" {
		yName = "count"
		if d.Percent {
			yName = "%"
		}
	}
	labels := make([]string, len(bins))
	integerBins := true
	for _, b := range bins {
		integerBins = integerBins && b.Lo == math.Trunc(b.Lo) && b.Hi-b.Lo == 1
	}
	for i, b := range bins {
		if integerBins {
			labels[i] = formatNumber(b.Lo) // a bin [5, 6) of integer data holds only 5
		} else {
			labels[i] = formatNumber(b.Lo) + "–" + formatNumber(b.Hi)
		}
	}

	bar := ec.NewBar()
	f := frame{title: d.Title, subtitle: d.Subtitle, xName: d.XName, yName: yName, rotateX: len(bins) > 12 && !integerBins}
	bar.SetGlobalOptions(f.globalOpts("axis")...)
	bar.SetGlobalOptions(
		ec.WithXAxisOpts(f.xAxis("category")),
		ec.WithYAxisOpts(opts.YAxis{Type: "value", Name: yName}),
	)
	bar.SetXAxis(labels)
	overlaid := len(d.Samples) > 1
	for si, s := range d.Samples {
		row := make([]float64, len(bins))
		for i, b := range bins {
			row[i] = float64(b.Counts[si])
			if d.Percent && len(s.Values) > 0 {
				row[i] = math.Round(row[i]/float64(len(s.Values))*10000) / 100
			}
		}
		bar.AddSeries(s.Name, nil, ec.WithSeriesOpts(func(ss *ec.SingleSeries) {
			ss.Data = row
			ss.BarCategoryGap = "5%"
			if overlaid {
				ss.BarGap = "-100%" // draw the samples on top of each other
				ss.ItemStyle = &opts.ItemStyle{Opacity: opts.Float(0.55)}
			}
		}))
	}
	return Wrap(bar, d.Size)
}

// formatNumber prints a bin edge briefly: 10 significant digits hide the rounding
// noise of start + i·width (0.30000000000000004 prints as 0.3).
func formatNumber(v float64) string {
	return strconv.FormatFloat(v, 'g', 10, 64)
}
