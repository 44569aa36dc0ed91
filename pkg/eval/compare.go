package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/charts"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/jsonpos"
)

// ScopeOverall names the aggregate over all sources in a Comparison.
const ScopeOverall = "overall"

// Comparison puts several evaluations side by side: one Section per scope
// (overall, then each source), one Row per metric with a value per run.
type Comparison struct {
	Runs     []ComparedRun `json:"runs"`
	Sections []Section     `json:"sections"`
	// Warnings say what makes the runs less comparable: different
	// examples, splits, generation settings or BERTScore encoders.
	Warnings []string `json:"warnings"`
}

// ComparedRun describes one evaluation of a comparison.
type ComparedRun struct {
	Name             string `json:"name"`
	Path             string `json:"path"` // the metrics.json read
	Model            string `json:"model"`
	Adapter          string `json:"adapter,omitempty"`
	Split            string `json:"split"`
	Examples         int    `json:"examples"`
	ExamplesDigest   string `json:"examples_digest"`
	BERTScoreEncoder string `json:"bertscore_encoder,omitempty"`
	MaxNewTokens     int    `json:"max_new_tokens"`
	Greedy           bool   `json:"greedy"`
}

// Section holds the rows of one scope.
type Section struct {
	Scope string `json:"scope"` // ScopeOverall or a source
	Rows  []Row  `json:"rows"`
}

// Row is one metric across runs.
type Row struct {
	Group  string `json:"group"`  // text, bertscore, therapeutic, mi_behaviour, miti, length
	Metric string `json:"metric"` // display name
	Key    string `json:"key"`    // JSON path inside an Aggregate of metrics.json
	// Values holds one value per run, null where the run lacks it (or it
	// is undefined, such as R:Q without questions).
	Values []*float64 `json:"values"`
	// Reference is the value of the human references (from the first run
	// that has it), where the metric applies to them.
	Reference *float64 `json:"reference,omitempty"`
	// Better is "higher" where a higher value is better, else empty; Best
	// is then the index of the best run (-1: none, or not comparable).
	Better string `json:"better,omitempty"`
	Best   int    `json:"best"`
	// Note flags a row whose values must not be compared.
	Note string `json:"note,omitempty"`
}

// rowSpec defines a comparison row: where to read the run's value and the
// references' value in an Aggregate.
type rowSpec struct {
	group, metric, key, refKey string
	higher                     bool
}

var compareRows = func() []rowSpec {
	rows := []rowSpec{
		{"text", "BLEU (sentence mean)", "text.bleu", "", true},
		{"text", "BLEU (corpus)", "text.corpus_bleu", "", true},
		{"text", "chrF (sentence mean)", "text.chrf", "", true},
		{"text", "chrF (corpus)", "text.corpus_chrf", "", true},
		{"text", "ROUGE-1 F", "text.rouge1", "", true},
		{"text", "ROUGE-2 F", "text.rouge2", "", true},
		{"text", "ROUGE-L F", "text.rougeL", "", true},
		{"bertscore", "BERTScore P", "bertscore.precision", "", true},
		{"bertscore", "BERTScore R", "bertscore.recall", "", true},
		{"bertscore", "BERTScore F1", "bertscore.f", "", true},
	}
	for _, m := range []struct{ name, key string }{
		{"empathy", "empathy"}, {"reflection", "reflection"}, {"MI techniques", "mi_techniques"},
		{"appropriateness", "appropriateness"}, {"therapeutic quality", "therapeutic_quality"},
	} {
		rows = append(rows, rowSpec{"therapeutic", m.name, "therapeutic.generated." + m.key, "therapeutic.reference." + m.key, true})
	}
	rows = append(rows, rowSpec{"therapeutic", "overall quality", "therapeutic.generated.overall_quality", "", true})
	for _, b := range []string{"question", "reflection", "therapist_input", "other"} {
		rows = append(rows, rowSpec{"mi_behaviour", "share " + b, "mi_behaviour.generated.shares." + b, "mi_behaviour.reference.shares." + b, false})
	}
	rows = append(rows,
		rowSpec{"mi_behaviour", "agreement with reference", "mi_behaviour.agreement", "", true},
		rowSpec{"miti", "R:Q", "miti.generated.reflection_to_question", "miti.reference.reflection_to_question", true},
		rowSpec{"miti", "% complex reflections", "miti.generated.percent_complex_reflections", "miti.reference.percent_complex_reflections", true},
		rowSpec{"miti", "% open questions", "miti.generated.percent_open_questions", "miti.reference.percent_open_questions", true},
		rowSpec{"miti", "questions per reply", "miti.generated.question_rate", "miti.reference.question_rate", false},
		rowSpec{"miti", "reflections per reply", "miti.generated.reflection_rate", "miti.reference.reflection_rate", true},
		rowSpec{"length", "words per reply", "length.generated_words_mean", "length.reference_words_mean", false},
		rowSpec{"length", "new tokens per reply", "length.new_tokens_mean", "", false},
		rowSpec{"length", "stopped share", "length.stopped_share", "", false},
		rowSpec{"length", "empty replies", "length.empty_replies", "", false},
		rowSpec{"", "examples", "examples", "", false},
	)
	return rows
}()

