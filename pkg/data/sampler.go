package data

import (
	"fmt"
	"math"
	"strings"
)

// MixSource is one corpus of a mix with its relative weight (e.g. 80 and
// 20 for an 80:20 phase; weights need not sum to anything).
type MixSource[T any] struct {
	Name   string
	Items  []T
	Weight float64
}

// MixReport tells what a mix drew from each source.
type MixReport struct {
	Size    int               `json:"size"`
	Seed    uint64            `json:"seed"`
	Sources []MixSourceReport `json:"sources"`
}

// MixSourceReport is one source's share of a mix.
type MixSourceReport struct {
	Name      string  `json:"name"`
	Weight    float64 `json:"weight"`
	Available int     `json:"available"` // items in the source
	Drawn     int     `json:"drawn"`     // items drawn, repeats included
	// Epochs is Drawn/Available: above 1 the source was repeated (the
	// small corpus in a large target).
	Epochs float64 `json:"epochs"`
	// MaxRepeats is the most times any one item was drawn.
	MaxRepeats int `json:"max_repeats"`
}

// Mix draws size items from the sources in proportion to their weights
// (shares rounded by largest remainder) and returns them shuffled. Each
// source is drawn in epochs: every item once, in a fresh shuffled order,
// before any item repeats, so repeats are as even as possible. The result
// depends only on the sources, size and seed.
func Mix[T any](sources []MixSource[T], size int, seed uint64) ([]T, MixReport, error) {
	report := MixReport{Size: size, Seed: seed}
	if size < 0 {
		return nil, report, fmt.Errorf("mix size %d is negative", size)
	}
	if len(sources) == 0 {
		return nil, report, fmt.Errorf("mix has no sources")
	}
	weights := make([]float64, len(sources))
	var sum float64
	for i, s := range sources {
		if math.IsNaN(s.Weight) || math.IsInf(s.Weight, 0) || s.Weight < 0 {
			return nil, report, fmt.Errorf("mix source %q: weight %v must be a finite number >= 0", s.Name, s.Weight)
		}
		weights[i], sum = s.Weight, sum+s.Weight
	}
	if sum == 0 {
		return nil, report, fmt.Errorf("mix weights are all zero")
	}
	quotas := largestRemainder(size, weights)
	out := make([]T, 0, size)
	for i, s := range sources {
		if quotas[i] > 0 && len(s.Items) == 0 {
			return nil, report, fmt.Errorf("mix source %q has weight %v but no items", s.Name, s.Weight)
		}
		drawn := drawEpochs(len(s.Items), quotas[i], newRNG(seed, fmt.Sprintf("mix/%d/%s", i, s.Name)))
		for _, j := range drawn {
			out = append(out, s.Items[j])
		}
		sr := MixSourceReport{Name: s.Name, Weight: s.Weight, Available: len(s.Items), Drawn: quotas[i]}
		if len(s.Items) > 0 {
			sr.Epochs = float64(quotas[i]) / float64(len(s.Items))
			sr.MaxRepeats = (quotas[i] + len(s.Items) - 1) / len(s.Items)
		}
		report.Sources = append(report.Sources, sr)
	}
	r := newRNG(seed, "mix/order")
	r.shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out, report, nil
}

// drawEpochs returns k indices into n items: whole shuffled passes, then
// the head of one more shuffled pass.
func drawEpochs(n, k int, r *rng) []int {
	idx := make([]int, 0, k)
	perm := make([]int, n)
	for len(idx) < k {
		for i := range perm {
			perm[i] = i
		}
		r.shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		idx = append(idx, perm[:min(n, k-len(idx))]...)
	}
	return idx
}

// String prints the report as one line per source.
func (r MixReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mix of %d (seed %d):", r.Size, r.Seed)
	for _, s := range r.Sources {
		fmt.Fprintf(&b, "\n  %-12s weight %-6g drew %6d of %6d (%.2f epochs, max %d repeats)",
			s.Name, s.Weight, s.Drawn, s.Available, s.Epochs, s.MaxRepeats)
	}
	return b.String()
}
