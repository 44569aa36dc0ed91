package metrics

import (
	"math"
	"regexp"
	"strings"
)

// Keyword measures of therapeutic quality, after the original design's
// approach: hand-written lexicons and regular expressions, counted in a
// reply. They are transparent and cheap but blind to meaning; the learned
// MIClassifier is the better judge of MI behaviour, and both are reported
// on the same cross-validation folds (CrossValidateMI).
//
// All patterns are matched case-insensitively on the reply with runs of
// whitespace collapsed and curly apostrophes straightened.

// mustPatterns compiles case-insensitive, word-bounded alternatives.
func mustPatterns(alts ...string) *regexp.Regexp {
	return regexp.MustCompile(`(?i)\b(?:` + strings.Join(alts, "|") + `)\b`)
}

var (
	// EmpathyPatterns: naming or validating the client's feelings and
	// showing understanding.
	empathyPatterns = mustPatterns(
		`i (?:can )?(?:understand|imagine|see)(?: how| why| that)?`,
		`i hear (?:you|that|how|what)`,
		`(?:that|it|this) (?:sounds|must be|seems) (?:really |very |so |quite |incredibly )?(?:hard|difficult|tough|painful|frustrating|overwhelming|scary|stressful|exhausting|upsetting|lonely|confusing)`,
		`(?:that|it) must (?:be|have been|feel)`,
		`i'?m (?:so |really |very )?sorry`,
		`(?:that'?s|it'?s|that is|it is) (?:completely |totally |very )?(?:understandable|normal|natural|okay|ok|valid)`,
		`makes (?:a lot of |total |perfect )?sense`,
		`you(?:'re| are) not alone`,
		`(?:your|those|these) feelings`,
		`you (?:feel|felt|are feeling|'re feeling|must feel|might feel|may feel)`,
		`how (?:hard|difficult|painful|frustrating|scary) (?:this|that|it)`,
		`thank you for (?:sharing|telling|being|opening)`,
	)
	// ReflectionPatterns: restating or interpreting what the client said.
	reflectionPatterns = mustPatterns(
		`(?:it )?sounds (?:like|as if|as though)`,
		`it (?:seems|feels|looks) (?:like|as if|that) you`,
		`what i(?:'m| am) hearing`,
		`i(?:'m| am) hearing`,
		`i hear you saying`,
		`you(?:'re| are) (?:saying|telling me|wondering|feeling|worried|concerned|not sure|unsure|thinking)`,
		`you (?:feel|felt|think|thought|believe|want|wish|hope|mentioned|said|noticed)`,
		`(?:so|and) you(?:'re| are|'ve| have)?`,
		`on (?:the )?one hand`,
		`on the other hand`,
		`part of you`,
		`you(?:'ve| have) been`,
		`for you`,
		`you(?:'re| are) (?:really |kind of |sort of )?(?:ready|struggling|torn|stuck)`,
	)
	// AffirmationPatterns: recognising the client's strengths and efforts.
	affirmationPatterns = mustPatterns(
		`(?:that'?s|that is|it'?s|it is) (?:really |so |very )?(?:great|wonderful|excellent|impressive|fantastic|amazing|brave|courageous|admirable)`,
		`good for you`,
		`well done`,
		`(?:great|good|nice) (?:job|work|point|idea|question)`,
		`(?:it|that) takes (?:a lot of )?(?:courage|strength|guts)`,
		`you(?:'ve| have) (?:done|worked|made|managed|accomplished|achieved|shown)`,
		`you(?:'re| are) (?:clearly |really |very )?(?:committed|determined|strong|capable|resourceful|brave|motivated|dedicated|doing (?:great|well|a great job))`,
		`i (?:really )?(?:appreciate|admire|respect)`,
		`(?:you should be|i'?m|i am) (?:so |really )?proud`,
		`your (?:strength|effort|efforts|commitment|courage|determination|honesty)`,
	)
	// SummaryPatterns: pulling several things the client said together.
	summaryPatterns = mustPatterns(
		`to sum(?:marize|marise| up| it up)`,
		`in summary`,
		`let me (?:see if i|make sure i|recap|summarize|summarise|just pull|pull)`,
		`(?:so far|overall),? (?:we'?ve|you'?ve|i'?ve)`,
		`putting (?:it|this|that) (?:all )?together`,
		`what i(?:'ve| have) heard`,
		`you(?:'ve| have) (?:told me|mentioned|said) (?:a few|several|a couple of|some|many)`,
		`on (?:the )?one hand.*on the other`,
		`a few (?:things|reasons)`,
		`(?:a couple of|several) (?:things|reasons)`,
	)
	// Question openers. An open question invites elaboration; a closed one
	// can be answered with yes/no or a fact.
	openQuestionStart   = regexp.MustCompile(`(?i)^(?:what|how|why|in what ways?|tell me|describe|help me understand|walk me through|could you (?:tell|share|describe|say more)|can you (?:tell|share|describe|say more)|would you (?:tell|share|describe)|i(?:'m| am) (?:wondering|curious)|where|when|who|which)\b`)
	closedQuestionStart = regexp.MustCompile(`(?i)^(?:do|does|did|are|is|was|were|have|has|had|can|could|will|would|should|shall|am|may|might|must|any|anything|anyone|isn'?t|aren'?t|don'?t|doesn'?t|didn'?t|won'?t|wouldn'?t|couldn'?t|haven'?t|right|okay|ok|yeah|yes|no)\b`)
	// Open questions phrased as requests, often without a question mark.
	openImperative = regexp.MustCompile(`(?i)^(?:tell me|describe|help me understand|walk me through|i(?:'m| am) (?:wondering|curious))\b`)
	// Leading fillers stripped before looking at a sentence's first word.
	leadingFillers = regexp.MustCompile(`(?i)^(?:(?:so|and|but|okay|ok|well|um|uh|yeah|yes|alright|all right|now|then|oh|hmm|mm-hmm|right|great|good)\b[\s,.-]*)+`)
	// InputPatterns: giving information, advice or direction.
	inputPatterns = mustPatterns(
		`you (?:should|must|need to|have to|ought to|might want to|may want to)`,
		`i (?:would )?(?:recommend|suggest|advise|encourage)`,
		`i(?:'d| would) like (?:to|you to)`,
		`(?:it'?s|it is) (?:important|essential|necessary|recommended|best)`,
		`(?:research|studies|evidence|data|guidelines) (?:shows?|suggests?|says?|indicates?)`,
		`(?:the )?(?:doctor|physician|nurse|pharmacist|medication|medicine|dose|treatment|therapy|program|programme|appointment|prescription)`,
		`let'?s`,
		`we (?:can|could|will|'ll|might)`,
		`one (?:thing|option|way)`,
		`(?:some|many|most|a lot of) (?:people|folks|patients|clients)`,
		`\d+ (?:percent|%|times|days|weeks|months|years|drinks|cigarettes|mg|minutes|hours)`,
	)
	// Directive or judgemental language, inconsistent with MI.
	mismatchPatterns = mustPatterns(
		`you (?:should|must|have to|need to|ought to)`,
		`you(?:'re| are) (?:wrong|lazy|stupid|crazy|weak|being (?:silly|ridiculous|dramatic))`,
		`(?:just )?(?:get over it|calm down|stop (?:it|complaining|whining))`,
		`(?:that'?s|that is) (?:wrong|stupid|ridiculous|silly|bad)`,
		`why (?:didn'?t|don'?t|won'?t|can'?t) you`,
		`if i were you`,
		`you(?:'ll| will) never`,
	)
	// Client-centred content: talk about the client and their situation.
	clientCentredPatterns = mustPatterns(`you`, `your`, `you'?re`, `you'?ve`, `yourself`)
	sentenceSplit         = regexp.MustCompile(`[^.?!]+[.?!]*`)
)