// Compare reads the metrics.json of each evaluation (a directory written by
// Run, or the file itself) and puts them side by side.
func Compare(paths []string) (*Comparison, error) {
	if len(paths) == 0 {
		return nil, errors.New("eval: compare: no evaluations given")
	}
	docs := make([]map[string]any, 0, len(paths))
	files := make([]string, 0, len(paths))
	for _, p := range paths {
		file := p
		if info, err := os.Stat(p); err == nil && info.IsDir() {
			file = filepath.Join(p, MetricsFileName)
		}
		doc, err := readJSONObject(file)
		if err != nil {
			return nil, fmt.Errorf("eval: compare: %w", err)
		}
		docs = append(docs, doc)
		files = append(files, file)
	}
	return compareDocs(docs, files), nil
}

// compareDocs compares decoded metrics.json documents read from files.
func compareDocs(docs []map[string]any, files []string) *Comparison {
	c := &Comparison{Warnings: []string{}}
	names := map[string]int{}
	for i, doc := range docs {
		run := comparedRun(doc, files[i])
		if run.Name == "" {
			run.Name = filepath.Base(filepath.Dir(files[i]))
		}
		if names[run.Name]++; names[run.Name] > 1 {
			run.Name = fmt.Sprintf("%s#%d", run.Name, names[run.Name])
		}
		c.Runs = append(c.Runs, run)
	}
	encodersDiffer := c.checkComparable()
	for _, scope := range scopesOf(docs) {
		sec := Section{Scope: scope}
		for _, spec := range compareRows {
			row := Row{Group: spec.group, Metric: spec.metric, Key: spec.key, Best: -1}
			present := false
			for _, doc := range docs {
				v := lookup(aggregateOf(doc, scope), spec.key)
				row.Values = append(row.Values, v)
				present = present || v != nil
				if row.Reference == nil && spec.refKey != "" {
					row.Reference = lookup(aggregateOf(doc, scope), spec.refKey)
				}
			}
			present = present || row.Reference != nil
			if !present {
				continue
			}
			if spec.higher {
				row.Better = "higher"
			}
			if spec.group == "bertscore" && encodersDiffer {
				row.Note = "not comparable: different encoders"
			} else if spec.higher && len(docs) > 1 {
				row.Best = bestIndex(row.Values)
			}
			sec.Rows = append(sec.Rows, row)
		}
		c.Sections = append(c.Sections, sec)
	}
	return c
}

