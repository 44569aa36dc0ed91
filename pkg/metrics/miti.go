package metrics

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/floats"
)

// MITI 4.2 summary-score thresholds (Moyers et al., 2016): the
// reflection-to-question ratio and the share of complex reflections.
const (
	MITIRQFair          = 1.0
	MITIRQGood          = 2.0
	MITIComplexReflFair = 0.40
	MITIComplexReflGood = 0.50
	MITIRatingBelowFair = "below fair"
	MITIRatingFair      = "fair"
	MITIRatingGood      = "good"
	MITIRatingUndefined = "undefined"
)

// MITISummary summarises the MI behaviour codes of a set of responses in
// the way MI trainers score a session. Ratios whose denominator is zero are
// NaN in Go and null in JSON.
type MITISummary struct {
	Responses          int `json:"responses"`
	Questions          int `json:"questions"`
	OpenQuestions      int `json:"open_questions"`
	ClosedQuestions    int `json:"closed_questions"`
	Reflections        int `json:"reflections"`
	SimpleReflections  int `json:"simple_reflections"`
	ComplexReflections int `json:"complex_reflections"`
	TherapistInput     int `json:"therapist_input"`
	Other              int `json:"other"`

	// ReflectionToQuestion is reflections/questions (+Inf with reflections
	// but no questions, NaN with neither).
	ReflectionToQuestion float64 `json:"-"`
	// PercentComplexReflections is complex/(simple+complex), from the
	// reflections whose subtype is known.
	PercentComplexReflections float64 `json:"-"`
	// PercentOpenQuestions is open/(open+closed), from the questions whose
	// subtype is known.
	PercentOpenQuestions float64 `json:"-"`
	// QuestionRate and ReflectionRate are per response (NaN without
	// responses). A good R:Q can come from asking fewer questions, so the
	// question rate is reported apart.
	QuestionRate   float64 `json:"-"`
	ReflectionRate float64 `json:"-"`

	RQRating string `json:"rq_rating"` // below fair, fair, good, undefined
	CRRating string `json:"cr_rating"`
}

// mitiJSON is MITISummary's JSON form: ratios as pointers, null when
// undefined.
type mitiJSON struct {
	mitiCounts
	QR  *float64 `json:"question_rate"`
	RR  *float64 `json:"reflection_rate"`
	RQ  *float64 `json:"reflection_to_question"`
	PCR *float64 `json:"percent_complex_reflections"`
	POQ *float64 `json:"percent_open_questions"`
}

type mitiCounts MITISummary // without its methods; the ratios are json:"-"

// MarshalJSON writes undefined ratios as null and +Inf R:Q as null with a
// rating of "good".
func (s MITISummary) MarshalJSON() ([]byte, error) {
	return json.Marshal(mitiJSON{mitiCounts(s), floats.FiniteOrNil(s.QuestionRate), floats.FiniteOrNil(s.ReflectionRate),
		floats.FiniteOrNil(s.ReflectionToQuestion), floats.FiniteOrNil(s.PercentComplexReflections), floats.FiniteOrNil(s.PercentOpenQuestions)})
}

// UnmarshalJSON reads what MarshalJSON writes: a null ratio is NaN, except
// a null R:Q rated "good" (reflections without questions), which is +Inf.
func (s *MITISummary) UnmarshalJSON(data []byte) error {
	var v mitiJSON
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*s = MITISummary(v.mitiCounts)
	s.QuestionRate, s.ReflectionRate = orNaN(v.QR), orNaN(v.RR)
	s.ReflectionToQuestion = orNaN(v.RQ)
	if v.RQ == nil && s.RQRating == MITIRatingGood {
		s.ReflectionToQuestion = math.Inf(1)
	}
	s.PercentComplexReflections, s.PercentOpenQuestions = orNaN(v.PCR), orNaN(v.POQ)
	return nil
}

