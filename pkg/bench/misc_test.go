package bench

import (
	"encoding/json"
	"math"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want Timing
	}{
		{nil, Timing{}},
		{[]float64{2}, Timing{N: 1, Median: 2, Mean: 2, Min: 2, Max: 2}},
		{[]float64{3, 1, 2}, Timing{N: 3, Median: 2, Mean: 2, Min: 1, Max: 3}},
		{[]float64{4, 1, 3, 2}, Timing{N: 4, Median: 2.5, Mean: 2.5, Min: 1, Max: 4}},
	} {
		in := slices.Clone(tc.in)
		if got := Summarize(tc.in); got != tc.want {
			t.Errorf("Summarize(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
		if !slices.Equal(in, tc.in) {
			t.Errorf("Summarize reordered its input")
		}
	}
}

func TestSyntheticExamples(t *testing.T) {
	for _, kind := range []string{DataRandom, DataRepeat} {
		a, err := SyntheticExamples(kind, 3, 100, 50, 9)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := SyntheticExamples(kind, 3, 100, 50, 9)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: not deterministic", kind)
		}
		for _, ex := range a {
			if len(ex.IDs) != 100 || len(ex.LossMask) != 100 || slices.Contains(ex.LossMask, false) {
				t.Fatalf("%s: example %+v", kind, ex)
			}
			for _, id := range ex.IDs {
				if id < 0 || id >= 50 {
					t.Fatalf("%s: id %d outside the vocabulary", kind, id)
				}
			}
		}
		if kind == DataRepeat {
			ids := a[0].IDs
			found := false
			for p := 8; p <= 64 && !found; p++ {
				found = slices.Equal(ids[p:], ids[:len(ids)-p])
			}
			if !found {
				t.Errorf("repeat data has no period in [8, 64]: %v", ids)
			}
		}
	}
	for _, bad := range []struct {
		kind          string
		n, seq, vocab int
	}{{"zipf", 1, 10, 10}, {DataRandom, 0, 10, 10}, {DataRandom, 1, 1, 10}, {DataRandom, 1, 10, 1}} {
		if _, err := SyntheticExamples(bad.kind, bad.n, bad.seq, bad.vocab, 0); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestReadMemorySimpleGo(t *testing.T) {
	m := ReadMemory(testBackend(t))
	if m.DeviceKnown || !strings.Contains(m.DeviceNote, "not XLA") {
		t.Errorf("SimpleGo memory %+v", m)
	}
	if runtime.GOOS == "linux" && m.HostPeakRSS <= 0 {
		t.Errorf("host peak RSS %d on linux", m.HostPeakRSS)
	}
	if m := ReadMemory(nil); m.DeviceKnown {
		t.Error("nil backend has device memory")
	}
}

func TestGroupDigits(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 4460000000: "4,460,000,000", -12345: "-12,345"} {
		if got := groupDigits(n); got != want {
			t.Errorf("groupDigits(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestJSONWithNonFiniteValues(t *testing.T) {
	data, err := json.Marshal(ParityCheck{Name: "logits", Metric: "max_abs", Value: math.Inf(1), Tolerance: 1e-4})
	if err != nil || !strings.Contains(string(data), `"value":null`) || !strings.Contains(string(data), `"name":"logits"`) {
		t.Errorf("ParityCheck JSON %s, %v", data, err)
	}
	r := NumericsReport{Kind: "numerics", RelDiff: math.NaN(), Float32: NumericsRun{DType: "float32", Losses: []float64{1, math.NaN()}, FinalLoss: math.NaN()}}
	data, err = json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"rel_diff":null`, `"losses":[1,null]`, `"final_loss":null`, `"kind":"numerics"`, `"dtype":"float32"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("NumericsReport JSON lacks %s: %s", want, data)
		}
	}
}
