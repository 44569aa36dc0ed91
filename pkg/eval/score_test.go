package eval

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/metrics"
)

// fabricated returns scored results for fixed replies, without a model.
func fabricated(t testing.TB, withBERT bool) []ExampleResult {
	t.Helper()
	clf, err := metrics.DefaultMIClassifier()
	if err != nil {
		t.Fatal(err)
	}
	pairs := []struct{ source, gen, ref, ctx string }{
		{data.SourceCounselChat, "It sounds like you feel alone. What would help you most right now?", "It sounds like you are feeling very alone. What support do you have?", "I feel so alone since I moved."},
		{data.SourceCounselChat, "You should talk to your doctor.", "Many people find it useful to speak with a doctor about sleep.", "I cannot sleep at night."},
		{data.SourceAnnoMI, "So drinking helps you relax, and you also worry about it.", "You're worried about how much you drink.", "I drink every night, it helps me relax, but my wife worries."},
		{data.SourceAnnoMI, "How often do you smoke?", "What do you enjoy about smoking?", "I smoke when I'm stressed."},
		{data.SourceAnnoMI, "", "Okay.", "Yeah."},
	}
	golds := []metrics.MICode{
		{Behaviour: metrics.BehaviourReflection, Subtype: metrics.ReflectionComplex},
		{Behaviour: metrics.BehaviourQuestion, Subtype: metrics.QuestionOpen},
		{Behaviour: metrics.BehaviourOther},
	}
	var out []ExampleResult
	for i, p := range pairs {
		r := ExampleResult{
			Example:   Example{Source: p.source, ID: string(rune('a' + i)), Reference: p.ref, Prompt: []data.Message{{Role: data.RoleUser, Content: p.ctx}}},
			Context:   p.ctx,
			Generated: p.gen, NewTokens: 10 + i, Stopped: i%2 == 0, PromptTokens: 20 * (i + 1),
			DroppedTurns: i / 3, PromptTruncated: i == 1,
		}
		if p.source == data.SourceAnnoMI {
			g := golds[i-2]
			r.Gold = &g
		}
		scoreExample(&r, clf, metrics.DefaultQualityWeights())
		if withBERT {
			r.Metrics.BERTScore = &metrics.PRF{Precision: 0.1 * float64(i), Recall: 0.2, F: 0.05 * float64(i)}
		}
		out = append(out, r)
	}
	return out
}

// sameJSON compares values by their JSON form (undefined MITI ratios are
// NaN, which == never matches).
func sameJSON(t testing.TB, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	// Decode and encode again, so that struct field order and map key
	// order agree.
	var va, vb any
	if err := json.Unmarshal(ja, &va); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(jb, &vb); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(va, vb)
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*max(1, math.Abs(b)) }

func TestSummarize(t *testing.T) {
	results := fabricated(t, true)
	a, err := Summarize(results)
	if err != nil {
		t.Fatal(err)
	}
	n := float64(len(results))
	var hyps, refs []string
	var bleu, rougeL, words, bertF float64
	var gen, ref, gold []metrics.MICode
	for _, r := range results {
		hyps, refs = append(hyps, r.Generated), append(refs, r.Reference)
		s := metrics.ScoreText(r.Generated, r.Reference)
		if s != r.Metrics.TextScores {
			t.Errorf("%s: text scores %+v, pkg/metrics gives %+v", r.ID, r.Metrics.TextScores, s)
		}
		bleu += s.BLEU / n
		rougeL += s.ROUGEL / n
		words += float64(r.Metrics.GeneratedWords) / n
		bertF += r.Metrics.BERTScore.F / n
		gen = append(gen, r.Behaviour.Code())
		ref = append(ref, r.ReferenceBehaviour.Code())
		if r.Gold != nil {
			gold = append(gold, *r.Gold)
		}
	}
	corpus, err := metrics.CorpusBLEU(hyps, refs)
	if err != nil {
		t.Fatal(err)
	}
	chrf, err := metrics.CorpusCHRF(hyps, refs)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"examples", float64(a.Examples), n},
		{"bleu", a.Text.BLEU, bleu},
		{"corpus bleu", a.Text.CorpusBLEU, corpus.Score},
		{"corpus chrf", a.Text.CorpusCHRF, chrf},
		{"rougeL", a.Text.ROUGEL, rougeL},
		{"bertscore f", a.BERTScore.F, bertF},
		{"words", a.Length.GeneratedWords, words},
		{"new tokens", a.Length.NewTokens, 12},
		{"stopped", a.Length.StoppedShare, 3 / n},
		{"empty", float64(a.Length.Empty), 1},
		{"prompts cut", float64(a.Length.PromptsCut), 3},
		{"dropped turns", float64(a.Length.DroppedTurnsSum), 2},
	} {
		if !near(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if !sameJSON(t, a.MITI.Generated, metrics.SummarizeMITI(gen)) || !sameJSON(t, a.MITI.Reference, metrics.SummarizeMITI(ref)) {
		t.Errorf("MITI summaries differ from pkg/metrics")
	}
	// Not every example has a gold code: no gold aggregate.
	if a.MITI.ReferenceGold != nil || a.Behaviour.ReferenceGold != nil {
		t.Errorf("gold aggregates without gold codes for every example")
	}
	total := 0
	for _, b := range metrics.MIBehaviours {
		c, ok := a.Behaviour.Generated.Counts[b]
		if !ok {
			t.Errorf("behaviour %q missing from the distribution", b)
		}
		total += c
		if !near(a.Behaviour.Generated.Shares[b], float64(c)/n) {
			t.Errorf("share of %s = %v, want %v", b, a.Behaviour.Generated.Shares[b], float64(c)/n)
		}
	}
	if total != len(results) {
		t.Errorf("distribution counts %d replies, want %d", total, len(results))
	}
	if a.Therapeutic.Generated.OverallQuality == nil || a.Therapeutic.Reference.OverallQuality != nil {
		t.Errorf("overall quality belongs to generated replies only")
	}

	annomi, err := Summarize(ofSource(results, data.SourceAnnoMI))
	if err != nil {
		t.Fatal(err)
	}
	if annomi.MITI.ReferenceGold == nil || !sameJSON(t, *annomi.MITI.ReferenceGold, metrics.SummarizeMITI(gold)) {
		t.Errorf("AnnoMI gold MITI %+v, want %+v", annomi.MITI.ReferenceGold, metrics.SummarizeMITI(gold))
	}
	if annomi.Behaviour.ReferenceGold.Counts[metrics.BehaviourReflection] != 1 {
		t.Errorf("gold distribution %+v", annomi.Behaviour.ReferenceGold)
	}

	noBERT, err := Summarize(fabricated(t, false))
	if err != nil {
		t.Fatal(err)
	}
	if noBERT.BERTScore != nil {
		t.Errorf("BERTScore aggregate without BERTScores")
	}
	if _, err := Summarize(nil); err == nil {
		t.Errorf("no error for no results")
	}
}

func BenchmarkScoreExample(b *testing.B) {
	results := fabricated(b, false)
	clf, err := metrics.DefaultMIClassifier()
	if err != nil {
		b.Fatal(err)
	}
	w := metrics.DefaultQualityWeights()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		scoreExample(&results[i%len(results)], clf, w)
	}
}
