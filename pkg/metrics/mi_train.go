package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/logreg"
)

// MIExample is one labelled therapist utterance of AnnoMI.
type MIExample struct {
	Transcript        int    // transcript id: the unit of cross-validation
	Quality           string // the session's mi_quality (high/low)
	Utterance         int    // utterance id within the transcript
	Text              string // the therapist utterance
	Context           string // the preceding client turn ("" at the start)
	Behaviour         string // one of MIBehaviours
	QuestionSubtype   string // open/closed where a question was annotated, else ""
	ReflectionSubtype string // simple/complex where a reflection was annotated, else ""
}

// MIExamplesFromAnnoMI returns every therapist utterance of the corpus with
// its labels. The context is the nearest preceding run of client
// utterances, joined with spaces. Subtypes come from the full file's fine
// labels (majority votes where an utterance was annotated several times),
// so a is expected to carry them.
func MIExamplesFromAnnoMI(a *data.AnnoMI) []MIExample {
	var out []MIExample
	for _, tr := range a.Transcripts {
		var lastClient []string // the most recent run of client utterances
		inClientRun := false
		for _, u := range tr.Utterances {
			if u.Speaker == data.SpeakerClient {
				if !inClientRun {
					lastClient = lastClient[:0]
				}
				lastClient = append(lastClient, u.Text)
				inClientRun = true
				continue
			}
			inClientRun = false
			if u.Behaviour == "" {
				continue
			}
			ex := MIExample{
				Transcript: tr.ID, Quality: tr.Quality, Utterance: u.ID,
				Text: u.Text, Context: strings.Join(lastClient, " "), Behaviour: u.Behaviour,
			}
			if u.Fine.QuestionExists {
				ex.QuestionSubtype = u.Fine.QuestionSubtype
			}
			if u.Fine.ReflectionExists {
				ex.ReflectionSubtype = u.Fine.ReflectionSubtype
			}
			out = append(out, ex)
		}
	}
	return out
}

// MITrainOptions are the classifier's training hyper-parameters.
type MITrainOptions struct {
	L2       float64 // L2 penalty per unit of (balanced) example weight
	MinCount int     // keep features seen in at least this many training utterances
	MaxIter  int     // L-BFGS iterations per head
	Balanced bool    // weight classes inversely to their frequency (for macro-F1)
	// IDF scales each feature by its smoothed inverse document frequency
	// over the training utterances, ln((n+1)/(df+1))+1, before the row is
	// normalised, so ubiquitous n-grams weigh less than distinctive ones.
	IDF bool
	// ShapeWeight scales the few dense shape features (length and
	// punctuation bins, utterance–context overlap) relative to the n-grams;
	// 0 means 1.
	ShapeWeight float64
}

// DefaultMITrainOptions are the options of the shipped classifier.
func DefaultMITrainOptions() MITrainOptions {
	return MITrainOptions{L2: 1.0, MinCount: 2, MaxIter: 300, Balanced: true, IDF: true, ShapeWeight: 3}
}

// TrainMIClassifier trains the three heads on examples. Training is
// deterministic: the same examples and options give the same weights.
func TrainMIClassifier(examples []MIExample, opts MITrainOptions) (*MIClassifier, error) {
	if len(examples) == 0 {
		return nil, fmt.Errorf("metrics: no MI training examples")
	}
	if opts.MaxIter <= 0 || opts.L2 < 0 {
		return nil, fmt.Errorf("metrics: bad MI training options %+v", opts)
	}
	feats := make([]miFeatureSet, len(examples))
	df := map[string]int{}
	for i, ex := range examples {
		feats[i] = miFeatures(ex.Text, ex.Context)
		for name := range feats[i] {
			df[name]++
		}
	}
	m := &MIClassifier{Options: opts}
	for name, c := range df {
		if c >= max(opts.MinCount, 1) {
			m.Vocab = append(m.Vocab, name)
		}
	}
	sort.Strings(m.Vocab)
	m.Scale = make([]float32, len(m.Vocab))
	n := float64(len(examples))
	for j, name := range m.Vocab {
		w := 1.0
		if opts.IDF {
			w = math.Log((n+1)/float64(df[name]+1)) + 1
		}
		if opts.ShapeWeight > 0 && isShapeFeature(name) {
			w *= opts.ShapeWeight
		}
		m.Scale[j] = float32(w)
	}
	m.buildIndex()
	xs := make([]logreg.Vector, len(examples))
	for i := range feats {
		xs[i] = m.vectorize(feats[i])
	}
	heads := [3]struct {
		labels []string
		label  func(MIExample) string
	}{
		{MIBehaviours, func(e MIExample) string { return e.Behaviour }},
		{MIQuestionSubtypes, func(e MIExample) string { return e.QuestionSubtype }},
		{MIReflectionSubtypes, func(e MIExample) string { return e.ReflectionSubtype }},
	}
	problems := make([]*logreg.Multinomial, len(heads))
	for h, head := range heads {
		p := &logreg.Multinomial{Classes: len(head.labels), Features: len(m.Vocab)}
		for i, ex := range examples {
			if c := indexOf(head.labels, head.label(ex)); c >= 0 {
				p.X = append(p.X, xs[i])
				p.Y = append(p.Y, c)
			}
		}
		if len(p.Y) == 0 {
			return nil, fmt.Errorf("metrics: no examples labelled for head %v", head.labels)
		}
		p.Weight = classWeights(p.Y, p.Classes, opts.Balanced)
		problems[h] = p
	}
	// The heads are independent, so training them concurrently changes
	// nothing in the result.
	var wg sync.WaitGroup
	for h, head := range heads {
		wg.Go(func() {
			weights := problems[h].Train(opts.L2, opts.MaxIter)
			w := make([]float32, len(weights))
			for i, v := range weights {
				w[i] = float32(v)
			}
			m.Heads[h] = miHead{Labels: head.labels, Weights: w}
		})
	}
	wg.Wait()
	return m, nil
}