func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// SummarizeMITI computes the MITI-style summary of one response code each.
func SummarizeMITI(codes []MICode) MITISummary {
	s := MITISummary{Responses: len(codes)}
	for _, c := range codes {
		switch c.Behaviour {
		case BehaviourQuestion:
			s.Questions++
			switch c.Subtype {
			case QuestionOpen:
				s.OpenQuestions++
			case QuestionClosed:
				s.ClosedQuestions++
			}
		case BehaviourReflection:
			s.Reflections++
			switch c.Subtype {
			case ReflectionSimple:
				s.SimpleReflections++
			case ReflectionComplex:
				s.ComplexReflections++
			}
		case BehaviourTherapistInput:
			s.TherapistInput++
		case BehaviourOther:
			s.Other++
		}
	}
	s.ReflectionToQuestion = ratio(s.Reflections, s.Questions)
	s.PercentComplexReflections = ratio(s.ComplexReflections, s.SimpleReflections+s.ComplexReflections)
	s.PercentOpenQuestions = ratio(s.OpenQuestions, s.OpenQuestions+s.ClosedQuestions)
	s.QuestionRate = ratio(s.Questions, s.Responses)
	s.ReflectionRate = ratio(s.Reflections, s.Responses)
	s.RQRating = rate(s.ReflectionToQuestion, MITIRQFair, MITIRQGood)
	s.CRRating = rate(s.PercentComplexReflections, MITIComplexReflFair, MITIComplexReflGood)
	return s
}

// ratio is num/den, +Inf for num>0 over 0 and NaN for 0/0.
func ratio(num, den int) float64 {
	if den == 0 {
		if num == 0 {
			return math.NaN()
		}
		return math.Inf(1)
	}
	return float64(num) / float64(den)
}

func rate(v, fair, good float64) string {
	switch {
	case math.IsNaN(v):
		return MITIRatingUndefined
	case v >= good:
		return MITIRatingGood
	case v >= fair:
		return MITIRatingFair
	}
	return MITIRatingBelowFair
}

// MITIGroupComparison compares the MITI summaries of sessions in two groups
// (such as AnnoMI's high- and low-quality demonstrations).
type MITIGroupComparison struct {
	Group    string      `json:"group"`
	Sessions int         `json:"sessions"`
	Pooled   MITISummary `json:"pooled"` // all responses of the group together
	// Means over sessions of the per-session values (sessions where a value
	// is undefined are left out of that mean; +Inf R:Q counts as 10). NaN
	// (null in JSON) when no session defines the value.
	MeanRQ           float64 `json:"-"`
	MeanComplexPct   float64 `json:"-"`
	MeanOpenPct      float64 `json:"-"`
	MeanQuestionRate float64 `json:"-"`
	MeanReflRate     float64 `json:"-"`
	RQFairOrBetter   float64 `json:"share_rq_fair_or_better"` // share of sessions
}

// MarshalJSON writes undefined means as null.
func (c MITIGroupComparison) MarshalJSON() ([]byte, error) {
	type plain MITIGroupComparison
	return json.Marshal(struct {
		plain
		RQ *float64 `json:"mean_rq"`
		CR *float64 `json:"mean_percent_complex"`
		OQ *float64 `json:"mean_percent_open"`
		QR *float64 `json:"mean_question_rate"`
		RR *float64 `json:"mean_reflection_rate"`
	}{plain(c), floats.FiniteOrNil(c.MeanRQ), floats.FiniteOrNil(c.MeanComplexPct), floats.FiniteOrNil(c.MeanOpenPct),
		floats.FiniteOrNil(c.MeanQuestionRate), floats.FiniteOrNil(c.MeanReflRate)})
}

// rqCap replaces an infinite per-session R:Q in means and rankings.
const rqCap = 10