// WriteText prints the report's aggregates as text tables (the layout of
// Comparison.WriteText, with one run).
func (r *Report) WriteText(w io.Writer) error {
	raw, err := json.Marshal(r.Metrics)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return err
	}
	file := MetricsFileName
	if r.Dir != "" {
		file = filepath.Join(r.Dir, MetricsFileName)
	}
	return compareDocs([]map[string]any{doc}, []string{file}).WriteText(w)
}

// readJSONObject reads a JSON object, naming the line and column of a
// syntax error.
func readJSONObject(path string) (map[string]any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			pos, _ := jsonpos.Of(raw, err)
			return nil, fmt.Errorf("%s:%d:%d: %v", path, pos.Line, pos.Column, err)
		}
		return nil, fmt.Errorf("%s: want a JSON object as written by eval: %v", path, err)
	}
	if _, ok := doc["overall"].(map[string]any); !ok {
		return nil, fmt.Errorf(`%s: no "overall" metrics: not a metrics.json written by eval`, path)
	}
	return doc, nil
}

func comparedRun(doc map[string]any, path string) ComparedRun {
	r := ComparedRun{
		Name: str(doc["name"]), Path: path, Model: str(doc["model"]), Adapter: str(doc["adapter"]),
		Split: str(doc["split"]), ExamplesDigest: str(doc["examples_digest"]),
	}
	if v := lookup(doc, "examples"); v != nil {
		r.Examples = int(*v)
	}
	if v := lookup(doc, "generation.max_new_tokens"); v != nil {
		r.MaxNewTokens = int(*v)
	}
	if g, ok := lookupAny(doc, "generation.greedy").(bool); ok {
		r.Greedy = g
	}
	r.BERTScoreEncoder = str(lookupAny(doc, "bertscore.encoder"))
	return r
}

// checkComparable records warnings about differences between the runs and
// reports whether their BERTScore encoders differ.
func (c *Comparison) checkComparable() (encodersDiffer bool) {
	differ := func(get func(ComparedRun) string) bool {
		for _, r := range c.Runs[1:] {
			if get(r) != get(c.Runs[0]) {
				return true
			}
		}
		return false
	}
	list := func(get func(ComparedRun) string) string {
		var parts []string
		for _, r := range c.Runs {
			parts = append(parts, fmt.Sprintf("%s: %s", r.Name, get(r)))
		}
		return strings.Join(parts, ", ")
	}
	if differ(func(r ComparedRun) string { return r.Split }) {
		c.Warnings = append(c.Warnings, "the runs evaluate different splits ("+list(func(r ComparedRun) string { return r.Split })+")")
	} else if differ(func(r ComparedRun) string { return r.ExamplesDigest }) {
		c.Warnings = append(c.Warnings, "the runs were scored on different examples (limits, debug subsets or data differ): "+
			list(func(r ComparedRun) string { return strconv.Itoa(r.Examples) + " examples" }))
	}
	if differ(func(r ComparedRun) string { return fmt.Sprint(r.MaxNewTokens, r.Greedy) }) {
		c.Warnings = append(c.Warnings, "generation settings differ ("+
			list(func(r ComparedRun) string {
				return fmt.Sprintf("max %d new tokens, greedy %v", r.MaxNewTokens, r.Greedy)
			})+")")
	}
	withBERT := slices.DeleteFunc(slices.Clone(c.Runs), func(r ComparedRun) bool { return r.BERTScoreEncoder == "" })
	for _, r := range withBERT[min(1, len(withBERT)):] {
		if r.BERTScoreEncoder != withBERT[0].BERTScoreEncoder {
			encodersDiffer = true
		}
	}
	if encodersDiffer {
		c.Warnings = append(c.Warnings, "BERTScore is not comparable across these runs: their encoders differ ("+
			list(func(r ComparedRun) string { return r.BERTScoreEncoder })+")")
	}
	return encodersDiffer
}

