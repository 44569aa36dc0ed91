package safety

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
)

const setDir = "../../datasets/" + SetDir

func loadAll(t *testing.T) (map[string][]Item, []Item) {
	t.Helper()
	sets, err := LoadShipped(setDir, Parts...)
	if err != nil {
		t.Fatal(err)
	}
	var all []Item
	for _, p := range Parts {
		all = append(all, sets[p]...)
	}
	return sets, all
}

// The targets, computed on the shipped set (every part together):
// high messages ≥ 0.98 screened at least concern and ≥ 0.90 high, concern
// messages ≥ 0.90 at least concern, non-crisis messages ≤ 3% high and
// ≤ 15% concern or high. The per-part numbers, and the lower ones measured
// on each part before it was tuned on, are in datasets/safety/README.md.
func TestTargetsOnShippedSet(t *testing.T) {
	sets, all := loadAll(t)
	check := func(r *Report) {
		t.Helper()
		for _, tg := range r.Targets {
			if !tg.Met {
				t.Errorf("%s: %s = %.3f, goal %.2f", r.Set, tg.Name, tg.Value, tg.Goal)
			}
		}
	}
	check(Evaluate("all", all))
	check(Evaluate("dev", sets["dev"]))
}

// The set the issue asks for: at least 400 messages, at least a third hard
// negatives, every category at both levels, every level of subject.
func TestShippedSetShape(t *testing.T) {
	sets, all := loadAll(t)
	messages, hard := 0, 0
	type key struct {
		c Category
		l Level
	}
	seen := map[key]int{}
	ids := map[string]bool{}
	for _, it := range all {
		if ids[it.ID] {
			t.Errorf("id %s in two parts", it.ID)
		}
		ids[it.ID] = true
		if it.Messages == nil {
			messages++
		}
		if it.HardNegative {
			hard++
		}
		for _, c := range it.Categories {
			seen[key{c, it.Level}]++
		}
	}
	if messages < 400 {
		t.Errorf("%d messages, want at least 400", messages)
	}
	if 3*hard < len(all) {
		t.Errorf("%d hard negatives of %d items, want at least a third", hard, len(all))
	}
	for _, c := range Categories {
		if c == CrisisLanguage {
			continue // the learned screen's own category, never a label
		}
		for _, l := range []Level{Concern, High} {
			if seen[key{c, l}] == 0 {
				t.Errorf("no %s item at level %s", c, l)
			}
		}
	}
	for _, p := range Parts {
		if len(sets[p]) < 70 {
			t.Errorf("part %s has only %d items", p, len(sets[p]))
		}
	}
}

