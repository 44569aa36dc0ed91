package curriculum

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/export"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
)

func TestLossTrend(t *testing.T) {
	for _, tc := range []struct {
		name       string
		losses     []stepLoss
		start, end float64
		fell, none bool
	}{
		{name: "no steps", none: true},
		{name: "one step has no trend", losses: []stepLoss{{3, 10}}, start: 3, end: 3},
		{name: "two steps", losses: []stepLoss{{3, 10}, {2, 10}}, start: 3, end: 2, fell: true},
		{name: "rising", losses: []stepLoss{{2, 1}, {2.5, 1}, {3, 1}}, start: 2, end: 3},
		{
			name: "quarters weighted by target tokens",
			// First quarter (2 steps): (4·1 + 2·3)/4 = 2.5; last: (1·3 + 3·1)/4 = 1.5.
			losses: []stepLoss{{4, 1}, {2, 3}, {9, 1}, {9, 1}, {9, 1}, {9, 1}, {1, 3}, {3, 1}},
			start:  2.5, end: 1.5, fell: true,
		},
		{name: "unweighted when no step has units", losses: []stepLoss{{4, 0}, {2, 0}}, start: 4, end: 2, fell: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start, end, fell := lossTrend(tc.losses)
			if tc.none {
				if start != nil || end != nil || fell {
					t.Errorf("got %v %v %v, want no trend", start, end, fell)
				}
				return
			}
			if start == nil || end == nil || math.Abs(*start-tc.start) > 1e-12 || math.Abs(*end-tc.end) > 1e-12 || fell != tc.fell {
				t.Errorf("got start %v end %v fell %v, want %v %v %v", deref(start), deref(end), fell, tc.start, tc.end, tc.fell)
			}
		})
	}
}

func deref(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

func TestTrainLosses(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, MetricsFileName)
	log := `{"kind":"train","step":1,"loss":3.5,"step_weight":7}
{"kind":"eval","step":1,"eval_loss":3.1}

{"kind":"train","step":2,"loss":null,"skipped":true,"step_weight":0}
{"kind":"train","step":3,"loss":2.5,"step_weight":5}
`
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := trainLosses(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != (stepLoss{3.5, 7}) || got[1] != (stepLoss{2.5, 5}) {
		t.Errorf("losses %v", got)
	}
	if err := os.WriteFile(path, []byte(log+"{\"kind\":\"train\",\"loss\":\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := trainLosses(path); err == nil || !strings.Contains(err.Error(), MetricsFileName+":6") {
		t.Errorf("truncated line: got %v, want an error naming the file and line 6", err)
	}
}

func TestSummaryTable(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	s := &Summary{
		RunDir: "runs/x", Adapter: stage.AdapterDirName,
		Phases: []PhaseSummary{
			{Name: "counselchat_foundation", Mix: &Mix{100, 0}, Steps: 4, TrainLossStart: f(9), TrainLossEnd: f(8.5), LossFell: true,
				EvalLoss: map[string]float64{"counselchat": 8.7, "annomi": 8.9}},
			{Name: "mi_mastery", Mix: &Mix{0, 100}, Steps: 4, TrainLossStart: f(8.5), TrainLossEnd: f(8.6),
				EvalLoss: map[string]float64{"counselchat": 8.8, "annomi": 8.4}},
		},
		DPO:   &DPOSummary{Steps: 2, TrainLossStart: f(0.69), TrainLossEnd: f(0.5), LossFell: true},
		Merge: &export.MergeResult{Dir: MergedDirName, Tensors: 10, MergedTensors: 4, DType: "float32", MaxLogitDiff: f(1e-6)},
	}
	var b bytes.Buffer
	s.Table(&b)
	out := b.String()
	for _, want := range []string{"eval annomi", "eval counselchat", "100:0", "0:100", "9.0000 →  8.5000 fell", "8.5000 →  8.6000 flat/up",
		"8.4000", "dpo", "runs/x/adapter", "runs/x/merged (10 tensors, 4 merged, float32, reload max |Δlogit| 1e-06)"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// FuzzTrainLosses: any metrics log either parses or gives an error naming
// the file, and the trend of what parses is computed without panicking.
func FuzzTrainLosses(f *testing.F) {
	f.Add([]byte(`{"kind":"train","step":1,"loss":3.5,"step_weight":7}` + "\n" + `{"kind":"eval","eval_loss":1}`))
	f.Add([]byte(`{"kind":"train","loss":null,"skipped":true}` + "\n\n"))
	f.Add([]byte(`{"kind":"train","loss":"x"}`))
	f.Add([]byte("[1,2]\n{"))
	path := filepath.Join(f.TempDir(), MetricsFileName)
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		losses, err := trainLosses(path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		start, end, fell := lossTrend(losses)
		if (start == nil) != (len(losses) == 0) || (end == nil) != (start == nil) || (fell && len(losses) < 2) {
			t.Fatalf("trend %v %v %v of %d losses", start, end, fell, len(losses))
		}
	})
}
