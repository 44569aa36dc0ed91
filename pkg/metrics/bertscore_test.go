package metrics

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// tableEncoder embeds each whitespace-separated word with a fixed vector,
// so expected BERTScores can be computed by hand.
type tableEncoder struct {
	vectors map[string][]float32
	layer   int
	calls   int
	fail    bool
}

func (e *tableEncoder) Name() string { return "table" }
func (e *tableEncoder) Layer() int   { return e.layer }
func (e *tableEncoder) Encode(texts []string) ([][][]float32, [][]string, error) {
	e.calls++
	if e.fail {
		return nil, nil, errors.New("boom")
	}
	embs := make([][][]float32, len(texts))
	toks := make([][]string, len(texts))
	for i, t := range texts {
		for _, w := range strings.Fields(t) {
			embs[i] = append(embs[i], e.vectors[w])
			toks[i] = append(toks[i], w)
		}
	}
	return embs, toks, nil
}

// Unit vectors chosen so that cos(good,great)=0.6, cos(great,bad)=0.8 and
// cos(good,bad)=0; "big" is "good" scaled, to show scale invariance.
func newTableEncoder() *tableEncoder {
	return &tableEncoder{layer: 7, vectors: map[string][]float32{
		"good":  {1, 0},
		"great": {0.6, 0.8},
		"bad":   {0, 1},
		"big":   {3, 0},
	}}
}

func TestBERTScoreHandComputed(t *testing.T) {
	hyps := []string{"good bad", "good", "", "big"}
	refs := []string{"great", "great good", "good", "good"}
	const eps = 1e-6 // the embeddings are float32
	near := func(a, b float64) bool { return math.Abs(a-b) < eps }

	enc := newTableEncoder()
	rep, err := BERTScore(enc, hyps, refs, BERTScoreOptions{BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Encoder != "table" || rep.Layer != 7 || rep.IDF || rep.Rescaled {
		t.Errorf("report header = %+v", rep)
	}
	if enc.calls != 4 { // 2 batches of hypotheses, 2 of references
		t.Errorf("encoder called %d times, want 4", enc.calls)
	}
	want := []PRF{
		// P = (0.6+0.8)/2, R = 0.8, F = 2PR/(P+R).
		{0.7, 0.8, 2 * 0.7 * 0.8 / 1.5},
		// P = 1; R = (0.6+1)/2.
		{1, 0.8, 2 * 0.8 / 1.8},
		{0, 0, 0}, // empty hypothesis
		{1, 1, 1}, // cosine ignores scale
	}
	for i, w := range want {
		g := rep.Scores[i]
		if !near(g.Precision, w.Precision) || !near(g.Recall, w.Recall) || !near(g.F, w.F) {
			t.Errorf("pair %d = %+v, want %+v", i, g, w)
		}
	}
	if !near(rep.Mean.Precision, (0.7+1+0+1)/4) {
		t.Errorf("mean precision = %g", rep.Mean.Precision)
	}

	// idf over the 4 references: df(great)=2, df(good)=3, so
	// idf(great)=ln(5/3), idf(good)=ln(5/4), unseen idf(bad)=ln 5.
	rep, err = BERTScore(newTableEncoder(), hyps, refs, BERTScoreOptions{IDF: true})
	if err != nil {
		t.Fatal(err)
	}
	lg, lgood, lb := math.Log(5.0/3), math.Log(5.0/4), math.Log(5)
	p0 := (lgood*0.6 + lb*0.8) / (lgood + lb)
	r1 := (lg*0.6 + lgood*1) / (lg + lgood)
	if g := rep.Scores[0]; !near(g.Precision, p0) || !near(g.Recall, 0.8) {
		t.Errorf("idf pair 0 = %+v, want P=%g R=0.8", g, p0)
	}
	if g := rep.Scores[1]; !near(g.Precision, 1) || !near(g.Recall, r1) || !near(g.F, 2*r1/(1+r1)) {
		t.Errorf("idf pair 1 = %+v, want P=1 R=%g", g, r1)
	}

	// Baseline rescaling: (s-b)/(1-b) per component.
	rep, err = BERTScore(newTableEncoder(), hyps[:1], refs[:1], BERTScoreOptions{Baseline: &PRF{0.5, 0.6, 0.7}})
	if err != nil {
		t.Fatal(err)
	}
	f := 2 * 0.7 * 0.8 / 1.5
	if g := rep.Scores[0]; !rep.Rescaled || !near(g.Precision, 0.4) || !near(g.Recall, 0.5) || !near(g.F, (f-0.7)/0.3) {
		t.Errorf("rescaled = %+v", g)
	}
}

// plainEncoder has no Layer method.
type plainEncoder struct{ inner *tableEncoder }

func (plainEncoder) Name() string { return "plain" }
func (e plainEncoder) Encode(texts []string) ([][][]float32, [][]string, error) {
	return e.inner.Encode(texts)
}

func TestBERTScoreErrors(t *testing.T) {
	if rep, err := BERTScore(plainEncoder{newTableEncoder()}, []string{"good"}, []string{"bad"}, BERTScoreOptions{}); err != nil || rep.Layer != -1 {
		t.Errorf("plain encoder: layer %d, err %v", rep.Layer, err)
	}
	for name, c := range map[string]struct {
		enc        *tableEncoder
		hyps, refs []string
		wantErr    string
	}{
		"length mismatch": {newTableEncoder(), []string{"good"}, nil, "1 hypotheses and 0 references"},
		"encoder error":   {&tableEncoder{fail: true}, []string{"good"}, []string{"bad"}, "boom"},
		"width mismatch": {&tableEncoder{vectors: map[string][]float32{"a": {1, 0}, "b": {1}}},
			[]string{"a b"}, []string{"a"}, "width 1, want 2"},
		"non-finite": {&tableEncoder{vectors: map[string][]float32{"a": {float32(math.NaN()), 0}}},
			[]string{"a"}, []string{"a"}, "non-finite"},
	} {
		_, err := BERTScore(c.enc, c.hyps, c.refs, BERTScoreOptions{})
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: err = %v, want %q", name, err, c.wantErr)
		}
	}
}
