package config

import "strings"

// Safety configures the crisis resources that the safety gate of package
// safety shows (safety.yaml): the emergency number, the crisis line, the
// pointer to lines elsewhere, and lines for particular kinds of risk. There
// is deliberately no key that turns the gate off: that takes an explicit
// command-line flag.
type Safety struct {
	// Region names where the resources below apply ("the US").
	Region string `yaml:"region"`
	// EmergencyNumber is the number for immediate danger ("911").
	EmergencyNumber string     `yaml:"emergency_number"`
	CrisisLine      CrisisLine `yaml:"crisis_line"`
	// Elsewhere points people outside Region to their local lines.
	Elsewhere string `yaml:"elsewhere"`
	// OtherLines are shown with the referral when the screen finds one of
	// their categories (a domestic-violence hotline for abuse).
	OtherLines []HelpLine `yaml:"other_lines"`
}

// CrisisLine is a suicide and crisis line reachable by call, text or chat
// (at least one).
type CrisisLine struct {
	Name string `yaml:"name"`
	Call string `yaml:"call"`
	Text string `yaml:"text"`
	Chat string `yaml:"chat"`
}

// HelpLine is a line for some categories of risk.
type HelpLine struct {
	Name    string `yaml:"name"`
	Contact string `yaml:"contact"`
	// Categories are screen categories (SafetyCategories).
	Categories []string `yaml:"categories"`
}

// SafetyCategories are the categories of package safety's screen, which
// other_lines may name (package safety checks that they agree).
var SafetyCategories = []string{
	"suicidal_ideation", "suicide_plan", "self_harm", "harm_to_others", "abuse_violence", "overdose_medical",
	"crisis_language",
}

// DefaultSafety returns the values of the shipped safety.yaml.
func DefaultSafety() Safety {
	return Safety{
		Region:          "the US",
		EmergencyNumber: "911",
		CrisisLine: CrisisLine{
			Name: "988 Suicide & Crisis Lifeline",
			Call: "988",
			Text: "988",
			Chat: "https://988lifeline.org/chat",
		},
		Elsewhere: "https://findahelpline.com",
		OtherLines: []HelpLine{
			{Name: "National Domestic Violence Hotline", Contact: "call 1-800-799-7233 or text START to 88788",
				Categories: []string{"abuse_violence"}},
			{Name: "Poison Control", Contact: "call 1-800-222-1222",
				Categories: []string{"overdose_medical"}},
		},
	}
}

// Validate checks that every resource is filled in.
func (s Safety) Validate() error { return runCheck(s.check) }

func (s Safety) check(c *checker) {
	c.nonEmpty("region", s.Region)
	c.nonEmpty("emergency_number", s.EmergencyNumber)
	c.nonEmpty("crisis_line.name", s.CrisisLine.Name)
	if strings.TrimSpace(s.CrisisLine.Call+s.CrisisLine.Text+s.CrisisLine.Chat) == "" {
		c.errorf("crisis_line", "needs at least one of call, text and chat")
	}
	c.nonEmpty("elsewhere", s.Elsewhere)
	for i, l := range s.OtherLines {
		key := "other_lines." + itoa(i)
		c.nonEmpty(key+".name", l.Name)
		c.nonEmpty(key+".contact", l.Contact)
		if len(l.Categories) == 0 {
			c.errorf(key+".categories", "needs at least one category (%s)", quoteList(SafetyCategories))
		}
		for j, cat := range l.Categories {
			c.oneOf(key+".categories."+itoa(j), cat, SafetyCategories...)
		}
	}
}
