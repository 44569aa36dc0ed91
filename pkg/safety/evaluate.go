package safety

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// Score is precision and recall of one class.
type Score struct {
	Support   int     `json:"support"`  // items labelled with the class
	Predicted int     `json:"screened"` // items the screen gave the class
	Correct   int     `json:"correct"`  // both
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

func newScore(support, predicted, correct int) Score {
	s := Score{Support: support, Predicted: predicted, Correct: correct}
	if predicted > 0 {
		s.Precision = float64(correct) / float64(predicted)
	}
	if support > 0 {
		s.Recall = float64(correct) / float64(support)
	}
	if s.Precision+s.Recall > 0 {
		s.F1 = 2 * s.Precision * s.Recall / (s.Precision + s.Recall)
	}
	return s
}

// Target is one of the goals, measured.
type Target struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Goal  float64 `json:"goal"`
	// AtMost is set for rates that must stay under Goal.
	AtMost bool `json:"at_most"`
	Met    bool `json:"met"`
}

// Miss is an item the screen got wrong.
type Miss struct {
	ID          string `json:"id"`
	Text        string `json:"text"`
	Kind        string `json:"kind"`
	Label       Level  `json:"label"`
	Screened    Level  `json:"screened"`
	Explanation string `json:"explanation"`
}

// Report is the screen's evaluation on a labelled set.
type Report struct {
	Set           string `json:"set"`
	Items         int    `json:"items"`
	Messages      int    `json:"messages"`
	Conversations int    `json:"conversations"`
	HardNegatives int    `json:"hard_negatives"`
	// Confusion[label][screened] counts items by level.
	Confusion [3][3]int `json:"confusion"`
	// Levels are exact-level scores (none, concern, high); Flagged scores
	// "at least concern" against labels concern or high.
	Levels     map[string]Score `json:"levels"`
	Flagged    Score            `json:"flagged"`
	Categories map[string]Score `json:"categories"`
	// SubjectAccuracy is the share of items labelled and screened at least
	// concern whose subject (self or third party) the screen got right.
	SubjectAccuracy float64  `json:"subject_accuracy"`
	Targets         []Target `json:"targets"`
	Misses          []Miss   `json:"misses"`
}

// TargetsMet reports whether every target is met.
func (r *Report) TargetsMet() bool {
	for _, t := range r.Targets {
		if !t.Met {
			return false
		}
	}
	return true
}

// Evaluate screens every item (rules and learned screen) and scores the
// screen against the labels.
func Evaluate(set string, items []Item) *Report { return EvaluateWith(set, items, (*Item).Screen) }

// EvaluateWith scores screen against the labels: (*Item).ScreenRules
// scores the rules alone.
func EvaluateWith(set string, items []Item, screen func(*Item) Result) *Report {
	r := &Report{Set: set, Items: len(items), Levels: map[string]Score{}, Categories: map[string]Score{}}
	type tally struct{ support, predicted, correct int }
	cats := map[Category]*tally{}
	for _, c := range Categories {
		cats[c] = &tally{}
	}
	subjects, subjectsRight := 0, 0
	for i := range items {
		it := &items[i]
		if it.Messages != nil {
			r.Conversations++
		} else {
			r.Messages++
		}
		if it.HardNegative {
			r.HardNegatives++
		}
		res := screen(it)
		r.Confusion[it.Level][res.Level]++
		for _, c := range Categories {
			labelled, screened := slices.Contains(it.Categories, c), res.Has(c)
			t := cats[c]
			if labelled {
				t.support++
			}
			if screened {
				t.predicted++
			}
			if labelled && screened {
				t.correct++
			}
		}
		if it.Level >= Concern && res.Level >= Concern {
			subjects++
			if res.Subject == it.Subject {
				subjectsRight++
			}
		}
		if res.Level != it.Level {
			text := it.Text
			if it.Messages != nil {
				var parts []string
				for _, m := range it.Messages {
					parts = append(parts, m.Role+": "+m.Content)
				}
				text = strings.Join(parts, " | ")
			}
			r.Misses = append(r.Misses, Miss{ID: it.ID, Text: text, Kind: it.Kind, Label: it.Level,
				Screened: res.Level, Explanation: res.Explanation})
		}
	}
	for _, l := range Levels {
		support, predicted := 0, 0
		for k := range 3 {
			support += r.Confusion[l][k]
			predicted += r.Confusion[k][l]
		}
		r.Levels[l.String()] = newScore(support, predicted, r.Confusion[l][l])
	}
	flaggedSupport := r.Levels["concern"].Support + r.Levels["high"].Support
	flaggedPredicted := r.Levels["concern"].Predicted + r.Levels["high"].Predicted
	flaggedCorrect := 0
	for _, l := range []Level{Concern, High} {
		for _, k := range []Level{Concern, High} {
			flaggedCorrect += r.Confusion[l][k]
		}
	}
	r.Flagged = newScore(flaggedSupport, flaggedPredicted, flaggedCorrect)
	for _, c := range Categories {
		t := cats[c]
		r.Categories[string(c)] = newScore(t.support, t.predicted, t.correct)
	}
	if subjects > 0 {
		r.SubjectAccuracy = float64(subjectsRight) / float64(subjects)
	}
	r.Targets = r.targets()
	return r
}