// normaliseReply collapses whitespace and straightens apostrophes.
func normaliseReply(text string) string {
	text = strings.NewReplacer("’", "'", "‘", "'", "“", `"`, "”", `"`).Replace(text)
	return strings.Join(strings.Fields(text), " ")
}

// sentences splits a reply into trimmed sentences with their final marks.
func sentences(text string) []string {
	var out []string
	for _, s := range sentenceSplit.FindAllString(text, -1) {
		if s = strings.TrimSpace(s); strings.ContainsFunc(s, isLetterOrDigit) {
			out = append(out, s)
		}
	}
	return out
}

func isLetterOrDigit(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r > 127
}

// questionKind classifies a sentence ending in "?" as open or closed by its
// first word after fillers; other question sentences count as closed.
func questionKind(sentence string) string {
	s := leadingFillers.ReplaceAllString(sentence, "")
	if openQuestionStart.MatchString(s) {
		return QuestionOpen
	}
	return QuestionClosed
}

// MITechniqueCounts are the keyword counts of MI techniques in a reply.
type MITechniqueCounts struct {
	OpenQuestions   int `json:"open_questions"`
	ClosedQuestions int `json:"closed_questions"`
	Reflections     int `json:"reflections"`
	Affirmations    int `json:"affirmations"`
	Summaries       int `json:"summaries"`
}

