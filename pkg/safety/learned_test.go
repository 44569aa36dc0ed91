package safety

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
)

func shippedModel(t testing.TB) *Learned {
	t.Helper()
	m, err := DefaultLearned()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLearnedLoads(t *testing.T) {
	m := shippedModel(t)
	if len(m.Vocab) == 0 || len(m.Vocab) != len(m.Scale) {
		t.Fatalf("%d features, %d scales", len(m.Vocab), len(m.Scale))
	}
	if m.Options != DefaultLearnedOptions() {
		t.Errorf("the shipped model was trained with %+v, not DefaultLearnedOptions %+v: run go generate ./pkg/safety",
			m.Options, DefaultLearnedOptions())
	}
	if m.CV == nil || m.CV.Thresholds != m.Thresholds {
		t.Fatalf("thresholds %+v are not those of the cross-validation %+v", m.Thresholds, m.CV)
	}
	if _, err := ReadLearned(bytes.NewReader([]byte("not a model")), "x"); err == nil {
		t.Error("garbage read as a model")
	}
}

// The thresholds come from the model file: the same model with other
// thresholds screens differently.
func TestLearnedThresholdsFromFile(t *testing.T) {
	m := shippedModel(t)
	const text = "Bought a second lot of paracetamol from a different shop so they wouldn't ask questions."
	if got := ScreenRules(text).Level; got != None {
		t.Fatalf("the rules screen %q %s; the test needs a text only the learned screen flags", text, got)
	}
	if got := Screen(text).Level; got == None {
		t.Fatalf("the learned screen does not flag %q", text)
	}
	withThresholds := func(concern, high float64) *Learned {
		// The same weights with other thresholds, written and read back.
		want := LearnedThresholds{Concern: concern, High: high}
		other := &Learned{Options: m.Options, Vocab: m.Vocab, Scale: m.Scale, Heads: m.Heads, Thresholds: want, CV: m.CV}
		var buf bytes.Buffer
		if _, err := other.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		read, err := ReadLearned(&buf, "modified")
		if err != nil {
			t.Fatal(err)
		}
		if read.Thresholds != want {
			t.Fatalf("read thresholds %+v, wrote %+v", read.Thresholds, want)
		}
		return read
	}
	it := Item{Text: text}
	if got := it.ScreenWith(withThresholds(0.999, 0.999)).Level; got != None {
		t.Errorf("thresholds 0.999: level %s, want none", got)
	}
	if got := it.ScreenWith(withThresholds(0.001, 0.001)).Level; got != High {
		t.Errorf("thresholds 0.001: level %s, want high", got)
	}
	for _, bad := range []LearnedThresholds{{0, 0.5}, {0.5, 1}, {-1, 0.5}} {
		other := &Learned{Options: m.Options, Vocab: m.Vocab, Scale: m.Scale, Heads: m.Heads, Thresholds: bad}
		var buf bytes.Buffer
		if _, err := other.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadLearned(&buf, "bad"); err == nil {
			t.Errorf("thresholds %+v accepted", bad)
		}
	}
}

// Training is reproducible: the training parts, the real negatives and the
// default options give the shipped file, byte for byte.
func TestLearnedReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the model (about half a minute)")
	}
	parts, err := LoadTrainingParts(setDir, TrainParts, "../../datasets")
	if err != nil {
		t.Fatal(err)
	}
	m, err := TrainShippedLearned(parts, DefaultLearnedOptions(), false)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	shipped, err := os.ReadFile("assets/learned_screen.gob.gz")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), shipped) {
		t.Fatalf("a rebuild gives %d bytes that differ from the shipped %d: run go generate ./pkg/safety", buf.Len(), len(shipped))
	}
}

// A flag of the learned screen alone carries evidence that points at the
// text, the category of its category heads, and an explanation with
// its probability.
func TestLearnedEvidence(t *testing.T) {
	for _, c := range []struct {
		text string
		cat  Category
	}{
		{"Bought a second lot of paracetamol from a different shop so they wouldn't ask questions.", SuicidePlan},
		// The category heads name what the lexicon's classes did not.
		{"my ex's new fella finishes his shift at 10 and there's a bat in the boot of my car. not bluffing this time", HarmToOthers},
		{"my 2yo got into the dishwasher tabs, blue stuff round her mouth and she keeps coughing", OverdoseMedical},
	} {
		r := Screen(c.text)
		checkResult(t, c.text, r)
		if !strings.Contains(r.Explanation, "learned screen: p=") || !r.Has(c.cat) {
			t.Errorf("%q: %s %v (%s), want a learned flag of category %s", c.text, r.Level, r.Categories, r.Explanation, c.cat)
		}
		for _, e := range r.Evidence {
			if e.Rule != ruleLearned || e.Text == "" {
				t.Errorf("%q: evidence %+v", c.text, e)
			}
		}
	}
	// Where the rules and the learned screen agree on the level, the
	// rule explains it.
	r := Screen("I want to kill myself tonight, I have the pills.")
	if r.Level != High || strings.Contains(r.Explanation, "learned") {
		t.Errorf("level %s, explanation %q: want a rule's", r.Level, r.Explanation)
	}
}

// The learned screen only ever raises the rules' level; on the phenomena
// the rules are written for, the combined screen errs on a few None cases
// (a song lyric, a lone warning sign), listed here so that a change shows.
func TestLearnedOnPhenomena(t *testing.T) {
	raised := 0
	for _, cases := range phenomena {
		for _, c := range cases {
			rules, all := ScreenRules(c.text), Screen(c.text)
			checkResult(t, c.text, all)
			if all.Level < rules.Level {
				t.Errorf("%q: combined %s below the rules' %s", c.text, all.Level, rules.Level)
			}
			if c.level == None && all.Level > None {
				raised++
				t.Logf("flagged by the learned screen: %q (%s)", c.text, all.Explanation)
			}
		}
	}
	if raised > 3 {
		t.Errorf("the learned screen flags %d of the rules' None phenomena, want at most 3", raised)
	}
}

// FuzzLearned: the learned screen never panics, and its evidence points at
// the text, for a message and for the turns of a conversation read
// together.
func FuzzLearned(f *testing.F) {
	for _, s := range []string{"", " ", "\x00", "\xff\xfe", "I have the pills.", "bye\n\n\nbye", "???", "a\nb\nc",
		"Bought a second lot of paracetamol from a different shop.", strings.Repeat("pills tonight. ", 40), "😂😭💀 kms"} {
		f.Add(s, "bye")
	}
	m := shippedModel(f)
	f.Fuzz(func(t *testing.T, a, b string) {
		c := canonicalize(a)
		all := c.text
		one := &learnedText{c: c, markerIn: func(mk *marker) bool { return mk.in(all) }, starts: []int{0}, msgs: []int{0}}
		for _, e := range m.screenTexts(one) {
			if e.Start < 0 || e.End < e.Start || e.End > len(a) || a[e.Start:e.End] != e.Text {
				t.Fatalf("%q: evidence %+v does not point at its text", a, e)
			}
		}
		msgs := []data.Message{{Role: data.RoleUser, Content: a}, {Role: data.RoleAssistant, Content: "ok"},
			{Role: data.RoleUser, Content: b}}
		r := screenConversationWith(msgs, m)
		for _, e := range r.Evidence {
			text := msgs[e.Message].Content
			if msgs[e.Message].Role != data.RoleUser || e.Start < 0 || e.End > len(text) || text[e.Start:e.End] != e.Text {
				t.Fatalf("%q, %q: evidence %+v does not point into a user turn", a, b, e)
			}
		}
	})
}