func TestEvaluateArithmetic(t *testing.T) {
	items := []Item{
		{ID: "1", Text: "I'm going to kill myself tonight.", Level: High, Categories: []Category{SuicidePlan}, Subject: Self},
		{ID: "2", Text: "I wish I were dead.", Level: High, Categories: []Category{SuicidalIdeation}, Subject: Self}, // screened concern
		{ID: "3", Text: "My sister wants to die.", Level: Concern, Categories: []Category{SuicidalIdeation}, Subject: ThirdParty},
		{ID: "4", Text: "This commute is killing me.", Level: None, HardNegative: true},
		{ID: "5", Text: "I'm happy today.", Level: None},
	}
	r := Evaluate("tiny", items)
	if r.Confusion[High][High] != 1 || r.Confusion[High][Concern] != 1 || r.Confusion[Concern][Concern] != 1 || r.Confusion[None][None] != 2 {
		t.Fatalf("confusion %v", r.Confusion)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if h := r.Levels["high"]; h.Support != 2 || h.Predicted != 1 || !near(h.Precision, 1) || !near(h.Recall, 0.5) || !near(h.F1, 2.0/3) {
		t.Errorf("high %+v", h)
	}
	if c := r.Levels["concern"]; c.Support != 1 || c.Predicted != 2 || !near(c.Precision, 0.5) || !near(c.Recall, 1) {
		t.Errorf("concern %+v", c)
	}
	if f := r.Flagged; f.Support != 3 || f.Predicted != 3 || !near(f.Recall, 1) {
		t.Errorf("flagged %+v", f)
	}
	if si := r.Categories[string(SuicidalIdeation)]; si.Support != 2 || si.Correct != 2 {
		t.Errorf("suicidal ideation %+v", si)
	}
	if r.HardNegatives != 1 || r.Messages != 5 || len(r.Misses) != 1 || r.Misses[0].ID != "2" || !near(r.SubjectAccuracy, 1) {
		t.Errorf("report %+v", r)
	}
	if r.TargetsMet() || r.Targets[1].Met {
		t.Errorf("high→high is 0.5, below 0.90: %+v", r.Targets)
	}
	var out bytes.Buffer
	if err := r.WriteText(&out, true); err != nil || !strings.Contains(out.String(), "NOT MET") || !strings.Contains(out.String(), "misses (1)") {
		t.Errorf("text report:\n%s", out.String())
	}
}

func TestReadLabelledErrors(t *testing.T) {
	for _, c := range []struct{ line, want string }{
		{`{"id":"a","text":"x","level":"high","categories":["self_harm"],"subject":"self","kind":"k","extra":1}`, `unknown field "extra"`},
		{`{"id":"a","text":"x","level":"severe","categories":[],"kind":"k"}`, `unknown level "severe"`},
		{`{"id":"a","text":"x","level":"high","categories":[],"subject":"self","kind":"k"}`, "needs categories"},
		{`{"id":"a","text":"x","level":"none","categories":["self_harm"],"kind":"k"}`, "needs categories"},
		{`{"id":"a","text":"x","level":"high","categories":["sadness"],"subject":"self","kind":"k"}`, `unknown category "sadness"`},
		{`{"id":"a","text":"x","level":"high","categories":["self_harm"],"kind":"k"}`, "needs a subject"},
		{`{"id":"a","level":"none","categories":[],"kind":"k"}`, `exactly one of "text" and "messages"`},
		{`{"id":"","text":"x","level":"none","categories":[],"kind":"k"}`, "missing id"},
		{`{"id":"a","text":"x","level":"high","categories":["crisis_language"],"subject":"self","kind":"k"}`, "not a label"},
	} {
		_, err := ReadLabelled(strings.NewReader("\n"+c.line+"\n"), "set.jsonl")
		if err == nil || !strings.Contains(err.Error(), "set.jsonl:2:") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want set.jsonl:2: ... %q", c.line, err, c.want)
		}
	}
	dup := `{"id":"a","text":"x","level":"none","categories":[],"kind":"k"}`
	if _, err := ReadLabelled(strings.NewReader(dup+"\n"+dup+"\n"), "s"); err == nil || !strings.Contains(err.Error(), "already used on line 1") {
		t.Errorf("duplicate id: %v", err)
	}
	if _, err := LoadShipped(setDir, "train"); err == nil {
		t.Error("unknown part accepted")
	}
}

func TestFindSetDir(t *testing.T) {
	for _, dir := range []string{"../..", "../../datasets"} {
		if got, err := FindSetDir(dir); err != nil || filepath.Clean(got) != filepath.Clean(setDir) {
			t.Errorf("FindSetDir(%q) = %q, %v", dir, got, err)
		}
	}
	if _, err := FindSetDir(t.TempDir()); err == nil {
		t.Error("empty directory accepted")
	}
	t.Setenv(data.EnvDataDir, "../../datasets")
	if got, err := FindSetDir(""); err != nil || !strings.HasSuffix(got, SetDir) {
		t.Errorf("FindSetDir(\"\") = %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(setDir, "README.md")); err != nil {
		t.Errorf("the set has no README: %v", err)
	}
}

// The fresh parts are measured, not tuned or trained on: they must load
// strictly and share no item with a part trained on, but the targets are
// not asserted on them (their first measurements are in
// datasets/safety/README.md).
func TestUntunedPartLoads(t *testing.T) {
	var trained []Item
	for _, p := range TrainParts {
		items, err := LoadLabelled(filepath.Join(setDir, p+".jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		trained = append(trained, items...)
	}
	for _, part := range FreshParts {
		if slices.Contains(TrainParts, part) {
			t.Errorf("fresh part %s is trained on", part)
		}
		checkUntunedPart(t, part, trained)
	}
}

func checkUntunedPart(t *testing.T, part string, trained []Item) {
	items, err := LoadLabelled(filepath.Join(setDir, part+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, it := range trained {
		ids[it.ID] = true
	}
	// The set as a whole holds a third hard negatives (TestShippedSetShape);
	// of a fresh part, at least a third of its harmless messages must be.
	messages, none, hard := 0, 0, 0
	for _, it := range items {
		if ids[it.ID] {
			t.Errorf("id %s is also in a part trained on", it.ID)
		}
		if it.Messages == nil {
			messages++
		}
		if it.Level == None {
			none++
			if it.HardNegative {
				hard++
			}
		}
	}
	if messages < 120 || 3*hard < none {
		t.Errorf("%s: %d messages, %d hard negatives of %d harmless items; want at least 120 messages and a third", part, messages, hard, none)
	}
}
