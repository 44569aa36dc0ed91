package metrics

import (
	"math"
	"testing"
)

func TestCountMITechniques(t *testing.T) {
	for _, c := range []struct {
		text string
		want MITechniqueCounts
	}{
		{"", MITechniqueCounts{}},
		{"What brings you here today?", MITechniqueCounts{OpenQuestions: 1}},
		{"Okay. So, how has that been for you?", MITechniqueCounts{OpenQuestions: 1, Reflections: 1}}, // "for you"
		{"Do you smoke? Is it every day?", MITechniqueCounts{ClosedQuestions: 2}},
		{"Tell me more about that.", MITechniqueCounts{OpenQuestions: 1}},
		{"It sounds like you're torn.", MITechniqueCounts{Reflections: 2}}, // "sounds like", "you're torn"
		{"That's great, well done.", MITechniqueCounts{Affirmations: 2}},
		{"Let me see if I got this: you want to cut down.", MITechniqueCounts{Reflections: 1, Summaries: 1}},
		{"I’m wondering what you think", MITechniqueCounts{OpenQuestions: 1, Reflections: 1}}, // curly apostrophe
	} {
		if got := CountMITechniques(c.text); got != c.want {
			t.Errorf("CountMITechniques(%q) = %+v, want %+v", c.text, got, c.want)
		}
	}
}

func TestKeywordBehaviour(t *testing.T) {
	for _, c := range []struct {
		text string
		want MICode
	}{
		{"What would you like to change?", MICode{BehaviourQuestion, QuestionOpen}},
		{"So, are you ready?", MICode{BehaviourQuestion, QuestionClosed}},
		{"You're worried about your health.", MICode{BehaviourReflection, ReflectionComplex}},
		{"So you drink on weekends.", MICode{BehaviourReflection, ReflectionSimple}},
		{"I'd recommend talking to your doctor about patches.", MICode{BehaviourTherapistInput, ""}},
		{"Mm-hmm.", MICode{BehaviourOther, ""}},
		{"", MICode{BehaviourOther, ""}},
	} {
		if got := KeywordBehaviour(c.text); got != c.want {
			t.Errorf("KeywordBehaviour(%q) = %+v, want %+v", c.text, got, c.want)
		}
	}
}

func TestLengthScore(t *testing.T) {
	for _, c := range []struct {
		words int
		want  float64
	}{
		{0, 0}, {5, 0}, {7, 0.4}, {10, 1}, {200, 1}, {300, 0.5}, {400, 0}, {1000, 0},
	} {
		if got := LengthScore(c.words, 10, 200); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("LengthScore(%d) = %g, want %g", c.words, got, c.want)
		}
	}
}

func TestScoreTherapeutic(t *testing.T) {
	empathic := "I hear you. That sounds really hard, and it makes sense that you feel stuck. What would help most right now?"
	blunt := "You should just stop. You need to get over it."
	w := DefaultQualityWeights()
	e, b := ScoreTherapeutic(empathic, w), ScoreTherapeutic(blunt, w)
	for name, s := range map[string]TherapeuticScores{"empathic": e, "blunt": b} {
		for field, v := range map[string]float64{
			"empathy": s.Empathy, "reflection": s.Reflection, "mi": s.MITechniques, "length": s.LengthScore,
			"content": s.ContentScore, "appropriateness": s.Appropriateness, "therapeutic": s.TherapeuticQuality, "overall": s.OverallQuality,
		} {
			if v < 0 || v > 1 || math.IsNaN(v) {
				t.Errorf("%s %s = %g, outside [0,1]", name, field, v)
			}
		}
	}
	if e.TherapeuticQuality <= b.TherapeuticQuality+0.3 || e.Empathy <= b.Empathy || e.ContentScore <= b.ContentScore {
		t.Errorf("empathic reply %+v not clearly above blunt reply %+v", e, b)
	}
	// Weights select components: only empathy weighted → quality = empathy.
	only := QualityWeights{Empathy: 2, MinWords: 10, MaxWords: 200}
	if s := ScoreTherapeutic(empathic, only); s.TherapeuticQuality != s.Empathy {
		t.Errorf("empathy-only quality %g != empathy %g", s.TherapeuticQuality, s.Empathy)
	}
	// Hand-computed empathy: four matches ("I hear you", "That sounds
	// really hard", "makes sense", "you feel") → 1 - e^-4.
	if want := 1 - math.Exp(-4); math.Abs(e.Empathy-want) > 1e-12 {
		t.Errorf("empathy = %g, want %g", e.Empathy, want)
	}
	// Content: 0.5 + 0.5·(1-e^(-n/2)) for n second-person words, minus
	// 0.25 per directive phrase; blunt has 2 "you" and 3 directives
	// ("You should", "You need to", "get over it").
	if want := 0.5 + 0.5*(1-math.Exp(-1)) - 0.75; math.Abs(b.ContentScore-want) > 1e-12 {
		t.Errorf("blunt content = %g, want %g", b.ContentScore, want)
	}
}

func TestScoreReplyOverall(t *testing.T) {
	w := DefaultQualityWeights()
	reply := "It sounds like you feel stuck."
	ref := "It sounds like you're feeling stuck right now."
	s := ScoreReply(reply, ref, w)
	sim := (SentenceBLEU(reply, ref).Score/100 + SentenceCHRF(reply, ref)/100 + ROUGE(reply, ref).ROUGEL.F) / 3
	want := (s.TherapeuticQuality*w.Therapeutic + sim*w.Similarity) / (w.Therapeutic + w.Similarity)
	if math.Abs(s.OverallQuality-want) > 1e-12 {
		t.Errorf("overall = %g, want %g", s.OverallQuality, want)
	}
	if s := ScoreReply(reply, "", w); s.OverallQuality != s.TherapeuticQuality {
		t.Errorf("overall without reference %g != therapeutic %g", s.OverallQuality, s.TherapeuticQuality)
	}
}

func TestMITechniqueScore(t *testing.T) {
	if got := MITechniqueScore(MITechniqueCounts{}); got != 0 {
		t.Errorf("no techniques: %g", got)
	}
	one := 1 - math.Exp(-1)
	if got, want := MITechniqueScore(MITechniqueCounts{OpenQuestions: 1, Reflections: 1}), one/2; math.Abs(got-want) > 1e-12 {
		t.Errorf("open+reflection: %g, want %g", got, want)
	}
	if got := MITechniqueScore(MITechniqueCounts{ClosedQuestions: 5}); got != 0 {
		t.Errorf("closed questions only: %g, want 0 (clamped)", got)
	}
}

func FuzzKeywordMeasures(f *testing.F) {
	for _, s := range []string{"", "What? Why?", "on the one hand... on the other", "\xff\xfe", "You should!!!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc := ScoreReply(s, s, DefaultQualityWeights())
		for _, v := range []float64{sc.Empathy, sc.Reflection, sc.MITechniques, sc.Appropriateness, sc.TherapeuticQuality, sc.OverallQuality} {
			if v < 0 || v > 1 || math.IsNaN(v) {
				t.Fatalf("score %g outside [0,1] for %q", v, s)
			}
		}
		if code := KeywordBehaviour(s); indexOf(MIBehaviours, code.Behaviour) < 0 {
			t.Fatalf("behaviour %q", code.Behaviour)
		}
	})
}