// CompareMITIGroups summarises each session's codes and aggregates the
// sessions of each group; groups are returned in sorted order.
func CompareMITIGroups(sessions map[string][]MICode, groupOf func(session string) string) []MITIGroupComparison {
	codesByGroup := map[string][]MICode{}
	perSession := map[string][]MITISummary{}
	for id, codes := range sessions {
		g := groupOf(id)
		codesByGroup[g] = append(codesByGroup[g], codes...)
		perSession[g] = append(perSession[g], SummarizeMITI(codes))
	}
	var out []MITIGroupComparison
	for g, sums := range perSession {
		c := MITIGroupComparison{Group: g, Sessions: len(sums), Pooled: SummarizeMITI(codesByGroup[g])}
		var rq, cr, oq, qr, rr []float64
		fair := 0
		for _, s := range sums {
			rq = append(rq, capRQ(s.ReflectionToQuestion))
			cr = append(cr, s.PercentComplexReflections)
			oq = append(oq, s.PercentOpenQuestions)
			qr = append(qr, s.QuestionRate)
			rr = append(rr, s.ReflectionRate)
			if s.RQRating == MITIRatingFair || s.RQRating == MITIRatingGood {
				fair++
			}
		}
		c.MeanRQ, c.MeanComplexPct, c.MeanOpenPct = meanDefined(rq), meanDefined(cr), meanDefined(oq)
		c.MeanQuestionRate, c.MeanReflRate = meanDefined(qr), meanDefined(rr)
		c.RQFairOrBetter = float64(fair) / float64(len(sums))
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out
}

func capRQ(v float64) float64 {
	if math.IsInf(v, 1) {
		return rqCap
	}
	return v
}

func meanDefined(vs []float64) float64 {
	sum, n := 0.0, 0
	for _, v := range vs {
		if !math.IsNaN(v) {
			sum += v
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// AUC is the probability that a random positive scores higher than a random
// negative (ties count half): how well a score separates two groups.
// Undefined scores (NaN) are skipped; it is NaN if a group is empty.
func AUC(positive, negative []float64) float64 {
	wins, pairs := 0.0, 0.0
	for _, p := range positive {
		if math.IsNaN(p) {
			continue
		}
		for _, n := range negative {
			if math.IsNaN(n) {
				continue
			}
			pairs++
			switch {
			case p > n:
				wins++
			case p == n:
				wins += 0.5
			}
		}
	}
	if pairs == 0 {
		return math.NaN()
	}
	return wins / pairs
}

// GoldMICodes returns the expert codes of AnnoMI examples: the main
// behaviour, with the annotated subtype of a question or reflection.
func GoldMICodes(examples []MIExample) []MICode {
	codes := make([]MICode, len(examples))
	for i, ex := range examples {
		codes[i] = MICode{Behaviour: ex.Behaviour}
		switch ex.Behaviour {
		case BehaviourQuestion:
			codes[i].Subtype = ex.QuestionSubtype
		case BehaviourReflection:
			codes[i].Subtype = ex.ReflectionSubtype
		}
	}
	return codes
}

// sessionCodes groups codes (aligned with examples) by transcript.
func sessionCodes(examples []MIExample, codes []MICode) (map[string][]MICode, map[string]string) {
	sessions := map[string][]MICode{}
	quality := map[string]string{}
	for i, ex := range examples {
		id := strconv.Itoa(ex.Transcript)
		sessions[id] = append(sessions[id], codes[i])
		quality[id] = ex.Quality
	}
	return sessions, quality
}

// MITIByQuality compares the MITI summaries of AnnoMI's high- and
// low-quality sessions, coding each therapist utterance with codes[i]
// (aligned with examples: gold codes or a classifier's predictions).
func MITIByQuality(examples []MIExample, codes []MICode) []MITIGroupComparison {
	sessions, quality := sessionCodes(examples, codes)
	return CompareMITIGroups(sessions, func(id string) string { return quality[id] })
}

// MITISeparation measures how well each per-session MITI value separates
// high- from low-quality AnnoMI sessions, as the AUC of "high scores above
// low" (0.5: no separation). For the question rate, where fewer questions
// is better MI, the AUC is of "high scores below low".
func MITISeparation(examples []MIExample, codes []MICode) map[string]float64 {
	sessions, quality := sessionCodes(examples, codes)
	values := map[string][2][]float64{} // measure → {high, low}
	for id, c := range sessions {
		s := SummarizeMITI(c)
		g := 0
		if quality[id] != data.QualityHigh {
			g = 1
		}
		for name, v := range map[string]float64{
			"reflection_to_question":      capRQ(s.ReflectionToQuestion),
			"percent_complex_reflections": s.PercentComplexReflections,
			"percent_open_questions":      s.PercentOpenQuestions,
			"reflection_rate":             s.ReflectionRate,
			"question_rate":               -s.QuestionRate,
		} {
			pair := values[name]
			pair[g] = append(pair[g], v)
			values[name] = pair
		}
	}
	out := map[string]float64{}
	for name, pair := range values {
		out[name] = AUC(pair[0], pair[1])
	}
	return out
}