// scopesOf lists overall, then the sources of all runs in order of first
// appearance.
func scopesOf(docs []map[string]any) []string {
	scopes := []string{ScopeOverall}
	for _, known := range []string{"counselchat", "annomi"} {
		for _, doc := range docs {
			if aggregateOf(doc, known) != nil && !slices.Contains(scopes, known) {
				scopes = append(scopes, known)
			}
		}
	}
	for _, doc := range docs {
		by, _ := doc["by_source"].(map[string]any)
		keys := make([]string, 0, len(by))
		for k := range by {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !slices.Contains(scopes, k) {
				scopes = append(scopes, k)
			}
		}
	}
	return scopes
}

func aggregateOf(doc map[string]any, scope string) map[string]any {
	if scope == ScopeOverall {
		m, _ := doc["overall"].(map[string]any)
		return m
	}
	by, _ := doc["by_source"].(map[string]any)
	m, _ := by[scope].(map[string]any)
	return m
}

// lookupAny follows a dotted path through nested JSON objects.
func lookupAny(doc map[string]any, path string) any {
	var cur any = doc
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

// lookup returns the finite number at path, or nil.
func lookup(doc map[string]any, path string) *float64 {
	if doc == nil {
		return nil
	}
	f, ok := lookupAny(doc, path).(float64)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// bestIndex returns the index of the largest value (the first on ties), or
// -1 when there is none.
func bestIndex(values []*float64) int {
	best := -1
	for i, v := range values {
		if v != nil && (best < 0 || *v > *values[best]) {
			best = i
		}
	}
	return best
}

// formatCell prints a value for the tables; "—" for a missing one.
func formatCell(v *float64) string {
	if v == nil {
		return "—"
	}
	return charts.FormatValue(*v)
}

// WriteText prints the comparison as aligned text tables, one per scope;
// the best value of each row where higher is better is marked with "*".
func (c *Comparison) WriteText(w io.Writer) error {
	var buf bytes.Buffer
	for i, r := range c.Runs {
		fmt.Fprintf(&buf, "[%d] %s: %s", i+1, r.Name, r.Model)
		if r.Adapter != "" {
			fmt.Fprintf(&buf, " + %s", r.Adapter)
		}
		fmt.Fprintf(&buf, " (%s split, %d examples)\n", r.Split, r.Examples)
	}
	for _, warn := range c.Warnings {
		fmt.Fprintf(&buf, "warning: %s\n", warn)
	}
	for _, sec := range c.Sections {
		fmt.Fprintf(&buf, "\n== %s ==\n", sec.Scope)
		tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(c.header(""), "\t")+"\t")
		for _, row := range sec.Rows {
			fmt.Fprintln(tw, strings.Join(row.cells("*"), "\t")+"\t")
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// Table returns one scope's rows as a charts.Table.
func (c *Comparison) Table(sec Section) charts.Table {
	t := charts.Table{Caption: sec.Scope, Header: c.header("note")}
	for _, row := range sec.Rows {
		t.Rows = append(t.Rows, row.cells(" ★"))
	}
	return t
}

// header is the header of a scope's table: "metric", the runs' names,
// "reference" and noteTitle over the notes' column.
func (c *Comparison) header(noteTitle string) []string {
	header := []string{"metric"}
	for _, r := range c.Runs {
		header = append(header, r.Name)
	}
	return append(header, "reference", noteTitle)
}

// cells are a row's cells in a scope's table: the metric, each run's
// value (the best one followed by best), the reference and the note.
func (row Row) cells(best string) []string {
	cells := []string{row.Metric}
	for i, v := range row.Values {
		cell := formatCell(v)
		if i == row.Best {
			cell += best
		}
		cells = append(cells, cell)
	}
	ref := ""
	if row.Reference != nil {
		ref = formatCell(row.Reference)
	}
	return append(cells, ref, row.Note)
}

// Page renders the comparison as a standalone HTML report: the runs, the
// warnings, charts of the main overall measures and a table per scope.
func (c *Comparison) Page() (*charts.Page, error) {
	p := charts.NewPage("Evaluation comparison")
	p.Heading("Runs")
	var runs []string
	for _, r := range c.Runs {
		line := fmt.Sprintf("- **%s**: `%s`", r.Name, r.Model)
		if r.Adapter != "" {
			line += fmt.Sprintf(" + adapter `%s`", r.Adapter)
		}
		line += fmt.Sprintf(", %s split, %d examples", r.Split, r.Examples)
		if r.BERTScoreEncoder != "" {
			line += fmt.Sprintf(", BERTScore encoder `%s`", r.BERTScoreEncoder)
		}
		runs = append(runs, line)
	}
	p.Text(strings.Join(runs, "\n"))
	if len(c.Warnings) > 0 {
		var ws []string
		for _, w := range c.Warnings {
			ws = append(ws, "- "+w)
		}
		p.Text("**Warnings**\n\n" + strings.Join(ws, "\n"))
	}
	p.Text("BERTScore numbers depend on the encoder that produced them: compare them only between runs with the same encoder.")
	if len(c.Sections) > 0 {
		for _, ch := range []struct {
			title string
			keys  []string
			ref   bool
		}{
			{"Similarity to the reference (BLEU and chrF divided by 100)", []string{"text.bleu", "text.chrf", "text.rougeL", "bertscore.f"}, false},
			{"Keyword measures of therapeutic quality", []string{"therapeutic.generated.empathy", "therapeutic.generated.reflection",
				"therapeutic.generated.mi_techniques", "therapeutic.generated.appropriateness", "therapeutic.generated.therapeutic_quality"}, true},
			{"MI behaviour of the replies (learned classifier)", []string{"mi_behaviour.generated.shares.question",
				"mi_behaviour.generated.shares.reflection", "mi_behaviour.generated.shares.therapist_input", "mi_behaviour.generated.shares.other"}, true},
		} {
			chart, err := c.barChart(c.Sections[0], ch.title, ch.keys, ch.ref)
			if err != nil {
				return nil, err
			}
			if chart != nil {
				p.Chart(chart)
			}
		}
	}
	for _, sec := range c.Sections {
		p.Heading(sec.Scope)
		p.Table(c.Table(sec))
	}
	return p, nil
}

// barChart draws the rows of keys as grouped bars, one series per run (and
// one for the references when withRef); BLEU and chrF are divided by 100 to
// share the axis. Rows a section lacks are left out; nil when none is left.
func (c *Comparison) barChart(sec Section, title string, keys []string, withRef bool) (*charts.Chart, error) {
	var cats []string
	series := make([]charts.Values, len(c.Runs))
	for i, r := range c.Runs {
		series[i].Name = r.Name
	}
	ref := charts.Values{Name: "reference"}
	for _, key := range keys {
		i := slices.IndexFunc(sec.Rows, func(r Row) bool { return r.Key == key })
		if i < 0 {
			continue
		}
		row := sec.Rows[i]
		scale := 1.0
		if strings.HasPrefix(key, "text.bleu") || strings.HasPrefix(key, "text.chrf") {
			scale = 0.01
		}
		cats = append(cats, row.Metric)
		for k, v := range row.Values {
			series[k].Values = append(series[k].Values, valueOr0(v)*scale)
		}
		ref.Values = append(ref.Values, valueOr0(row.Reference)*scale)
	}
	if len(cats) == 0 {
		return nil, nil
	}
	if withRef {
		series = append(series, ref)
	}
	return charts.GroupedBars(charts.BarData{Title: title, Subtitle: sec.Scope, Categories: cats, Series: series})
}

func valueOr0(v *float64) float64 {
	if v == nil {
		return 0
	}
	return *v
}

// SaveHTML writes the comparison page to path atomically.
func (c *Comparison) SaveHTML(path string) error {
	p, err := c.Page()
	if err != nil {
		return err
	}
	return p.Save(path)
}
