package train

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadMetricsReadsWhatTheLogWrites: the records a run writes read back
// with their kinds, losses (non-finite as nil) and evaluations.
func TestReadMetricsReadsWhatTheLogWrites(t *testing.T) {
	var buf bytes.Buffer
	for _, rec := range []any{
		StepMetrics{Phase: "p", Step: 1, Loss: 2.5, StepWeight: 10, Tokens: 100, Metrics: map[string]float64{"acc": 0.5}},
		StepMetrics{Step: 2, Loss: math.NaN(), Skipped: true, SkipReason: "nan"},
		EvalMetrics{Step: 2, Set: "validation", Loss: 1.5, Metrics: map[string]float64{"margin": 0.1}},
	} {
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(append(b, '\n'))
	}
	buf.WriteString("\n")
	path := filepath.Join(t.TempDir(), MetricsFileName)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, err := ReadMetrics(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	if r := recs[0]; r.Kind != "train" || r.Phase != "p" || r.Step != 1 || r.Loss == nil || *r.Loss != 2.5 || r.StepWeight != 10 ||
		r.Tokens != 100 || r.Metrics["acc"] != 0.5 || !r.Applied() {
		t.Errorf("train record %+v", r)
	}
	if r := recs[1]; r.Loss != nil || !r.Skipped || r.Applied() {
		t.Errorf("skipped record %+v", r)
	}
	if r := recs[2]; r.Kind != "eval" || r.EvalSet != "validation" || r.EvalLoss == nil || *r.EvalLoss != 1.5 || r.EvalMetrics["margin"] != 0.1 || r.Applied() {
		t.Errorf("eval record %+v", r)
	}
	if err := os.WriteFile(path, []byte("{\"kind\":\"train\"}\n{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadMetrics(path); err == nil || !strings.Contains(err.Error(), path+":2:") {
		t.Errorf("malformed line: %v, want an error naming %s:2", err, path)
	}
}