// CountMITechniques counts MI techniques by keyword: each sentence ending in
// "?" is an open or closed question (by its opening words, or an open
// opener like "tell me" or "I'm wondering" anywhere), reflections,
// affirmations and summaries are pattern matches.
func CountMITechniques(text string) MITechniqueCounts {
	text = normaliseReply(text)
	var c MITechniqueCounts
	for _, s := range sentences(text) {
		switch {
		case strings.HasSuffix(s, "?"):
			if questionKind(s) == QuestionOpen {
				c.OpenQuestions++
			} else {
				c.ClosedQuestions++
			}
		case openImperative.MatchString(leadingFillers.ReplaceAllString(s, "")):
			c.OpenQuestions++ // an imperative or "I'm wondering" question without "?"
		}
	}
	c.Reflections = len(reflectionPatterns.FindAllStringIndex(text, -1))
	c.Affirmations = len(affirmationPatterns.FindAllStringIndex(text, -1))
	c.Summaries = len(summaryPatterns.FindAllStringIndex(text, -1))
	return c
}

// KeywordBehaviour maps the keyword measures to AnnoMI's four therapist
// behaviours, in this order of precedence:
//  1. question — a sentence ends in "?" (open if any such sentence opens
//     like an open question, else closed), or an open-question imperative
//     ("tell me…", "I'm wondering…");
//  2. reflection — a reflection or summary pattern matches (complex when a
//     summary pattern, a feeling word or "part of you"/"on one hand"
//     matches, else simple);
//  3. therapist_input — an information/advice pattern matches or the
//     utterance has 25 words or more;
//  4. other — everything else (acknowledgements, affirmations, fillers).
func KeywordBehaviour(text string) MICode {
	c := CountMITechniques(text)
	norm := normaliseReply(text)
	switch {
	case c.OpenQuestions > 0:
		return MICode{BehaviourQuestion, QuestionOpen}
	case c.ClosedQuestions > 0:
		return MICode{BehaviourQuestion, QuestionClosed}
	case c.Reflections > 0 || c.Summaries > 0:
		if c.Summaries > 0 || complexReflectionCue.MatchString(norm) {
			return MICode{BehaviourReflection, ReflectionComplex}
		}
		return MICode{BehaviourReflection, ReflectionSimple}
	case inputPatterns.MatchString(norm) || len(strings.Fields(norm)) >= 25:
		return MICode{BehaviourTherapistInput, ""}
	}
	return MICode{BehaviourOther, ""}
}

// complexReflectionCue marks reflections that add meaning or feeling.
var complexReflectionCue = mustPatterns(
	`part of you`, `on (?:the )?one hand`, `on the other hand`, `(?:it )?sounds like`,
	`you (?:feel|felt|'re feeling|are feeling)`, `(?:worried|scared|afraid|frustrated|angry|sad|hopeful|torn|stuck|ready|important|matters|value|values)`,
)

// QualityWeights are the weights of the composite keyword measures. Each
// group is normalised by its sum, so only ratios matter.
type QualityWeights struct {
	// Therapeutic quality.
	Empathy         float64 `json:"empathy"`
	Reflection      float64 `json:"reflection"`
	MITechniques    float64 `json:"mi_techniques"`
	Appropriateness float64 `json:"appropriateness"`
	// Overall quality: therapeutic quality and similarity to the reference
	// (the mean of BLEU/100, chrF/100 and ROUGE-L F).
	Therapeutic float64 `json:"therapeutic"`
	Similarity  float64 `json:"similarity"`
	// Appropriate length range in words; outside it the length score
	// falls linearly to 0 at half the minimum or twice the maximum.
	MinWords int `json:"min_words"`
	MaxWords int `json:"max_words"`
}

// DefaultQualityWeights returns the default weights.
func DefaultQualityWeights() QualityWeights {
	return QualityWeights{
		Empathy: 0.3, Reflection: 0.3, MITechniques: 0.25, Appropriateness: 0.15,
		Therapeutic: 0.7, Similarity: 0.3,
		MinWords: 10, MaxWords: 200,
	}
}

// TherapeuticScores are the keyword measures of one reply, each in [0, 1]
// (counts aside).
type TherapeuticScores struct {
	Empathy            float64           `json:"empathy"`
	Reflection         float64           `json:"reflection"`
	MITechniques       float64           `json:"mi_techniques"`
	Techniques         MITechniqueCounts `json:"technique_counts"`
	LengthScore        float64           `json:"length_score"`
	ContentScore       float64           `json:"content_score"`
	Appropriateness    float64           `json:"appropriateness"`
	TherapeuticQuality float64           `json:"therapeutic_quality"`
	// OverallQuality is set by ScoreReply when a reference is given; it
	// equals TherapeuticQuality otherwise.
	OverallQuality float64 `json:"overall_quality"`
}

