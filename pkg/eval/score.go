package eval

import (
	"fmt"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/metrics"
)

// ExampleResult is one evaluated example: a line of examples.jsonl.
type ExampleResult struct {
	Example
	// Prompt (in Example) holds the messages the model saw, after fitting;
	// Context is the client turn the reply answers, in full (the MI
	// classifier's context).
	Context         string `json:"context"`
	PromptTokens    int    `json:"prompt_tokens"`
	DroppedTurns    int    `json:"prompt_dropped_turns"`
	PromptTruncated bool   `json:"prompt_truncated"`

	Generated string `json:"generated"`
	// Safety is what the safety gate decided for the prompt.
	Safety    *SafetyOutcome `json:"safety,omitempty"`
	NewTokens int            `json:"new_tokens"`
	// Stopped tells that generation ended on a stop token rather than at
	// the new-token limit.
	Stopped bool `json:"stopped"`

	Metrics ExampleMetrics `json:"metrics"`
	// Behaviour is the MI classifier's code of the generated reply,
	// ReferenceBehaviour that of the reference (Example.Gold holds the
	// expert code, where there is one).
	Behaviour          metrics.MIPrediction `json:"behaviour"`
	ReferenceBehaviour metrics.MIPrediction `json:"reference_behaviour"`

	promptIDs []int32 // the fitted prompt's token ids
}

// ExampleMetrics are the scores of one generated reply against its
// reference.
type ExampleMetrics struct {
	// BLEU and chrF on sacreBLEU's 0–100 scale, ROUGE F-measures in [0, 1].
	metrics.TextScores
	// BERTScore against the reference (nil when BERTScore was not computed).
	BERTScore *metrics.PRF `json:"bertscore,omitempty"`
	// Therapeutic holds the keyword measures of the generated reply
	// (its overall quality includes the similarity to the reference);
	// ReferenceTherapeutic those of the reference, for comparison.
	Therapeutic          metrics.TherapeuticScores `json:"therapeutic"`
	ReferenceTherapeutic metrics.TherapeuticScores `json:"reference_therapeutic"`
	GeneratedWords       int                       `json:"generated_words"`
	ReferenceWords       int                       `json:"reference_words"`
}

// scoreExample computes every per-example measure but BERTScore, which
// needs the encoder and is filled in by the caller.
func scoreExample(r *ExampleResult, clf *metrics.MIClassifier, w metrics.QualityWeights) {
	gen, ref := r.Generated, r.Reference
	r.Metrics.TextScores = metrics.ScoreText(gen, ref)
	r.Metrics.Therapeutic = metrics.ScoreReply(gen, ref, w)
	r.Metrics.ReferenceTherapeutic = metrics.ScoreTherapeutic(ref, w)
	r.Metrics.GeneratedWords = len(strings.Fields(gen))
	r.Metrics.ReferenceWords = len(strings.Fields(ref))
	r.Behaviour = clf.Classify(gen, r.Context)
	r.ReferenceBehaviour = clf.Classify(ref, r.Context)
}

// Aggregate summarises the evaluated examples of one source, or of all.
type Aggregate struct {
	Examples int           `json:"examples"`
	Text     TextAggregate `json:"text"`
	// BERTScore is the mean over examples (nil when not computed).
	BERTScore   *metrics.PRF         `json:"bertscore,omitempty"`
	Therapeutic TherapeuticAggregate `json:"therapeutic"`
	Behaviour   BehaviourAggregate   `json:"mi_behaviour"`
	MITI        MITIAggregate        `json:"miti"`
	Length      LengthAggregate      `json:"length"`
}

// TextAggregate holds the text metrics: means of the sentence scores and
// sacreBLEU's corpus BLEU and chrF (statistics summed over the segments
// before the score is taken). ROUGE has no corpus form other than the mean,
// which is what rouge-score's aggregation reports.
type TextAggregate struct {
	BLEU       float64 `json:"bleu"`
	CorpusBLEU float64 `json:"corpus_bleu"`
	CHRF       float64 `json:"chrf"`
	CorpusCHRF float64 `json:"corpus_chrf"`
	ROUGE1     float64 `json:"rouge1"`
	ROUGE2     float64 `json:"rouge2"`
	ROUGEL     float64 `json:"rougeL"`
}

// TherapeuticAggregate compares the mean keyword measures of the generated
// replies with those of the references.
type TherapeuticAggregate struct {
	Generated TherapeuticMeans `json:"generated"`
	Reference TherapeuticMeans `json:"reference"`
}

