package metrics

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/gob"
	"fmt"
	"io"
	"math"
	"sort"
	"sync"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/logreg"
)

// MI behaviour labels (AnnoMI's main_therapist_behaviour) and subtypes.
const (
	BehaviourQuestion       = data.BehaviourQuestion
	BehaviourReflection     = data.BehaviourReflection
	BehaviourTherapistInput = data.BehaviourTherapistInput
	BehaviourOther          = data.BehaviourOther

	QuestionOpen      = data.QuestionOpen
	QuestionClosed    = data.QuestionClosed
	ReflectionSimple  = data.ReflectionSimple
	ReflectionComplex = data.ReflectionComplex
)

// Label orders of the classifier's three heads.
var (
	MIBehaviours         = []string{BehaviourQuestion, BehaviourReflection, BehaviourTherapistInput, BehaviourOther}
	MIQuestionSubtypes   = []string{QuestionOpen, QuestionClosed}
	MIReflectionSubtypes = []string{ReflectionSimple, ReflectionComplex}
)

// MICode is an MI behaviour code of one utterance: a behaviour of
// MIBehaviours and, for questions and reflections, a subtype (empty when
// unknown or not applicable).
type MICode struct {
	Behaviour string `json:"behaviour"`
	Subtype   string `json:"subtype"`
}

// MIPrediction is the classifier's verdict on one therapist utterance.
// Subtype is open/closed for a question, simple/complex for a reflection and
// empty otherwise. Scores holds the probability of each behaviour and the
// conditional probability of each subtype given its behaviour.
type MIPrediction struct {
	Behaviour string             `json:"behaviour"`
	Subtype   string             `json:"subtype"`
	Scores    map[string]float64 `json:"scores"`
}

// MIClassifier is a learned MI behaviour classifier: three multinomial
// logistic regressions (behaviour, question subtype, reflection subtype)
// over a shared vocabulary of sparse features (see miFeatures).
type MIClassifier struct {
	Options MITrainOptions
	Vocab   []string  // feature names; a feature's index is its position
	Scale   []float32 // per-feature scale applied before row normalisation (IDF and group weights)
	Heads   [3]miHead // behaviour, question subtype, reflection subtype
	index   map[string]int32
}

// miHead is one logistic regression of an MIClassifier, with weights
// stored feature-major (features×classes) then one bias per class.
type miHead struct {
	Labels  []string
	Weights []float32
}

const (
	headBehaviour = iota
	headQuestion
	headReflection
)

// Classify labels a therapist utterance given the preceding client turn
// (context may be empty).
func (m *MIClassifier) Classify(text, context string) MIPrediction {
	x := m.vectorize(miFeatures(text, context))
	pred := MIPrediction{Scores: map[string]float64{}}
	probs := make([][]float64, len(m.Heads))
	for h := range m.Heads {
		probs[h] = m.Heads[h].predict(x, len(m.Vocab))
		for c, l := range m.Heads[h].Labels {
			pred.Scores[l] = probs[h][c]
		}
	}
	pred.Behaviour = m.Heads[headBehaviour].Labels[logreg.Argmax(probs[headBehaviour])]
	switch pred.Behaviour {
	case BehaviourQuestion:
		pred.Subtype = m.Heads[headQuestion].Labels[logreg.Argmax(probs[headQuestion])]
	case BehaviourReflection:
		pred.Subtype = m.Heads[headReflection].Labels[logreg.Argmax(probs[headReflection])]
	}
	return pred
}

// Code returns the prediction's behaviour and subtype.
func (p MIPrediction) Code() MICode { return MICode{p.Behaviour, p.Subtype} }

func (h *miHead) predict(x logreg.Vector, features int) []float64 {
	out := make([]float64, len(h.Labels))
	logreg.Scores(h.Weights, len(h.Labels), features, x, out)
	logreg.Softmax(out)
	return out
}

// vectorize maps known features to indices, sorted, scales each by its
// Scale, and scales the example's vector to unit length so long utterances
// do not dominate.
func (m *MIClassifier) vectorize(fs miFeatureSet) logreg.Vector {
	return vectorizeWith(fs, func(name string) (int32, float32, bool) {
		j, ok := m.index[name]
		if !ok {
			return 0, 0, false
		}
		if m.Scale == nil {
			return j, 1, true
		}
		return j, m.Scale[j], true
	})
}