// saturate maps a non-negative count to [0, 1): 1 - exp(-n/scale), so the
// first matches count most.
func saturate(n int, scale float64) float64 { return 1 - math.Exp(-float64(n)/scale) }

// EmpathyScore is the saturating count of empathy patterns.
func EmpathyScore(text string) float64 {
	return saturate(len(empathyPatterns.FindAllStringIndex(normaliseReply(text), -1)), 1)
}

// ReflectionScore is the saturating count of reflection and summary
// patterns (a summary is a collection of reflections).
func ReflectionScore(text string) float64 { return reflectionScore(CountMITechniques(text)) }

func reflectionScore(c MITechniqueCounts) float64 { return saturate(c.Reflections+2*c.Summaries, 1) }

// MITechniqueScore rewards MI-consistent techniques: open questions,
// reflections, affirmations and summaries each contribute up to a quarter
// (saturating in their count), and closed questions beyond the open ones
// take away up to a quarter.
func MITechniqueScore(c MITechniqueCounts) float64 {
	s := (saturate(c.OpenQuestions, 1) + saturate(c.Reflections, 1) + saturate(c.Affirmations, 1) + saturate(c.Summaries, 1)) / 4
	if extra := c.ClosedQuestions - c.OpenQuestions; extra > 0 {
		s -= saturate(extra, 1) / 4
	}
	return min(max(s, 0), 1)
}

// LengthScore is 1 inside [minWords, maxWords] and falls linearly to 0 at
// minWords/2 and 2·maxWords.
func LengthScore(words, minWords, maxWords int) float64 {
	switch {
	case words >= minWords && words <= maxWords:
		return 1
	case words < minWords:
		lo := float64(minWords) / 2
		return min(max((float64(words)-lo)/(float64(minWords)-lo), 0), 1)
	default:
		return min(max((2*float64(maxWords)-float64(words))/float64(maxWords), 0), 1)
	}
}

// ContentScore is the appropriateness of a reply's content: it starts from
// how client-centred the reply is (second-person references, saturating)
// and loses 0.25 per directive or judgemental phrase, clamped to [0, 1].
func ContentScore(text string) float64 {
	norm := normaliseReply(text)
	s := 0.5 + 0.5*saturate(len(clientCentredPatterns.FindAllStringIndex(norm, -1)), 2)
	s -= 0.25 * float64(len(mismatchPatterns.FindAllStringIndex(norm, -1)))
	return min(max(s, 0), 1)
}

func weighted(pairs ...float64) float64 {
	sum, total := 0.0, 0.0
	for i := 0; i+1 < len(pairs); i += 2 {
		sum += pairs[i] * pairs[i+1]
		total += pairs[i+1]
	}
	if total == 0 {
		return 0
	}
	return sum / total
}

// ScoreTherapeutic computes the keyword measures and the therapeutic
// quality composite of a reply.
func ScoreTherapeutic(text string, w QualityWeights) TherapeuticScores {
	c := CountMITechniques(text)
	s := TherapeuticScores{
		Empathy:      EmpathyScore(text),
		Reflection:   reflectionScore(c),
		Techniques:   c,
		MITechniques: MITechniqueScore(c),
		LengthScore:  LengthScore(len(strings.Fields(text)), w.MinWords, w.MaxWords),
		ContentScore: ContentScore(text),
	}
	s.Appropriateness = (s.LengthScore + s.ContentScore) / 2
	s.TherapeuticQuality = weighted(s.Empathy, w.Empathy, s.Reflection, w.Reflection,
		s.MITechniques, w.MITechniques, s.Appropriateness, w.Appropriateness)
	s.OverallQuality = s.TherapeuticQuality
	return s
}

// ScoreReply computes the keyword measures of a reply and, with a reference
// reply, the overall quality: therapeutic quality weighted with the mean
// of BLEU/100, chrF/100 and ROUGE-L F against the reference.
func ScoreReply(reply, reference string, w QualityWeights) TherapeuticScores {
	s := ScoreTherapeutic(reply, w)
	if reference != "" {
		sim := (SentenceBLEU(reply, reference).Score/100 + SentenceCHRF(reply, reference)/100 + ROUGE(reply, reference).ROUGEL.F) / 3
		s.OverallQuality = weighted(s.TherapeuticQuality, w.Therapeutic, sim, w.Similarity)
	}
	return s
}
