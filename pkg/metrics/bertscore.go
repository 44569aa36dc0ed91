package metrics

import (
	"fmt"
	"math"
)

// Encoder turns texts into contextual token embeddings for BERTScore. For
// each text it returns one vector per token (all of the same width) and the
// tokens themselves; the tokens key the idf weights. An encoder returns only
// the tokens that should be scored (no BOS or padding).
//
// Scores are comparable only between runs with the same encoder, so Name
// should identify the model and layer (e.g. "gemma-3n-E2B-it/layer-18").
type Encoder interface {
	Name() string
	Encode(texts []string) ([][][]float32, [][]string, error)
}

// LayeredEncoder is an Encoder that reports which hidden layer it reads;
// BERTScore copies it into the report.
type LayeredEncoder interface {
	Encoder
	Layer() int
}

// BERTScoreOptions configures BERTScore.
type BERTScoreOptions struct {
	// IDF weights tokens by inverse document frequency over the references,
	// idf(w) = ln((M+1)/(df(w)+1)) for M references, as bert_score does.
	// Without it every token weighs 1.
	IDF bool
	// Baseline, when non-nil, rescales each score s to (s-b)/(1-b) with the
	// baseline b of the same component, as bert_score's
	// rescale_with_baseline does. Baselines are specific to an encoder.
	Baseline *PRF
	// BatchSize is the number of texts per Encode call; 0 sends all at once.
	BatchSize int
}

// BERTScoreReport holds per-pair scores and their means, with the encoder
// that produced them.
type BERTScoreReport struct {
	Encoder  string `json:"encoder"`
	Layer    int    `json:"layer"` // -1 when the encoder does not say
	IDF      bool   `json:"idf"`
	Rescaled bool   `json:"rescaled"`
	Scores   []PRF  `json:"scores"`
	Mean     PRF    `json:"mean"`
}

// BERTScore scores each hypothesis against the reference at the same index
// by greedy cosine matching of token embeddings (Zhang et al., 2020):
// precision averages, over hypothesis tokens, the best cosine similarity to
// any reference token; recall does the same from the reference side; F1 is
// their harmonic mean. A pair with an empty side scores 0 before rescaling,
// as in bert_score.
func BERTScore(enc Encoder, hyps, refs []string, opts BERTScoreOptions) (BERTScoreReport, error) {
	report := BERTScoreReport{Encoder: enc.Name(), Layer: -1, IDF: opts.IDF, Rescaled: opts.Baseline != nil}
	if le, ok := enc.(LayeredEncoder); ok {
		report.Layer = le.Layer()
	}
	if len(hyps) != len(refs) {
		return report, fmt.Errorf("metrics: BERTScore got %d hypotheses and %d references", len(hyps), len(refs))
	}
	hypEmb, hypTok, err := encodeAll(enc, hyps, opts.BatchSize, "hypothesis")
	if err != nil {
		return report, err
	}
	refEmb, refTok, err := encodeAll(enc, refs, opts.BatchSize, "reference")
	if err != nil {
		return report, err
	}
	weight := func(string) float64 { return 1 }
	if opts.IDF {
		idf := idfWeights(refTok)
		unseen := math.Log(float64(len(refs)) + 1)
		weight = func(tok string) float64 {
			if w, ok := idf[tok]; ok {
				return w
			}
			return unseen
		}
	}
	report.Scores = make([]PRF, len(hyps))
	for i := range hyps {
		s := greedyMatch(hypEmb[i], hypTok[i], refEmb[i], refTok[i], weight)
		if b := opts.Baseline; b != nil {
			s = PRF{
				Precision: rescale(s.Precision, b.Precision),
				Recall:    rescale(s.Recall, b.Recall),
				F:         rescale(s.F, b.F),
			}
		}
		report.Scores[i] = s
		report.Mean.Precision += s.Precision / float64(len(hyps))
		report.Mean.Recall += s.Recall / float64(len(hyps))
		report.Mean.F += s.F / float64(len(hyps))
	}
	return report, nil
}

func rescale(s, baseline float64) float64 { return (s - baseline) / (1 - baseline) }