// vectorizeWith builds the unit-length vector of fs; lookup gives a
// feature's index and scale, or false for unknown features.
func vectorizeWith(fs miFeatureSet, lookup func(string) (int32, float32, bool)) logreg.Vector {
	var v logreg.Vector
	norm := 0.0
	for name, val := range fs {
		if j, s, ok := lookup(name); ok {
			val *= s
			v.Idx = append(v.Idx, j)
			v.Val = append(v.Val, val)
			norm += float64(val) * float64(val)
		}
	}
	sort.Sort(byIndex(v))
	if norm > 0 {
		inv := float32(1 / math.Sqrt(norm))
		for i := range v.Val {
			v.Val[i] *= inv
		}
	}
	return v
}

type byIndex logreg.Vector

func (b byIndex) Len() int           { return len(b.Idx) }
func (b byIndex) Less(i, j int) bool { return b.Idx[i] < b.Idx[j] }
func (b byIndex) Swap(i, j int) {
	b.Idx[i], b.Idx[j] = b.Idx[j], b.Idx[i]
	b.Val[i], b.Val[j] = b.Val[j], b.Val[i]
}

func (m *MIClassifier) buildIndex() {
	m.index = make(map[string]int32, len(m.Vocab))
	for i, name := range m.Vocab {
		m.index[name] = int32(i)
	}
}

// miModelFile is the serialised form of an MIClassifier.
type miModelFile struct {
	Format  string
	Options MITrainOptions
	Vocab   []string
	Scale   []float32
	Heads   [3]miHead
}

const miModelFormat = "gemma3n-therapy/mi-classifier/v2"

// WriteTo writes the classifier as gzip-compressed gob.
func (m *MIClassifier) WriteTo(w io.Writer) (int64, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return 0, err
	}
	file := miModelFile{Format: miModelFormat, Options: m.Options, Vocab: m.Vocab, Scale: m.Scale, Heads: m.Heads}
	if err := gob.NewEncoder(zw).Encode(&file); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return buf.WriteTo(w)
}

// ReadMIClassifier reads a classifier written by WriteTo; name is used in
// error messages.
func ReadMIClassifier(r io.Reader, name string) (*MIClassifier, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%s: not a gzip-compressed MI classifier: %w", name, err)
	}
	var file miModelFile
	if err := gob.NewDecoder(zr).Decode(&file); err != nil {
		return nil, fmt.Errorf("%s: decoding MI classifier: %w", name, err)
	}
	if file.Format != miModelFormat {
		return nil, fmt.Errorf("%s: format %q, want %q", name, file.Format, miModelFormat)
	}
	if len(file.Scale) != len(file.Vocab) {
		return nil, fmt.Errorf("%s: %d feature scales for %d features", name, len(file.Scale), len(file.Vocab))
	}
	wantLabels := [3][]string{MIBehaviours, MIQuestionSubtypes, MIReflectionSubtypes}
	for h, head := range file.Heads {
		if fmt.Sprint(head.Labels) != fmt.Sprint(wantLabels[h]) {
			return nil, fmt.Errorf("%s: head %d has labels %v, want %v", name, h, head.Labels, wantLabels[h])
		}
		if want := (len(file.Vocab) + 1) * len(head.Labels); len(head.Weights) != want {
			return nil, fmt.Errorf("%s: head %d has %d weights, want %d", name, h, len(head.Weights), want)
		}
	}
	m := &MIClassifier{Options: file.Options, Vocab: file.Vocab, Scale: file.Scale, Heads: file.Heads}
	m.buildIndex()
	return m, nil
}

//go:generate go run ./internal/trainmi -annomi ../../datasets/annomi -out assets/mi_classifier.gob.gz

//go:embed assets/mi_classifier.gob.gz
var shippedMIClassifier []byte

var (
	defaultMIOnce sync.Once
	defaultMI     *MIClassifier
	defaultMIErr  error
)

// DefaultMIClassifier returns the classifier shipped with the package,
// trained on all of AnnoMI with DefaultMITrainOptions (rebuild it with
// `go generate ./pkg/metrics`).
func DefaultMIClassifier() (*MIClassifier, error) {
	defaultMIOnce.Do(func() {
		defaultMI, defaultMIErr = ReadMIClassifier(bytes.NewReader(shippedMIClassifier), "assets/mi_classifier.gob.gz")
	})
	return defaultMI, defaultMIErr
}
