package safety

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Level is how urgent a screened text is. Levels are ordered: None <
// Concern < High.
type Level int

// Levels of risk (see the package documentation for what each means).
const (
	None Level = iota
	Concern
	High
)

var levelNames = [...]string{"none", "concern", "high"}

// Levels lists every level in order.
var Levels = []Level{None, Concern, High}

func (l Level) String() string {
	if l < None || l > High {
		return fmt.Sprintf("Level(%d)", int(l))
	}
	return levelNames[l]
}

// ParseLevel reads a level's name.
func ParseLevel(s string) (Level, error) {
	for i, n := range levelNames {
		if s == n {
			return Level(i), nil
		}
	}
	return None, fmt.Errorf("unknown level %q (want none, concern or high)", s)
}

// MarshalJSON writes the level's name.
func (l Level) MarshalJSON() ([]byte, error) { return json.Marshal(l.String()) }

// UnmarshalJSON reads a level's name.
func (l *Level) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("level: want a string, got %s", b)
	}
	v, err := ParseLevel(s)
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// Category is the kind of risk a finding is about.
type Category string

// Categories of risk. SuicidePlan covers plan, intent, method, means at
// hand, preparation and attempts; SuicidalIdeation the thoughts and wishes
// without them.
const (
	SuicidalIdeation Category = "suicidal_ideation"
	SuicidePlan      Category = "suicide_plan"
	SelfHarm         Category = "self_harm"
	HarmToOthers     Category = "harm_to_others"
	AbuseViolence    Category = "abuse_violence"
	OverdoseMedical  Category = "overdose_medical"
	// CrisisLanguage is the category of a flag of the learned screen alone
	// when no word class of a category above stands out in the text.
	CrisisLanguage Category = "crisis_language"
)

// Categories lists every category in a fixed order.
var Categories = []Category{SuicidalIdeation, SuicidePlan, SelfHarm, HarmToOthers, AbuseViolence, OverdoseMedical,
	CrisisLanguage}

// ParseCategory checks a category name.
func ParseCategory(s string) (Category, error) {
	if slices.Contains(Categories, Category(s)) {
		return Category(s), nil
	}
	return "", fmt.Errorf("unknown category %q", s)
}

// Subject is whom a finding is about.
type Subject string

// Subjects of a finding: the writer, or someone they write about.
const (
	Self       Subject = "self"
	ThirdParty Subject = "third_party"
)

// Evidence is one piece of text that a rule matched, located in the
// message it came from.
type Evidence struct {
	// Message is the index of the message in a conversation (0 for a
	// single text).
	Message int `json:"message"`
	// Start and End are byte offsets of the matched text in the message.
	Start int    `json:"start"`
	End   int    `json:"end"`
	Text  string `json:"text"`
	// Rule names the rule; Category, Level and Subject are what it
	// concluded after the modifiers.
	Rule     string   `json:"rule"`
	Category Category `json:"category"`
	Level    Level    `json:"level"`
	Subject  Subject  `json:"subject"`
	// Note says which modifier changed the rule's level, or why a
	// discounted match does not count ("negated", "hyperbole", ...).
	Note string `json:"note,omitempty"`
}

// Result is the screen of one text or one conversation.
type Result struct {
	Level Level `json:"level"`
	// Categories are those of the evidence, in the order of Categories.
	Categories []Category `json:"categories"`
	// Subject is whom the strongest evidence is about ("" at None).
	Subject Subject `json:"subject,omitempty"`
	// Evidence is every match that counts, in text order.
	Evidence []Evidence `json:"evidence"`
	// Discounted are matches that do not count, with the reason in Note:
	// the explanation of why a text that looks alarming is None.
	Discounted []Evidence `json:"discounted,omitempty"`
	// Explanation says in one line which rule decided the level.
	Explanation string `json:"explanation"`
	// Crisis is set on a conversation whose level is High because of an
	// earlier turn: the conversation stays in crisis mode.
	Crisis bool `json:"crisis,omitempty"`
}

// Has reports whether the result includes category c.
func (r *Result) Has(c Category) bool { return slices.Contains(r.Categories, c) }

// finish derives Level, Categories, Subject and Explanation from Evidence.
func (r *Result) finish() {
	r.Level, r.Subject, r.Categories = None, "", nil
	byPosition := func(a, b Evidence) int {
		if a.Message != b.Message {
			return a.Message - b.Message
		}
		return a.Start - b.Start
	}
	slices.SortStableFunc(r.Evidence, byPosition)
	slices.SortStableFunc(r.Discounted, byPosition)
	seen := map[Category]bool{}
	best := -1
	// The strongest evidence decides; at the same level a rule wins over
	// the learned screen, and the writer over someone else.
	better := func(e, b Evidence) bool {
		if e.Level != b.Level {
			return e.Level > b.Level
		}
		if el, bl := e.Rule == ruleLearned, b.Rule == ruleLearned; el != bl {
			return bl
		}
		return e.Subject == Self && b.Subject != Self
	}
	for i, e := range r.Evidence {
		seen[e.Category] = true
		if best < 0 || better(e, r.Evidence[best]) {
			best = i
		}
	}
	for _, c := range Categories {
		if seen[c] {
			r.Categories = append(r.Categories, c)
		}
	}
	if r.Categories == nil {
		r.Categories = []Category{}
	}
	if r.Evidence == nil {
		r.Evidence = []Evidence{}
	}
	if best < 0 {
		r.Explanation = "no rule matched"
		if len(r.Discounted) > 0 {
			d := r.Discounted[0]
			r.Explanation = fmt.Sprintf("%q matched %s but does not count: %s", d.Text, d.Rule, d.Note)
		}
		return
	}
	e := r.Evidence[best]
	r.Level, r.Subject = e.Level, e.Subject
	if e.Rule == ruleLearned {
		r.Explanation = learnedExplanation(e, r.Evidence)
		return
	}
	r.Explanation = fmt.Sprintf("%s: %q matched %s (%s", e.Level, e.Text, e.Rule, describeRule(e.Rule))
	if e.Subject == ThirdParty {
		r.Explanation += ", about someone else"
	}
	if e.Note != "" {
		r.Explanation += "; " + e.Note
	}
	r.Explanation += ")"
}
