// Package report renders a training run directory (an SFT, DPO, sequential
// or curriculum run) as one standalone, offline HTML page: the loss curves
// with the curriculum phases marked, the evaluation losses on every held-out
// set, the dataset mix per phase, the DPO rewards and margins, and the run's
// summary as tables. It reads only the files a run writes (metrics.jsonl and
// summary.json), so it works on a finished or an interrupted run.
package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/charts"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// Record is one line of a run's metrics.jsonl (train.ReadMetrics).
type Record = train.Record

// Run is what a run directory holds for the report.
type Run struct {
	Dir     string
	Records []Record       // every metrics.jsonl line, in file order
	Summary map[string]any // summary.json, nil when absent
}

// Load reads dir/metrics.jsonl and, if present, dir/summary.json. Without a
// top-level metrics.jsonl, the ones of dir/phases/*/ and dir/dpo/ are read in
// order (a run interrupted before its files were gathered).
func Load(dir string) (*Run, error) {
	r := &Run{Dir: dir}
	files := []string{filepath.Join(dir, "metrics.jsonl")}
	if _, err := os.Stat(files[0]); errors.Is(err, fs.ErrNotExist) {
		phases, _ := filepath.Glob(filepath.Join(dir, "phases", "*", "metrics.jsonl"))
		sort.Strings(phases)
		files = append(phases, filepath.Join(dir, "dpo", "metrics.jsonl"))
	}
	for _, f := range files {
		recs, err := readRecords(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		r.Records = append(r.Records, recs...)
	}
	if len(r.Records) == 0 {
		return nil, fmt.Errorf("report: %s holds no metrics.jsonl: is it a run directory?", dir)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	switch {
	case err == nil:
		if err := json.Unmarshal(raw, &r.Summary); err != nil {
			return nil, fmt.Errorf("report: %s: %w", filepath.Join(dir, "summary.json"), err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("report: %w", err)
	}
	return r, nil
}

// readRecords parses a metrics log; a malformed line is an error naming it.
func readRecords(path string) ([]Record, error) {
	recs, err := train.ReadMetrics(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("report: %w", err)
	}
	return recs, err
}

// stages are the run's consecutive phases, in the order they first appear,
// with each phase's steps placed after the previous phase's on one axis.
type stages struct {
	names  []string
	offset map[string]int
	phases []charts.Phase
}

func newStages(recs []Record, keep func(Record) bool) stages {
	s := stages{offset: map[string]int{}}
	last := map[string]int{}
	for _, r := range recs {
		if !keep(r) {
			continue
		}
		if _, ok := last[r.Phase]; !ok {
			s.names = append(s.names, r.Phase)
		}
		last[r.Phase] = max(last[r.Phase], r.Step)
	}
	start := 0
	for _, n := range s.names {
		s.offset[n] = start
		s.phases = append(s.phases, charts.Phase{Name: phaseLabel(n), Start: float64(start), End: float64(start + last[n])})
		start += last[n]
	}
	return s
}

func phaseLabel(name string) string {
	if name == "" {
		return "training"
	}
	return name
}

func (s stages) x(r Record) float64 { return float64(s.offset[r.Phase] + r.Step) }

func isDPO(r Record) bool { _, ok := r.Metrics["rewards/margins"]; return ok || r.Phase == "dpo" }

// Page builds the report page of a run.
func (r *Run) Page() (*charts.Page, error) {
	p := charts.NewPage("Training run " + filepath.Base(filepath.Clean(r.Dir)))
	p.Text(fmt.Sprintf("Run directory `%s`: %d logged records.", r.Dir, len(r.Records)))
	if err := r.addLosses(p); err != nil {
		return nil, err
	}
	if err := r.addMix(p); err != nil {
		return nil, err
	}
	if err := r.addDPO(p); err != nil {
		return nil, err
	}
	r.addSummary(p)
	return p, nil
}

// addLosses draws the SFT training loss and every held-out set's loss on one
// step axis, with the phases shaded.
func (r *Run) addLosses(p *charts.Page) error {
	sftRec := func(x Record) bool { return !isDPO(x) }
	st := newStages(r.Records, sftRec)
	train := charts.Series{Name: "train"}
	evals := map[string]*charts.Series{}
	var evalNames []string
	for _, x := range r.Records {
		if !sftRec(x) {
			continue
		}
		switch {
		case x.Kind == "train" && !x.Skipped && x.Loss != nil:
			train.Points = append(train.Points, charts.Point{X: st.x(x), Y: *x.Loss})
		case x.Kind == "eval" && x.EvalLoss != nil:
			s, ok := evals[x.EvalSet]
			if !ok {
				s = &charts.Series{Name: "eval " + x.EvalSet}
				evals[x.EvalSet] = s
				evalNames = append(evalNames, x.EvalSet)
			}
			s.Points = append(s.Points, charts.Point{X: st.x(x), Y: *x.EvalLoss})
		}
	}
	if len(train.Points) == 0 && len(evals) == 0 {
		return nil
	}
	series := []charts.Series{train}
	for _, n := range evalNames {
		series = append(series, *evals[n])
	}
	c, err := charts.Lines(charts.LineData{
		Title: "Supervised fine-tuning loss", Subtitle: "training loss per step and held-out losses, phases shaded",
		XName: "step", YName: "loss", Series: series, Phases: st.phases,
	})
	if err != nil {
		return fmt.Errorf("report: loss chart: %w", err)
	}
	p.Heading("Loss")
	p.Chart(c)
	return nil
}

// addMix draws the CounselChat:AnnoMI mix of each curriculum phase from
// summary.json.
func (r *Run) addMix(p *charts.Page) error {
	phases, _ := r.Summary["phases"].([]any)
	var cats []string
	var cc, am []float64
	for _, ph := range phases {
		m, _ := ph.(map[string]any)
		mix, _ := m["mix"].(map[string]any)
		if mix == nil {
			continue
		}
		name, _ := m["name"].(string)
		cats = append(cats, name)
		cc = append(cc, number(mix["counselchat"]))
		am = append(am, number(mix["annomi"]))
	}
	if len(cats) == 0 {
		return nil
	}
	c, err := charts.MixBars(charts.BarData{
		Title: "Dataset mix per phase", Subtitle: "CounselChat : AnnoMI", XName: "phase", YName: "share %",
		Categories: cats, Series: []charts.Values{{Name: "CounselChat", Values: cc}, {Name: "AnnoMI", Values: am}}, Shares: true,
	})
	if err != nil {
		return fmt.Errorf("report: mix chart: %w", err)
	}
	p.Heading("Curriculum")
	p.Chart(c)
	return nil
}

// addDPO draws the DPO rewards, margin and preference accuracy per step.
func (r *Run) addDPO(p *charts.Page) error {
	keys := []string{"rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies"}
	series := make([]charts.Series, len(keys))
	for i, k := range keys {
		series[i].Name = k
	}
	for _, x := range r.Records {
		if x.Kind != "train" || x.Skipped || !isDPO(x) {
			continue
		}
		for i, k := range keys {
			if v, ok := x.Metrics[k]; ok {
				series[i].Points = append(series[i].Points, charts.Point{X: float64(x.Step), Y: v})
			}
		}
	}
	if len(series[0].Points) == 0 {
		return nil
	}
	c, err := charts.Lines(charts.LineData{
		Title: "Preference tuning (DPO)", Subtitle: "rewards of chosen and rejected answers, margin, accuracy",
		XName: "step", YName: "value", Series: series,
	})
	if err != nil {
		return fmt.Errorf("report: DPO chart: %w", err)
	}
	p.Heading("DPO")
	p.Chart(c)
	return nil
}

// addSummary adds a per-phase table from summary.json.
func (r *Run) addSummary(p *charts.Page) {
	phases, _ := r.Summary["phases"].([]any)
	if len(phases) == 0 {
		return
	}
	t := charts.Table{Caption: "Per phase", Header: []string{"phase", "steps", "examples", "learning rate", "train loss start", "train loss end", "eval losses", "wall s"}}
	for _, ph := range phases {
		m, _ := ph.(map[string]any)
		evals, _ := m["eval_loss"].(map[string]any)
		names := make([]string, 0, len(evals))
		for n := range evals {
			names = append(names, n)
		}
		sort.Strings(names)
		ev := ""
		for _, n := range names {
			ev += fmt.Sprintf("%s %.4f ", n, number(evals[n]))
		}
		t.AddRow(m["name"], number(m["steps"]), number(m["examples"]), number(m["learning_rate"]),
			number(m["train_loss_start"]), number(m["train_loss_end"]), ev, number(m["wall_s"]))
	}
	p.Heading("Summary")
	p.Table(t)
}

func number(v any) float64 {
	f, _ := v.(float64)
	return f
}

// Write renders the report of the run in dir to out (atomically).
func Write(dir, out string) error {
	r, err := Load(dir)
	if err != nil {
		return err
	}
	p, err := r.Page()
	if err != nil {
		return err
	}
	return p.Save(out)
}