// TherapeuticMeans are means of metrics.TherapeuticScores over replies;
// technique counts become mean counts per reply. OverallQuality (which
// includes the similarity to the reference) exists for generated replies
// only.
type TherapeuticMeans struct {
	Empathy            float64        `json:"empathy"`
	Reflection         float64        `json:"reflection"`
	MITechniques       float64        `json:"mi_techniques"`
	Techniques         TechniqueMeans `json:"technique_counts"`
	LengthScore        float64        `json:"length_score"`
	ContentScore       float64        `json:"content_score"`
	Appropriateness    float64        `json:"appropriateness"`
	TherapeuticQuality float64        `json:"therapeutic_quality"`
	OverallQuality     *float64       `json:"overall_quality,omitempty"`
}

// TechniqueMeans are mean keyword counts of MI techniques per reply.
type TechniqueMeans struct {
	OpenQuestions   float64 `json:"open_questions"`
	ClosedQuestions float64 `json:"closed_questions"`
	Reflections     float64 `json:"reflections"`
	Affirmations    float64 `json:"affirmations"`
	Summaries       float64 `json:"summaries"`
}

// BehaviourAggregate compares the distribution of MI behaviours (the
// learned classifier's codes) of the generated replies with that of the
// references; ReferenceGold is the experts' distribution where every
// example has an expert code (AnnoMI). Agreement is the share of examples
// whose generated reply has the behaviour the classifier gives the
// reference: did the model do what the counsellor did?
type BehaviourAggregate struct {
	Generated     Distribution  `json:"generated"`
	Reference     Distribution  `json:"reference"`
	ReferenceGold *Distribution `json:"reference_gold,omitempty"`
	Agreement     float64       `json:"agreement"`
}

// Distribution counts replies per MI behaviour (every behaviour of
// metrics.MIBehaviours is present) and gives their shares.
type Distribution struct {
	Counts map[string]int     `json:"counts"`
	Shares map[string]float64 `json:"shares"`
}

// MITIAggregate holds MITI-style summaries of the generated replies, of the
// references as the classifier codes them and, where every example has an
// expert code, of the references as the experts coded them.
type MITIAggregate struct {
	Generated     metrics.MITISummary  `json:"generated"`
	Reference     metrics.MITISummary  `json:"reference"`
	ReferenceGold *metrics.MITISummary `json:"reference_gold,omitempty"`
}

// LengthAggregate describes the lengths of the replies and prompts.
type LengthAggregate struct {
	GeneratedWords  float64 `json:"generated_words_mean"`
	ReferenceWords  float64 `json:"reference_words_mean"`
	NewTokens       float64 `json:"new_tokens_mean"`
	StoppedShare    float64 `json:"stopped_share"` // ended on a stop token, not at the limit
	Empty           int     `json:"empty_replies"`
	PromptTokens    float64 `json:"prompt_tokens_mean"`
	PromptsCut      int     `json:"prompts_cut"` // prompts that lost turns or words to fit
	DroppedTurnsSum int     `json:"prompt_dropped_turns"`
}

