package metrics

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
)

func codes(spec string) []MICode {
	var out []MICode
	for _, f := range strings.Fields(spec) {
		switch f {
		case "OQ":
			out = append(out, MICode{BehaviourQuestion, QuestionOpen})
		case "CQ":
			out = append(out, MICode{BehaviourQuestion, QuestionClosed})
		case "Q":
			out = append(out, MICode{BehaviourQuestion, ""})
		case "SR":
			out = append(out, MICode{BehaviourReflection, ReflectionSimple})
		case "CR":
			out = append(out, MICode{BehaviourReflection, ReflectionComplex})
		case "R":
			out = append(out, MICode{BehaviourReflection, ""})
		case "TI":
			out = append(out, MICode{BehaviourTherapistInput, ""})
		case "O":
			out = append(out, MICode{BehaviourOther, ""})
		}
	}
	return out
}

func TestSummarizeMITI(t *testing.T) {
	s := SummarizeMITI(codes("OQ CQ Q SR CR CR R TI O O"))
	if s.Responses != 10 || s.Questions != 3 || s.OpenQuestions != 1 || s.ClosedQuestions != 1 ||
		s.Reflections != 4 || s.SimpleReflections != 1 || s.ComplexReflections != 2 || s.TherapistInput != 1 || s.Other != 2 {
		t.Fatalf("counts %+v", s)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	if !near(s.ReflectionToQuestion, 4.0/3) || !near(s.PercentComplexReflections, 2.0/3) || !near(s.PercentOpenQuestions, 0.5) ||
		!near(s.QuestionRate, 0.3) || !near(s.ReflectionRate, 0.4) {
		t.Errorf("ratios %+v", s)
	}
	if s.RQRating != MITIRatingFair || s.CRRating != MITIRatingGood {
		t.Errorf("ratings %q %q", s.RQRating, s.CRRating)
	}
}

func TestMITIThresholds(t *testing.T) {
	for _, c := range []struct {
		spec        string
		rq, cr      string
		rqIsInf     bool
		rqUndefined bool
	}{
		{"Q R", MITIRatingFair, MITIRatingUndefined, false, false},        // R:Q = 1 exactly
		{"Q R R", MITIRatingGood, MITIRatingUndefined, false, false},      // R:Q = 2 exactly
		{"Q Q R", MITIRatingBelowFair, MITIRatingUndefined, false, false}, // 0.5
		{"R", MITIRatingGood, MITIRatingUndefined, true, false},           // reflections, no questions
		{"O TI", MITIRatingUndefined, MITIRatingUndefined, false, true},   // neither
		{"CR CR SR SR SR", MITIRatingGood, MITIRatingFair, true, false},   // %CR = 40%
		{"CR SR", MITIRatingGood, MITIRatingGood, true, false},            // %CR = 50%
		{"CR SR SR SR", MITIRatingGood, MITIRatingBelowFair, true, false}, // %CR = 25%
	} {
		s := SummarizeMITI(codes(c.spec))
		if s.RQRating != c.rq || s.CRRating != c.cr || math.IsInf(s.ReflectionToQuestion, 1) != c.rqIsInf ||
			math.IsNaN(s.ReflectionToQuestion) != c.rqUndefined {
			t.Errorf("%q: R:Q %g (%s), %%CR %g (%s); want %s, %s", c.spec, s.ReflectionToQuestion, s.RQRating,
				s.PercentComplexReflections, s.CRRating, c.rq, c.cr)
		}
	}
}

func TestMITIJSON(t *testing.T) {
	raw, err := json.Marshal(SummarizeMITI(codes("R O")))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m["reflection_to_question"] != nil || m["percent_open_questions"] != nil || m["reflection_rate"] != 0.5 || m["rq_rating"] != "good" {
		t.Errorf("JSON %s", raw)
	}
	if _, err := json.Marshal(CompareMITIGroups(map[string][]MICode{"a": codes("O")}, func(string) string { return "g" })); err != nil {
		t.Errorf("group comparison with undefined means: %v", err)
	}

	// Round trips: undefined ratios come back as NaN, R:Q without questions as +Inf.
	same := func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
	for _, spec := range []string{"R O", "OQ CQ SR CR CR", "O O", ""} {
		want := SummarizeMITI(codes(spec))
		raw, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		var got MITISummary
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatalf("%q: %v", spec, err)
		}
		if !same(got.ReflectionToQuestion, want.ReflectionToQuestion) || !same(got.PercentComplexReflections, want.PercentComplexReflections) ||
			!same(got.PercentOpenQuestions, want.PercentOpenQuestions) || !same(got.QuestionRate, want.QuestionRate) ||
			got.Reflections != want.Reflections || got.RQRating != want.RQRating {
			t.Errorf("%q: round trip %+v, want %+v", spec, got, want)
		}
	}
}

func TestAUC(t *testing.T) {
	if got := AUC([]float64{3, 4}, []float64{1, 2}); got != 1 {
		t.Errorf("perfect separation AUC = %g", got)
	}
	if got := AUC([]float64{1, 3}, []float64{2, 3, math.NaN()}); got != (0+0+1+0.5)/4 {
		t.Errorf("AUC = %g, want 0.375", got)
	}
	if got := AUC(nil, []float64{1}); !math.IsNaN(got) {
		t.Errorf("empty AUC = %g", got)
	}
}

func TestCompareMITIGroups(t *testing.T) {
	sessions := map[string][]MICode{
		"s1": codes("R R Q O"),   // R:Q 2
		"s2": codes("R"),         // R:Q +Inf → 10 in the mean
		"s3": codes("Q Q TI TI"), // R:Q 0
	}
	group := map[string]string{"s1": "high", "s2": "high", "s3": "low"}
	got := CompareMITIGroups(sessions, func(id string) string { return group[id] })
	if len(got) != 2 || got[0].Group != "high" || got[1].Group != "low" {
		t.Fatalf("groups %+v", got)
	}
	h := got[0]
	if h.Sessions != 2 || h.Pooled.Reflections != 3 || h.Pooled.Questions != 1 || h.MeanRQ != 6 || h.RQFairOrBetter != 1 {
		t.Errorf("high group %+v", h)
	}
	if l := got[1]; l.MeanRQ != 0 || l.RQFairOrBetter != 0 || l.MeanQuestionRate != 0.5 {
		t.Errorf("low group %+v", l)
	}
}

// TestMITIOnAnnoMIGold is the sanity check with the experts' own codes:
// AnnoMI's high-quality demonstrations reflect more and rate better.
func TestMITIOnAnnoMIGold(t *testing.T) {
	exs := loadAnnoMIExamples(t)
	gold := GoldMICodes(exs)
	byQ := MITIByQuality(exs, gold)
	high, low := byQ[0], byQ[1]
	if high.Group != data.QualityHigh || high.Sessions != 110 || low.Sessions != 23 {
		t.Fatalf("groups %+v", byQ)
	}
	if high.Pooled.ReflectionToQuestion < 0.9 || low.Pooled.ReflectionToQuestion > 0.4 {
		t.Errorf("pooled R:Q high %.2f, low %.2f", high.Pooled.ReflectionToQuestion, low.Pooled.ReflectionToQuestion)
	}
	if high.RQFairOrBetter < 2*low.RQFairOrBetter {
		t.Errorf("sessions with fair R:Q: high %.2f, low %.2f", high.RQFairOrBetter, low.RQFairOrBetter)
	}
	auc := MITISeparation(exs, gold)
	if auc["reflection_to_question"] < 0.75 || auc["reflection_rate"] < 0.85 {
		t.Errorf("gold MITI separation AUCs %v", auc)
	}
}