// encodeAll runs the encoder in batches, checks its output and returns
// unit-normalised float64 embeddings.
func encodeAll(enc Encoder, texts []string, batch int, side string) ([][][]float64, [][]string, error) {
	if batch <= 0 {
		batch = max(len(texts), 1)
	}
	embs := make([][][]float64, 0, len(texts))
	toks := make([][]string, 0, len(texts))
	width := -1
	for start := 0; start < len(texts); start += batch {
		end := min(start+batch, len(texts))
		e, tk, err := enc.Encode(texts[start:end])
		if err != nil {
			return nil, nil, fmt.Errorf("metrics: encoder %s on %s texts %d..%d: %w", enc.Name(), side, start, end-1, err)
		}
		if len(e) != end-start || len(tk) != end-start {
			return nil, nil, fmt.Errorf("metrics: encoder %s returned %d embeddings and %d token lists for %d %s texts", enc.Name(), len(e), len(tk), end-start, side)
		}
		for k := range e {
			idx := start + k
			if len(e[k]) != len(tk[k]) {
				return nil, nil, fmt.Errorf("metrics: encoder %s: %s %d has %d vectors but %d tokens", enc.Name(), side, idx, len(e[k]), len(tk[k]))
			}
			vecs := make([][]float64, len(e[k]))
			for j, v := range e[k] {
				if width == -1 {
					width = len(v)
				}
				if len(v) != width || width == 0 {
					return nil, nil, fmt.Errorf("metrics: encoder %s: %s %d token %d has width %d, want %d", enc.Name(), side, idx, j, len(v), width)
				}
				u, err := unit(v)
				if err != nil {
					return nil, nil, fmt.Errorf("metrics: encoder %s: %s %d token %d: %w", enc.Name(), side, idx, j, err)
				}
				vecs[j] = u
			}
			embs = append(embs, vecs)
			toks = append(toks, tk[k])
		}
	}
	return embs, toks, nil
}

// unit returns v scaled to unit length (a zero vector stays zero, so its
// cosine with anything is 0).
func unit(v []float32) ([]float64, error) {
	out := make([]float64, len(v))
	norm := 0.0
	for i, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("non-finite value at dimension %d", i)
		}
		out[i] = f
		norm += f * f
	}
	if norm > 0 {
		norm = math.Sqrt(norm)
		for i := range out {
			out[i] /= norm
		}
	}
	return out, nil
}

// idfWeights computes ln((M+1)/(df+1)) for every token seen in the M
// reference token lists, df counting each reference once.
func idfWeights(refs [][]string) map[string]float64 {
	df := map[string]int{}
	for _, toks := range refs {
		seen := map[string]bool{}
		for _, t := range toks {
			if !seen[t] {
				seen[t] = true
				df[t]++
			}
		}
	}
	m := float64(len(refs))
	idf := make(map[string]float64, len(df))
	for t, c := range df {
		idf[t] = math.Log((m + 1) / (float64(c) + 1))
	}
	return idf
}

// greedyMatch computes weighted greedy-matching precision, recall and F1
// between unit-normalised token embeddings.
func greedyMatch(hyp [][]float64, hypTok []string, ref [][]float64, refTok []string, weight func(string) float64) PRF {
	if len(hyp) == 0 || len(ref) == 0 {
		return PRF{}
	}
	bestForHyp := make([]float64, len(hyp))
	bestForRef := make([]float64, len(ref))
	for i := range bestForHyp {
		bestForHyp[i] = math.Inf(-1)
	}
	for j := range bestForRef {
		bestForRef[j] = math.Inf(-1)
	}
	for i, h := range hyp {
		for j, r := range ref {
			c := dot(h, r)
			bestForHyp[i] = max(bestForHyp[i], c)
			bestForRef[j] = max(bestForRef[j], c)
		}
	}
	p := weightedMean(bestForHyp, hypTok, weight)
	r := weightedMean(bestForRef, refTok, weight)
	f := 0.0
	if p+r != 0 {
		f = 2 * p * r / (p + r)
	}
	return PRF{Precision: p, Recall: r, F: f}
}

func weightedMean(values []float64, tokens []string, weight func(string) float64) float64 {
	sum, total := 0.0, 0.0
	for i, v := range values {
		w := weight(tokens[i])
		sum += w * v
		total += w
	}
	if total == 0 {
		return 0
	}
	return sum / total
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
