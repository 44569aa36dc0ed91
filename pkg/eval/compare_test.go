package eval

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
)

// fabricatedRun writes an evaluation directory from fabricated results:
// the replies are altered by alter, so that runs differ.
func fabricatedRun(t *testing.T, dir, name, encoder string, alter func(*ExampleResult)) *Report {
	t.Helper()
	results := fabricated(t, true)
	for i := range results {
		alter(&results[i])
	}
	m := Metrics{
		Name: name, Model: "tiny", Split: "test", Examples: len(results), ExamplesDigest: examplesDigest(results),
		Generation: GenerationSettings{MaxNewTokens: 16, Greedy: true},
		BERTScore:  &BERTScoreSettings{Encoder: encoder, Layer: 4, Note: bertScoreNote},
		BySource:   map[string]Aggregate{}, Skipped: []Skipped{},
	}
	var err error
	if m.Overall, err = Summarize(results); err != nil {
		t.Fatal(err)
	}
	for _, src := range sourcesOf(results) {
		if m.BySource[src], err = Summarize(ofSource(results, src)); err != nil {
			t.Fatal(err)
		}
	}
	rep := &Report{Metrics: m, Examples: results}
	if err := rep.write(dir); err != nil {
		t.Fatal(err)
	}
	return rep
}

func rowOf(t *testing.T, c *Comparison, scope, key string) Row {
	t.Helper()
	for _, sec := range c.Sections {
		if sec.Scope != scope {
			continue
		}
		for _, r := range sec.Rows {
			if r.Key == key {
				return r
			}
		}
	}
	t.Fatalf("no row %s in scope %s", key, scope)
	return Row{}
}

func TestCompare(t *testing.T) {
	root := t.TempDir()
	baseDir, sftDir := filepath.Join(root, "base"), filepath.Join(root, "sft")
	base := fabricatedRun(t, baseDir, "", "tiny/layer-4", func(r *ExampleResult) {})
	sft := fabricatedRun(t, sftDir, "sft", "tiny/layer-4", func(r *ExampleResult) {
		r.Metrics.BLEU += 10 // a better fine-tune
		r.Metrics.BERTScore.F += 0.1
	})

	c, err := Compare([]string{baseDir, filepath.Join(sftDir, MetricsFileName)})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Runs) != 2 || c.Runs[0].Name != "base" || c.Runs[1].Name != "sft" || c.Runs[0].BERTScoreEncoder != "tiny/layer-4" {
		t.Fatalf("runs %+v", c.Runs)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings for comparable runs: %v", c.Warnings)
	}
	var scopes []string
	for _, s := range c.Sections {
		scopes = append(scopes, s.Scope)
	}
	if !slices.Equal(scopes, []string{ScopeOverall, data.SourceCounselChat, data.SourceAnnoMI}) {
		t.Errorf("scopes %v", scopes)
	}
	bleu := rowOf(t, c, ScopeOverall, "text.bleu")
	if *bleu.Values[0] != base.Metrics.Overall.Text.BLEU || *bleu.Values[1] != sft.Metrics.Overall.Text.BLEU || bleu.Best != 1 || bleu.Better != "higher" {
		t.Errorf("BLEU row %+v", bleu)
	}
	bert := rowOf(t, c, data.SourceAnnoMI, "bertscore.f")
	if bert.Best != 1 || bert.Note != "" || !near(*bert.Values[0], base.Metrics.BySource[data.SourceAnnoMI].BERTScore.F) {
		t.Errorf("BERTScore row %+v", bert)
	}
	emp := rowOf(t, c, ScopeOverall, "therapeutic.generated.empathy")
	if emp.Reference == nil || *emp.Reference != base.Metrics.Overall.Therapeutic.Reference.Empathy {
		t.Errorf("empathy reference %v, want %v", emp.Reference, base.Metrics.Overall.Therapeutic.Reference.Empathy)
	}
	q := rowOf(t, c, ScopeOverall, "miti.generated.question_rate")
	if q.Better != "" || q.Best != -1 {
		t.Errorf("question rate has no better direction: %+v", q)
	}

	var text strings.Builder
	if err := c.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"[1] base", "[2] sft", "== annomi ==", "BERTScore F1", "*"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("text lacks %q:\n%s", s, text.String())
		}
	}
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Comparison
	if err := json.Unmarshal(raw, &back); err != nil || len(back.Sections) != 3 || len(back.Runs) != 2 {
		t.Errorf("JSON round trip: %v", err)
	}
	page := filepath.Join(root, "report.html")
	if err := c.SaveHTML(page); err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"<table", "sft", "echarts", "Keyword measures"} {
		if !strings.Contains(string(html), s) {
			t.Errorf("HTML report lacks %q", s)
		}
	}
}

func TestCompareWarnings(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	fabricatedRun(t, a, "merged", "merged-model/layer-4", func(r *ExampleResult) {})
	fabricatedRun(t, b, "merged", "tiny/layer-4", func(r *ExampleResult) { r.ID += "x" })
	c, err := Compare([]string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if c.Runs[1].Name != "merged#2" {
		t.Errorf("duplicate names: %q", c.Runs[1].Name)
	}
	joined := strings.Join(c.Warnings, "\n")
	for _, s := range []string{"different examples", "BERTScore is not comparable", "merged-model/layer-4"} {
		if !strings.Contains(joined, s) {
			t.Errorf("warnings lack %q: %v", s, c.Warnings)
		}
	}
	bert := rowOf(t, c, ScopeOverall, "bertscore.f")
	if bert.Best != -1 || !strings.Contains(bert.Note, "not comparable") {
		t.Errorf("BERTScore row of different encoders %+v", bert)
	}
	page := filepath.Join(root, "r.html")
	if err := c.SaveHTML(page); err != nil {
		t.Fatal(err)
	}
	if html, _ := os.ReadFile(page); !strings.Contains(string(html), "not comparable") {
		t.Errorf("HTML report does not flag the BERTScore rows")
	}
}

func TestCompareErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name  string
		paths []string
		want  string
	}{
		{"none", nil, "no evaluations"},
		{"missing", []string{filepath.Join(dir, "nope")}, "nope"},
		{"syntax", []string{write("bad.json", "{\n  \"overall\": {,\n}")}, "bad.json:2:"},
		{"not eval", []string{write("other.json", `{"loss": 1}`)}, `no "overall"`},
		{"array", []string{write("array.json", `[1, 2]`)}, "want a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compare(tc.paths)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// FuzzCompare feeds arbitrary metrics.json contents to Compare: an error
// or a comparison, never a panic.
func FuzzCompare(f *testing.F) {
	f.Add([]byte(`{"name": "x", "overall": {"text": {"bleu": 1}}, "by_source": {"annomi": {"examples": 2}}}`))
	f.Add([]byte(`{"overall": {"miti": {"generated": {"reflection_to_question": null}}}, "bertscore": {"encoder": 3}}`))
	f.Add([]byte(`{"overall": 1, "by_source": []}`))
	f.Add([]byte(`{"overall": {}, "generation": {"greedy": "yes", "max_new_tokens": 1e308}}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content []byte) {
		p := filepath.Join(dir, MetricsFileName)
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Compare([]string{p, p})
		if err != nil {
			return
		}
		if len(c.Runs) != 2 || len(c.Sections) == 0 || c.Sections[0].Scope != ScopeOverall {
			t.Fatalf("comparison %+v", c)
		}
		if err := c.WriteText(&strings.Builder{}); err != nil {
			t.Fatal(err)
		}
	})
}