// Summarize aggregates evaluated examples (at least one). The corpus
// scores come from metrics.CorpusBLEU and metrics.CorpusCHRF over the same
// strings; every other value is a mean, count or summary of the per-example
// results.
func Summarize(results []ExampleResult) (Aggregate, error) {
	n := len(results)
	if n == 0 {
		return Aggregate{}, fmt.Errorf("eval: nothing to summarize")
	}
	a := Aggregate{Examples: n}
	hyps := make([]string, n)
	refs := make([]string, n)
	var gen, ref, gold []metrics.MICode
	var genTher, refTher []metrics.TherapeuticScores
	var bert metrics.PRF
	hasBERT := true
	agree := 0
	for i := range results {
		r := &results[i]
		hyps[i], refs[i] = r.Generated, r.Reference
		m := r.Metrics
		a.Text.BLEU += m.BLEU
		a.Text.CHRF += m.CHRF
		a.Text.ROUGE1 += m.ROUGE1
		a.Text.ROUGE2 += m.ROUGE2
		a.Text.ROUGEL += m.ROUGEL
		if m.BERTScore == nil {
			hasBERT = false
		} else {
			bert.Precision += m.BERTScore.Precision
			bert.Recall += m.BERTScore.Recall
			bert.F += m.BERTScore.F
		}
		genTher = append(genTher, m.Therapeutic)
		refTher = append(refTher, m.ReferenceTherapeutic)
		gen = append(gen, r.Behaviour.Code())
		ref = append(ref, r.ReferenceBehaviour.Code())
		if r.Gold != nil {
			gold = append(gold, *r.Gold)
		}
		if r.Behaviour.Behaviour == r.ReferenceBehaviour.Behaviour {
			agree++
		}
		l := &a.Length
		l.GeneratedWords += float64(m.GeneratedWords)
		l.ReferenceWords += float64(m.ReferenceWords)
		l.NewTokens += float64(r.NewTokens)
		l.PromptTokens += float64(r.PromptTokens)
		if r.Stopped {
			l.StoppedShare++
		}
		if strings.TrimSpace(r.Generated) == "" {
			l.Empty++
		}
		if r.DroppedTurns > 0 || r.PromptTruncated {
			l.PromptsCut++
		}
		l.DroppedTurnsSum += r.DroppedTurns
	}
	inv := 1 / float64(n)
	for _, v := range []*float64{&a.Text.BLEU, &a.Text.CHRF, &a.Text.ROUGE1, &a.Text.ROUGE2, &a.Text.ROUGEL,
		&a.Length.GeneratedWords, &a.Length.ReferenceWords, &a.Length.NewTokens, &a.Length.PromptTokens, &a.Length.StoppedShare} {
		*v *= inv
	}
	corpus, err := metrics.CorpusBLEU(hyps, refs)
	if err != nil {
		return Aggregate{}, err
	}
	a.Text.CorpusBLEU = corpus.Score
	if a.Text.CorpusCHRF, err = metrics.CorpusCHRF(hyps, refs); err != nil {
		return Aggregate{}, err
	}
	if hasBERT {
		a.BERTScore = &metrics.PRF{Precision: bert.Precision * inv, Recall: bert.Recall * inv, F: bert.F * inv}
	}
	a.Therapeutic.Generated = therapeuticMeans(genTher, true)
	a.Therapeutic.Reference = therapeuticMeans(refTher, false)
	a.Behaviour = BehaviourAggregate{Generated: distribution(gen), Reference: distribution(ref), Agreement: float64(agree) * inv}
	a.MITI = MITIAggregate{Generated: metrics.SummarizeMITI(gen), Reference: metrics.SummarizeMITI(ref)}
	if len(gold) == n {
		d, s := distribution(gold), metrics.SummarizeMITI(gold)
		a.Behaviour.ReferenceGold, a.MITI.ReferenceGold = &d, &s
	}
	return a, nil
}

func therapeuticMeans(scores []metrics.TherapeuticScores, withOverall bool) TherapeuticMeans {
	var m TherapeuticMeans
	var overall float64
	for _, s := range scores {
		m.Empathy += s.Empathy
		m.Reflection += s.Reflection
		m.MITechniques += s.MITechniques
		m.LengthScore += s.LengthScore
		m.ContentScore += s.ContentScore
		m.Appropriateness += s.Appropriateness
		m.TherapeuticQuality += s.TherapeuticQuality
		overall += s.OverallQuality
		t := s.Techniques
		m.Techniques.OpenQuestions += float64(t.OpenQuestions)
		m.Techniques.ClosedQuestions += float64(t.ClosedQuestions)
		m.Techniques.Reflections += float64(t.Reflections)
		m.Techniques.Affirmations += float64(t.Affirmations)
		m.Techniques.Summaries += float64(t.Summaries)
	}
	inv := 1 / float64(len(scores))
	for _, v := range []*float64{&m.Empathy, &m.Reflection, &m.MITechniques, &m.LengthScore, &m.ContentScore,
		&m.Appropriateness, &m.TherapeuticQuality, &overall, &m.Techniques.OpenQuestions, &m.Techniques.ClosedQuestions,
		&m.Techniques.Reflections, &m.Techniques.Affirmations, &m.Techniques.Summaries} {
		*v *= inv
	}
	if withOverall {
		m.OverallQuality = &overall
	}
	return m
}

func distribution(codes []metrics.MICode) Distribution {
	d := Distribution{Counts: map[string]int{}, Shares: map[string]float64{}}
	for _, b := range metrics.MIBehaviours {
		d.Counts[b] = 0
	}
	for _, c := range codes {
		d.Counts[c.Behaviour]++
	}
	for b, k := range d.Counts {
		d.Shares[b] = float64(k) / float64(max(len(codes), 1))
	}
	return d
}