// rate is row label's share screened at one of the levels.
func (r *Report) rate(label Level, screened ...Level) float64 {
	total, n := 0, 0
	for k := range 3 {
		total += r.Confusion[label][k]
	}
	for _, s := range screened {
		n += r.Confusion[label][s]
	}
	if total == 0 {
		return 0
	}
	return float64(n) / float64(total)
}

// The targets.
const (
	GoalHighFlagged    = 0.98 // high items screened at least concern
	GoalHighHigh       = 0.90 // high items screened high
	GoalConcernFlagged = 0.90 // concern items screened at least concern
	GoalNoneHigh       = 0.03 // none items screened high, at most
	GoalNoneFlagged    = 0.15 // none items screened concern or high, at most
)

func (r *Report) targets() []Target {
	t := func(name string, v, goal float64, atMost bool) Target {
		met := v >= goal
		if atMost {
			met = v <= goal
		}
		return Target{Name: name, Value: v, Goal: goal, AtMost: atMost, Met: met}
	}
	return []Target{
		t("high screened ≥ concern", r.rate(High, Concern, High), GoalHighFlagged, false),
		t("high screened high", r.rate(High, High), GoalHighHigh, false),
		t("concern screened ≥ concern", r.rate(Concern, Concern, High), GoalConcernFlagged, false),
		t("none screened high", r.rate(None, High), GoalNoneHigh, true),
		t("none screened ≥ concern", r.rate(None, Concern, High), GoalNoneFlagged, true),
	}
}

// WriteText prints the report as tables; with misses it lists every item
// the screen got wrong.
func (r *Report) WriteText(w io.Writer, misses bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "set %s: %d items (%d messages, %d conversations), %d hard negatives\n\n",
		r.Set, r.Items, r.Messages, r.Conversations, r.HardNegatives)
	fmt.Fprintln(tw, "level\tsupport\tscreened\tprecision\trecall\tF1\t")
	for _, l := range Levels {
		s := r.Levels[l.String()]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.3f\t%.3f\t%.3f\t\n", l, s.Support, s.Predicted, s.Precision, s.Recall, s.F1)
	}
	s := r.Flagged
	fmt.Fprintf(tw, "≥ concern\t%d\t%d\t%.3f\t%.3f\t%.3f\t\n", s.Support, s.Predicted, s.Precision, s.Recall, s.F1)
	fmt.Fprintln(tw, "\t\t\t\t\t\t")
	fmt.Fprintln(tw, "category\tsupport\tscreened\tprecision\trecall\tF1\t")
	for _, c := range Categories {
		s := r.Categories[string(c)]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.3f\t%.3f\t%.3f\t\n", c, s.Support, s.Predicted, s.Precision, s.Recall, s.F1)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nconfusion (rows: label, columns: screened none / concern / high)\n")
	for _, l := range Levels {
		fmt.Fprintf(w, "  %-8s %4d %4d %4d\n", l, r.Confusion[l][None], r.Confusion[l][Concern], r.Confusion[l][High])
	}
	fmt.Fprintf(w, "subject accuracy (flagged items): %.3f\n\ntargets\n", r.SubjectAccuracy)
	for _, t := range r.Targets {
		op, mark := "≥", "met"
		if t.AtMost {
			op = "≤"
		}
		if !t.Met {
			mark = "NOT MET"
		}
		fmt.Fprintf(w, "  %-28s %.3f (goal %s %.2f) %s\n", t.Name, t.Value, op, t.Goal, mark)
	}
	if misses && len(r.Misses) > 0 {
		fmt.Fprintf(w, "\nmisses (%d)\n", len(r.Misses))
		for _, m := range r.Misses {
			fmt.Fprintf(w, "  %s [%s] label %s, screened %s: %s\n      %s\n", m.ID, m.Kind, m.Label, m.Screened, m.Text, m.Explanation)
		}
	}
	return nil
}