// classWeights gives every example weight 1, or with balanced n/(k·n_c),
// so each class carries the same total weight.
func classWeights(y []int, classes int, balanced bool) []float64 {
	counts := make([]int, classes)
	for _, c := range y {
		counts[c]++
	}
	w := make([]float64, len(y))
	for i, c := range y {
		w[i] = 1
		if balanced {
			w[i] = float64(len(y)) / float64(classes*counts[c])
		}
	}
	return w
}

func indexOf(labels []string, l string) int {
	for i, x := range labels {
		if x == l {
			return i
		}
	}
	return -1
}

// TranscriptFolds assigns transcripts to k folds: transcripts are shuffled
// with a fixed seed within each quality stratum and dealt round-robin, so
// every fold has high- and low-quality sessions and no transcript is in two
// folds. It returns the fold of each transcript id.
// MIFoldSeed is the seed of the reported cross-validation folds.
const MIFoldSeed = 20240801

func TranscriptFolds(examples []MIExample, k int, seed uint64) map[int]int {
	byQuality := map[string][]int{}
	seen := map[int]bool{}
	for _, ex := range examples {
		if !seen[ex.Transcript] {
			seen[ex.Transcript] = true
			byQuality[ex.Quality] = append(byQuality[ex.Quality], ex.Transcript)
		}
	}
	qualities := make([]string, 0, len(byQuality))
	for q := range byQuality {
		qualities = append(qualities, q)
	}
	sort.Strings(qualities)
	rng := rand.New(rand.NewPCG(seed, 0x6d69))
	fold := map[int]int{}
	next := 0
	for _, q := range qualities {
		ids := byQuality[q]
		sort.Ints(ids)
		rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		for _, id := range ids {
			fold[id] = next % k
			next++
		}
	}
	return fold
}

