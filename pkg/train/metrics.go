package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/schollz/progressbar/v3"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/floats"
)

// MetricsFileName is the JSON-lines metrics log in the run directory.
const MetricsFileName = "metrics.jsonl"

// StepMetrics describes one optimizer step. It is written to the metrics
// log (one JSON object per line, "kind":"train") and passed to Config.OnStep.
type StepMetrics struct {
	Phase        string             `json:"phase,omitempty"`
	Step         int                `json:"step"` // 1-based: the number of optimizer steps taken
	TotalSteps   int                `json:"total_steps"`
	Epoch        float64            `json:"epoch"` // fractional position in the data
	Loss         float64            `json:"loss"`  // mean over the step's units (target tokens); NaN if non-finite
	LR           float64            `json:"lr"`
	GradNorm     float64            `json:"grad_norm"` // global norm before clipping
	Metrics      map[string]float64 `json:"metrics,omitempty"`
	StepTokens   int                `json:"step_tokens"`
	StepWeight   float64            `json:"step_weight"` // units in the loss (target tokens, pairs)
	TokensPerSec float64            `json:"tokens_per_sec"`
	Examples     int64              `json:"examples"` // cumulative
	Tokens       int64              `json:"tokens"`   // cumulative
	Elapsed      float64            `json:"elapsed_s"`
	HeapBytes    uint64             `json:"heap_bytes"` // Go runtime heap in use
	Skipped      bool               `json:"skipped,omitempty"`
	SkipReason   string             `json:"skip_reason,omitempty"`
}

// EvalMetrics describes one evaluation of one held-out set. It is written
// to the metrics log ("kind":"eval") and passed to Config.OnEval.
type EvalMetrics struct {
	Phase      string             `json:"phase,omitempty"`
	Step       int                `json:"step"`
	Set        string             `json:"eval_set"`
	Loss       float64            `json:"eval_loss"`
	Perplexity float64            `json:"eval_perplexity"` // exp(Loss)
	Metrics    map[string]float64 `json:"eval_metrics,omitempty"`
	Weight     float64            `json:"eval_weight"` // units in the loss (target tokens, pairs)
	Tokens     int64              `json:"eval_tokens"`
	Examples   int64              `json:"eval_examples"`
	Seconds    float64            `json:"eval_s"`
	Best       bool               `json:"best,omitempty"` // a new best on the set that selects checkpoints
}

// MarshalJSON writes the record with "kind":"train", and null for non-finite numbers.
func (m StepMetrics) MarshalJSON() ([]byte, error) {
	type plain StepMetrics
	return marshalRecord("train", plain(m))
}

// MarshalJSON writes the record with "kind":"eval", and null for non-finite numbers.
func (m EvalMetrics) MarshalJSON() ([]byte, error) {
	type plain EvalMetrics
	return marshalRecord("eval", plain(m))
}

// marshalRecord encodes the struct v as an object with a "kind" field added.
// JSON has no NaN or Inf, so non-finite floats (also inside float maps)
// become null; fields tagged omitempty are left out when zero.
func marshalRecord(kind string, v any) ([]byte, error) {
	out := map[string]any{"kind": kind}
	rv := reflect.ValueOf(v)
	rt := rv.Type()
	for i := range rt.NumField() {
		name, opts, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		field := rv.Field(i)
		if name == "" || name == "-" || (opts == "omitempty" && field.IsZero()) {
			continue
		}
		switch x := field.Interface().(type) {
		case float64:
			out[name] = floats.FiniteOrNil(x)
		case map[string]float64:
			m := make(map[string]any, len(x))
			for k, f := range x {
				m[k] = floats.FiniteOrNil(f)
			}
			out[name] = m
		default:
			out[name] = x
		}
	}
	return json.Marshal(out)
}

// progress wraps the terminal progress bar; a nil *progress is a no-op.
type progress struct {
	bar *progressbar.ProgressBar
}

func newProgress(w io.Writer, total, start int, phase string) *progress {
	if w == nil {
		return nil
	}
	desc := "train"
	if phase != "" {
		desc = phase
	}
	bar := progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("steps"),
		progressbar.OptionShowIts(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
	_ = bar.Set(start)
	return &progress{bar: bar}
}

func (p *progress) update(m StepMetrics) {
	if p == nil {
		return
	}
	p.bar.Describe(fmt.Sprintf("step %d loss %.4f lr %.2e", m.Step, m.Loss, m.LR))
	_ = p.bar.Set(m.Step)
}

// finish completes the bar, or leaves it where the run stopped.
func (p *progress) finish(complete bool) {
	if p == nil {
		return
	}
	if complete {
		_ = p.bar.Finish()
		return
	}
	_ = p.bar.Exit()
}

// isTerminal reports whether f is a character device (a terminal), without
// depending on a terminal library.
func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// metricsLog appends records to RUN_DIR/metrics.jsonl.
type metricsLog struct {
	f *os.File
}

// openMetricsLog opens the log for appending after dropping the records of
// steps after keepThrough (a resumed run replays them); keepThrough < 0
// starts an empty log.
func openMetricsLog(runDir string, keepThrough int) (*metricsLog, error) {
	path := filepath.Join(runDir, MetricsFileName)
	var kept []byte
	if keepThrough >= 0 {
		data, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("train: %w", err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
		for sc.Scan() {
			var rec struct {
				Step *int `json:"step"`
			}
			line := sc.Bytes()
			if json.Unmarshal(line, &rec) != nil || rec.Step == nil || *rec.Step > keepThrough {
				continue // a torn last line of a killed run, or a step that will be replayed
			}
			kept = append(append(kept, line...), '\n')
		}
	}
	if err := writeFileAtomic(path, kept); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return &metricsLog{f: f}, nil
}

// write appends one record as a line; a record is a single write, so a
// killed process leaves at most one torn line, which the next open drops.
func (l *metricsLog) write(record any) error {
	data, err := json.Marshal(record)
	if err != nil {
		return fmt.Errorf("train: metrics log: %w", err)
	}
	if _, err := l.f.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("train: metrics log: %w", err)
	}
	return nil
}

func (l *metricsLog) close() error {
	if l == nil || l.f == nil {
		return nil
	}
	return l.f.Close()
}

// Record is one line of a metrics log as read back (ReadMetrics): the
// fields of a StepMetrics ("kind":"train") or an EvalMetrics ("kind":"eval")
// that readers use. Losses written as null (non-finite) are nil.
type Record struct {
	Kind        string             `json:"kind"` // "train" or "eval"
	Phase       string             `json:"phase"`
	Step        int                `json:"step"`
	Loss        *float64           `json:"loss"`
	StepWeight  float64            `json:"step_weight"`
	Tokens      int64              `json:"tokens"` // cumulative
	Skipped     bool               `json:"skipped"`
	Metrics     map[string]float64 `json:"metrics"`
	EvalSet     string             `json:"eval_set"`
	EvalLoss    *float64           `json:"eval_loss"`
	EvalMetrics map[string]float64 `json:"eval_metrics"`
}

// Applied reports whether r is a training step whose loss was applied (a
// finite loss, not skipped).
func (r *Record) Applied() bool { return r.Kind == "train" && !r.Skipped && r.Loss != nil }

// ReadMetrics reads a metrics log (MetricsFileName), every record in file
// order; blank lines are skipped, and a malformed line is an error naming
// the file and line. A missing file is the os error as it is.
func ReadMetrics(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var recs []Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return recs, nil
}
