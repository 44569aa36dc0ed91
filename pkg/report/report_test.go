package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeRun(t *testing.T, metrics, summary string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(metrics), 0o644); err != nil {
		t.Fatal(err)
	}
	if summary != "" {
		if err := os.WriteFile(filepath.Join(dir, "summary.json"), []byte(summary), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// pageHTML renders the run's report page.
func pageHTML(t *testing.T, r *Run) string {
	t.Helper()
	p, err := r.Page()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := p.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

const curriculumMetrics = `{"kind":"train","phase":"a","step":1,"loss":9.5}
{"kind":"train","phase":"a","step":2,"loss":9.25}
{"kind":"eval","phase":"a","step":2,"eval_set":"counselchat","eval_loss":9.4}
{"kind":"train","phase":"b","step":1,"loss":9.125}
{"kind":"train","phase":"b","step":2,"skipped":true,"loss":null}
{"kind":"train","phase":"b","step":3,"loss":8.75}
{"kind":"eval","phase":"b","step":3,"eval_set":"annomi","eval_loss":9.0}
{"kind":"train","phase":"dpo","step":1,"loss":0.69,"metrics":{"rewards/chosen":0.1,"rewards/rejected":-0.1,"rewards/margins":0.2,"rewards/accuracies":1}}
`

const curriculumSummary = `{"phases":[
 {"name":"a","mix":{"counselchat":100,"annomi":0},"steps":2,"examples":4,"learning_rate":0.0001,"train_loss_start":9.5,"train_loss_end":9.25,"eval_loss":{"counselchat":9.4},"wall_s":1.5},
 {"name":"b","mix":{"counselchat":0,"annomi":100},"steps":3,"examples":6,"learning_rate":0.00002,"train_loss_start":9.125,"train_loss_end":8.75,"eval_loss":{"annomi":9.0},"wall_s":2}]}`

func TestPageOfACurriculumRun(t *testing.T) {
	r, err := Load(writeRun(t, curriculumMetrics, curriculumSummary))
	if err != nil {
		t.Fatal(err)
	}
	// Phase b's steps follow phase a's on one axis; DPO keeps its own.
	st := newStages(r.Records, func(x Record) bool { return !isDPO(x) })
	if len(st.phases) != 2 || st.phases[1].Start != 2 || st.phases[1].End != 5 {
		t.Errorf("phases %+v, want a [0,2] and b [2,5]", st.phases)
	}
	html := pageHTML(t, r)
	for _, want := range []string{"Supervised fine-tuning loss", "Dataset mix per phase", "Preference tuning (DPO)", "Per phase", "eval annomi", "8.75", "rewards/margins"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if n := strings.Count(html, `<div class="echart" id="chart-`); n != 3 {
		t.Errorf("%d charts, want 3", n)
	}
}

func TestSFTRunWithoutSummary(t *testing.T) {
	r, err := Load(writeRun(t, `{"kind":"train","step":1,"loss":3}`+"\n"+`{"kind":"train","step":2,"loss":2}`+"\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(pageHTML(t, r), `<div class="echart" id="chart-`); n != 1 {
		t.Errorf("%d charts, want the loss chart only", n)
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no metrics.jsonl") {
		t.Errorf("empty dir: %v", err)
	}
	dir := writeRun(t, "{\"kind\":\"train\",\"step\":1,\"loss\":1}\n{not json\n", "")
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "metrics.jsonl:2") {
		t.Errorf("malformed line: %v, want it to name metrics.jsonl:2", err)
	}
	dir = writeRun(t, curriculumMetrics, "{")
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "summary.json") {
		t.Errorf("malformed summary: %v", err)
	}
}

func TestWriteIsAtomicAndStandalone(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report.html")
	if err := Write(writeRun(t, curriculumMetrics, curriculumSummary), out); err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(html), "<script src=") {
		t.Error("report loads a script from elsewhere; it must be standalone")
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Errorf("left %d files, want the report only", len(entries))
	}
}