// MacroF1 is the unweighted mean over labels of the per-label F1 of pred
// against gold. Labels absent from both gold and predictions are skipped.
func MacroF1(gold, pred []string, labels []string) float64 {
	sum, n := 0.0, 0
	for _, l := range labels {
		tp, fp, fn := 0, 0, 0
		for i := range gold {
			switch {
			case gold[i] == l && pred[i] == l:
				tp++
			case gold[i] == l:
				fn++
			case pred[i] == l:
				fp++
			}
		}
		if tp+fp+fn == 0 {
			continue
		}
		sum += 2 * float64(tp) / float64(2*tp+fp+fn)
		n++
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// MIFoldScores are the macro-F1 scores of one cross-validation fold.
type MIFoldScores struct {
	Fold              int     `json:"fold"`
	TestTranscripts   int     `json:"test_transcripts"`
	TestUtterances    int     `json:"test_utterances"`
	Behaviour         float64 `json:"behaviour_macro_f1"`
	QuestionSubtype   float64 `json:"question_subtype_macro_f1"`
	ReflectionSubtype float64 `json:"reflection_subtype_macro_f1"`
	KeywordBehaviour  float64 `json:"keyword_behaviour_macro_f1"`
	KeywordQuestion   float64 `json:"keyword_question_subtype_macro_f1"`
}

// MICrossValidation is a k-fold cross-validation over transcripts, with the
// out-of-fold predictions of every example.
type MICrossValidation struct {
	Folds       []MIFoldScores `json:"folds"`
	Mean        MIFoldScores   `json:"mean"`
	Predictions []MIPrediction `json:"-"` // out-of-fold, aligned with the examples
}

// CrossValidateMI trains on k-1 folds of transcripts and tests on the
// held-out one, k times. Subtype scores are computed on held-out questions
// (reflections) whose gold behaviour is question (reflection) and whose
// subtype is annotated, from the subtype head alone; the keyword measures
// (KeywordBehaviour) are scored on the same test folds.
func CrossValidateMI(examples []MIExample, k int, seed uint64, opts MITrainOptions) (*MICrossValidation, error) {
	if k < 2 {
		return nil, fmt.Errorf("metrics: cross-validation needs at least 2 folds, got %d", k)
	}
	folds := TranscriptFolds(examples, k, seed)
	cv := &MICrossValidation{Predictions: make([]MIPrediction, len(examples))}
	// Train the k models concurrently (at most GOMAXPROCS at a time; each
	// holds its own L-BFGS state), then score them in fold order.
	models := make([]*MIClassifier, k)
	errs := make([]error, k)
	sem := make(chan struct{}, max(runtime.GOMAXPROCS(0), 1))
	var wg sync.WaitGroup
	for f := 0; f < k; f++ {
		var train []MIExample
		for _, ex := range examples {
			if folds[ex.Transcript] != f {
				train = append(train, ex)
			}
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			models[f], errs[f] = TrainMIClassifier(train, opts)
		})
	}
	wg.Wait()
	for f := 0; f < k; f++ {
		if errs[f] != nil {
			return nil, fmt.Errorf("fold %d: %w", f, errs[f])
		}
		model := models[f]
		var test []int
		transcripts := map[int]bool{}
		for i, ex := range examples {
			if folds[ex.Transcript] == f {
				test = append(test, i)
				transcripts[ex.Transcript] = true
			}
		}
		s := MIFoldScores{Fold: f, TestTranscripts: len(transcripts), TestUtterances: len(test)}
		var gold, pred, kw []string
		var qGold, qPred, qKw, rGold, rPred []string
		for _, i := range test {
			ex := examples[i]
			p := model.Classify(ex.Text, ex.Context)
			cv.Predictions[i] = p
			gold = append(gold, ex.Behaviour)
			pred = append(pred, p.Behaviour)
			kwb := KeywordBehaviour(ex.Text)
			kw = append(kw, kwb.Behaviour)
			if ex.Behaviour == BehaviourQuestion && ex.QuestionSubtype != "" {
				qGold = append(qGold, ex.QuestionSubtype)
				qPred = append(qPred, argmaxLabel(p.Scores, MIQuestionSubtypes))
				// The keywords' verdict on a question they do not see
				// as one is "closed": no open opener was found.
				kwq := QuestionClosed
				if kwb.Behaviour == BehaviourQuestion {
					kwq = kwb.Subtype
				}
				qKw = append(qKw, kwq)
			}
			if ex.Behaviour == BehaviourReflection && ex.ReflectionSubtype != "" {
				rGold = append(rGold, ex.ReflectionSubtype)
				rPred = append(rPred, argmaxLabel(p.Scores, MIReflectionSubtypes))
			}
		}
		s.Behaviour = MacroF1(gold, pred, MIBehaviours)
		s.QuestionSubtype = MacroF1(qGold, qPred, MIQuestionSubtypes)
		s.ReflectionSubtype = MacroF1(rGold, rPred, MIReflectionSubtypes)
		s.KeywordBehaviour = MacroF1(gold, kw, MIBehaviours)
		s.KeywordQuestion = MacroF1(qGold, qKw, MIQuestionSubtypes)
		cv.Folds = append(cv.Folds, s)
	}
	cv.Mean.Fold = -1
	for _, s := range cv.Folds {
		n := float64(len(cv.Folds))
		cv.Mean.TestTranscripts += s.TestTranscripts
		cv.Mean.TestUtterances += s.TestUtterances
		cv.Mean.Behaviour += s.Behaviour / n
		cv.Mean.QuestionSubtype += s.QuestionSubtype / n
		cv.Mean.ReflectionSubtype += s.ReflectionSubtype / n
		cv.Mean.KeywordBehaviour += s.KeywordBehaviour / n
		cv.Mean.KeywordQuestion += s.KeywordQuestion / n
	}
	return cv, nil
}

func argmaxLabel(scores map[string]float64, labels []string) string {
	best := labels[0]
	for _, l := range labels[1:] {
		if scores[l] > scores[best] {
			best = l
		}
	}
	return best
}
