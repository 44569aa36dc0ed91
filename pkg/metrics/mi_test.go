package metrics

import (
	"bytes"
	"compress/gzip"
	"encoding/gob"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
)

var (
	annoMIOnce     sync.Once
	annoMIExamples []MIExample
	annoMIErr      error
)

// loadAnnoMIExamples reads the shipped AnnoMI files once per test binary.
func loadAnnoMIExamples(t testing.TB) []MIExample {
	t.Helper()
	annoMIOnce.Do(func() {
		var a *data.AnnoMI
		a, annoMIErr = data.LoadAnnoMI("../../datasets/annomi/AnnoMI-simple.csv", "../../datasets/annomi/AnnoMI-full.csv")
		if annoMIErr == nil {
			annoMIExamples = MIExamplesFromAnnoMI(a)
		}
	})
	if annoMIErr != nil {
		t.Fatal(annoMIErr)
	}
	return annoMIExamples
}

func TestMIExamplesFromAnnoMI(t *testing.T) {
	exs := loadAnnoMIExamples(t)
	if len(exs) != 4882 { // therapist utterances in AnnoMI-simple.csv
		t.Fatalf("%d examples, want 4882", len(exs))
	}
	counts := map[string]int{}
	subtypes := map[string]int{}
	for _, ex := range exs {
		counts[ex.Behaviour]++
		if ex.Behaviour == BehaviourQuestion && ex.QuestionSubtype != "" {
			subtypes[ex.QuestionSubtype]++
		}
		if ex.Behaviour == BehaviourReflection && ex.ReflectionSubtype != "" {
			subtypes[ex.ReflectionSubtype]++
		}
	}
	want := map[string]int{BehaviourOther: 1586, BehaviourQuestion: 1386, BehaviourReflection: 1296, BehaviourTherapistInput: 614}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("behaviour counts %v, want %v", counts, want)
	}
	for _, s := range []string{QuestionOpen, QuestionClosed, ReflectionSimple, ReflectionComplex} {
		if subtypes[s] < 300 {
			t.Errorf("only %d %s subtypes among main behaviours", subtypes[s], s)
		}
	}
	// Transcript 0 starts with the therapist: no context; the next
	// therapist turn has the client's reply as context.
	if exs[0].Context != "" || exs[1].Context == "" {
		t.Errorf("contexts of the first two examples: %q, %q", exs[0].Context, exs[1].Context)
	}
}

func TestMITokens(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"So you're--worried?", []string{"so", "you're", "-", "worried", "?"}},
		{"It’s OK...", []string{"it's", "ok", "."}},
		{"'Quoted' words", []string{"'", "quoted", "'", "words"}},
		{"Mm-hmm.", []string{"mm", "-", "hmm", "."}},
		{"2,000—", []string{"2", ",", "000", "-"}},
	} {
		if got := miTokens(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("miTokens(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestMIFeatures(t *testing.T) {
	f := miFeatures("So you feel stuck?", "I feel stuck at work.")
	for _, name := range []string{"w1:so", "w2:<s> so", "w3:feel stuck ?", "first:so you", "last:?", "ends?",
		"c:stuck", "p1:work", "p2:feel stuck", "shared:2", "overlap:4", "ctx:empty"} {
		_, ok := f[name]
		if want := name != "ctx:empty"; ok != want {
			t.Errorf("feature %q present = %v, want %v", name, ok, want)
		}
	}
	if _, ok := miFeatures("Okay.", "")["ctx:empty"]; !ok {
		t.Error("empty context not marked")
	}
}

func TestMacroF1(t *testing.T) {
	gold := []string{"a", "a", "b", "b", "c"}
	pred := []string{"a", "b", "b", "b", "a"}
	// F1(a) = 2·1/(2+1+1) = 0.5, F1(b) = 2·2/(4+1) = 0.8, F1(c) = 0.
	if got, want := MacroF1(gold, pred, []string{"a", "b", "c", "d"}), (0.5+0.8+0)/3; math.Abs(got-want) > 1e-12 {
		t.Errorf("MacroF1 = %g, want %g", got, want)
	}
	if got := MacroF1(nil, nil, []string{"a"}); got != 0 {
		t.Errorf("empty MacroF1 = %g", got)
	}
}

func TestTranscriptFolds(t *testing.T) {
	exs := loadAnnoMIExamples(t)
	a := TranscriptFolds(exs, 5, MIFoldSeed)
	b := TranscriptFolds(exs, 5, MIFoldSeed)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("folds are not deterministic")
	}
	if len(a) != 133 {
		t.Fatalf("%d transcripts in folds, want 133", len(a))
	}
	low := make([]int, 5)
	for _, ex := range exs {
		if ex.Quality == data.QualityLow {
			low[a[ex.Transcript]]++
		}
	}
	for f, n := range low {
		if n == 0 {
			t.Errorf("fold %d has no low-quality session", f)
		}
	}
	if reflect.DeepEqual(a, TranscriptFolds(exs, 5, MIFoldSeed+1)) {
		t.Error("seed does not change folds")
	}
}

func TestClassWeights(t *testing.T) {
	w := classWeights([]int{0, 0, 0, 1}, 2, true)
	// n/(k·n_c): 4/(2·3) for class 0, 4/(2·1) for class 1.
	if want := []float64{4.0 / 6, 4.0 / 6, 4.0 / 6, 2}; !reflect.DeepEqual(w, want) {
		t.Errorf("balanced weights %v, want %v", w, want)
	}
	if w := classWeights([]int{0, 1}, 2, false); w[0] != 1 || w[1] != 1 {
		t.Errorf("unbalanced weights %v", w)
	}
}

func TestDefaultMIClassifier(t *testing.T) {
	m, err := DefaultMIClassifier()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Vocab) < 10000 {
		t.Errorf("shipped vocabulary has %d features", len(m.Vocab))
	}
	for _, c := range []struct {
		text, context string
		want          MICode
	}{
		{"What brings you in today?", "", MICode{BehaviourQuestion, QuestionOpen}},
		{"How do you feel about your drinking?", "I drink a bit on weekends.", MICode{BehaviourQuestion, QuestionOpen}},
		{"Do you smoke every day?", "I smoke.", MICode{BehaviourQuestion, QuestionClosed}},
		{"Mm-hmm.", "And then I went home.", MICode{BehaviourOther, ""}},
		{"So on the one hand you enjoy smoking, and on the other hand you're worried about what it's doing to your lungs.",
			"I like smoking but my cough is getting worse.", MICode{BehaviourReflection, ReflectionComplex}},
		{"Nicotine patches can double your chances of quitting, and your doctor can prescribe them.",
			"I don't know what would help.", MICode{BehaviourTherapistInput, ""}},
	} {
		p := m.Classify(c.text, c.context)
		if p.Code() != c.want {
			t.Errorf("Classify(%q) = %+v, want %+v", c.text, p, c.want)
		}
		sum := 0.0
		for _, l := range MIBehaviours {
			sum += p.Scores[l]
		}
		if math.Abs(sum-1) > 1e-9 || math.Abs(p.Scores[QuestionOpen]+p.Scores[QuestionClosed]-1) > 1e-9 {
			t.Errorf("scores of %q do not sum to 1: %v", c.text, p.Scores)
		}
	}
}

func TestMIClassifierRoundTrip(t *testing.T) {
	exs := loadAnnoMIExamples(t)[:400]
	opts := DefaultMITrainOptions()
	opts.MaxIter = 50
	m, err := TrainMIClassifier(exs, opts)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := ReadMIClassifier(&buf, "roundtrip")
	if err != nil {
		t.Fatal(err)
	}
	if back.Options != opts {
		t.Errorf("options %+v, want %+v", back.Options, opts)
	}
	for _, ex := range exs[:50] {
		if a, b := m.Classify(ex.Text, ex.Context), back.Classify(ex.Text, ex.Context); !reflect.DeepEqual(a, b) {
			t.Fatalf("prediction changed after round trip: %+v vs %+v", a, b)
		}
	}
	if _, err := TrainMIClassifier(nil, opts); err == nil {
		t.Error("training on no examples succeeded")
	}
}

func TestReadMIClassifierErrors(t *testing.T) {
	encode := func(f miModelFile) *bytes.Buffer {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if err := gob.NewEncoder(zw).Encode(&f); err != nil {
			t.Fatal(err)
		}
		zw.Close()
		return &buf
	}
	good := miModelFile{Format: miModelFormat, Vocab: []string{"a"}, Scale: []float32{1}, Heads: [3]miHead{
		{MIBehaviours, make([]float32, 8)}, {MIQuestionSubtypes, make([]float32, 4)}, {MIReflectionSubtypes, make([]float32, 4)},
	}}
	if _, err := ReadMIClassifier(encode(good), "good"); err != nil {
		t.Fatalf("valid file rejected: %v", err)
	}
	badFormat := good
	badFormat.Format = "other"
	badWeights := good
	badWeights.Heads[1].Weights = make([]float32, 3)
	badLabels := good
	badScale := good
	badScale.Scale = nil
	badLabels.Heads[2].Labels = []string{"x", "y"}
	for name, c := range map[string]struct {
		r    *bytes.Buffer
		want string
	}{
		"not gzip": {bytes.NewBufferString("plain text"), "not a gzip"},
		"not gob": {func() *bytes.Buffer {
			var b bytes.Buffer
			z := gzip.NewWriter(&b)
			z.Write([]byte("xx"))
			z.Close()
			return &b
		}(), "decoding"},
		"format":      {encode(badFormat), "format"},
		"weights":     {encode(badWeights), "head 1 has 3 weights, want 4"},
		"head labels": {encode(badLabels), "head 2 has labels"},
		"scales":      {encode(badScale), "0 feature scales for 1 features"},
	} {
		_, err := ReadMIClassifier(c.r, "model.gob.gz")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "model.gob.gz") {
			t.Errorf("%s: err = %v, want %q", name, err, c.want)
		}
	}
}

// TestShippedMIClassifierReproduces retrains on all of AnnoMI, as
// `go generate` does, and checks the shipped file matches.
func TestShippedMIClassifierReproduces(t *testing.T) {
	if testing.Short() {
		t.Skip("retrains the classifier on all of AnnoMI")
	}
	exs := loadAnnoMIExamples(t)
	shipped, err := DefaultMIClassifier()
	if err != nil {
		t.Fatal(err)
	}
	if shipped.Options != DefaultMITrainOptions() {
		t.Fatalf("shipped options %+v, want %+v: run go generate ./pkg/metrics", shipped.Options, DefaultMITrainOptions())
	}
	fresh, err := TrainMIClassifier(exs, DefaultMITrainOptions())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fresh.Vocab, shipped.Vocab) {
		t.Fatalf("vocabulary differs (%d vs %d features): run go generate ./pkg/metrics", len(fresh.Vocab), len(shipped.Vocab))
	}
	// Weights may differ in the last bits where the compiler fuses
	// multiply-adds differently on other architectures.
	for h := range fresh.Heads {
		maxDiff := 0.0
		for i, w := range fresh.Heads[h].Weights {
			maxDiff = max(maxDiff, math.Abs(float64(w-shipped.Heads[h].Weights[i])))
		}
		if maxDiff > 1e-3 {
			t.Errorf("head %d: weights differ by up to %g: run go generate ./pkg/metrics", h, maxDiff)
		}
	}
	differ := 0
	for _, ex := range exs {
		if fresh.Classify(ex.Text, ex.Context).Code() != shipped.Classify(ex.Text, ex.Context).Code() {
			differ++
		}
	}
	if differ > len(exs)/1000 {
		t.Errorf("%d of %d predictions differ from the shipped model", differ, len(exs))
	}
}

// TestMICrossValidation runs the reported 5-fold cross-validation over
// transcripts and the MITI sanity check on out-of-fold predictions.
func TestMICrossValidation(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 5 classifiers")
	}
	exs := loadAnnoMIExamples(t)
	cv, err := CrossValidateMI(exs, 5, MIFoldSeed, DefaultMITrainOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range cv.Folds {
		t.Logf("fold %d: %d transcripts, %d utterances: behaviour %.3f, question subtype %.3f, reflection subtype %.3f; keywords: behaviour %.3f, question subtype %.3f",
			f.Fold, f.TestTranscripts, f.TestUtterances, f.Behaviour, f.QuestionSubtype, f.ReflectionSubtype, f.KeywordBehaviour, f.KeywordQuestion)
		if f.Behaviour < 0.68 {
			t.Errorf("fold %d behaviour macro-F1 %.3f < 0.68", f.Fold, f.Behaviour)
		}
	}
	m := cv.Mean
	t.Logf("mean: behaviour %.4f, question subtype %.4f, reflection subtype %.4f; keywords: behaviour %.4f, question subtype %.4f",
		m.Behaviour, m.QuestionSubtype, m.ReflectionSubtype, m.KeywordBehaviour, m.KeywordQuestion)
	if m.TestUtterances != len(exs) || m.TestTranscripts != 133 {
		t.Errorf("folds cover %d utterances of %d transcripts", m.TestUtterances, m.TestTranscripts)
	}
	if m.Behaviour < 0.745 || m.QuestionSubtype < 0.72 || m.ReflectionSubtype < 0.59 {
		t.Errorf("mean macro-F1 regressed: %+v", m)
	}
	if m.Behaviour < m.KeywordBehaviour+0.1 {
		t.Errorf("classifier %.3f is not clearly better than keywords %.3f", m.Behaviour, m.KeywordBehaviour)
	}

	// MITI on out-of-fold predictions separates the sessions' quality.
	codes := make([]MICode, len(exs))
	for i, p := range cv.Predictions {
		codes[i] = p.Code()
	}
	byQ := MITIByQuality(exs, codes)
	high, low := byQ[0], byQ[1]
	if high.Group != data.QualityHigh || low.Group != data.QualityLow {
		t.Fatalf("groups %q, %q", high.Group, low.Group)
	}
	if high.Pooled.ReflectionToQuestion <= low.Pooled.ReflectionToQuestion+0.2 ||
		high.Pooled.ReflectionRate <= low.Pooled.ReflectionRate+0.05 {
		t.Errorf("predicted MITI does not separate quality: high %+v, low %+v", high.Pooled, low.Pooled)
	}
	if auc := MITISeparation(exs, codes)["reflection_rate"]; auc < 0.62 {
		t.Errorf("predicted reflection rate separates sessions with AUC %.3f < 0.62", auc)
	}
}

func FuzzMIFeatures(f *testing.F) {
	for _, s := range []string{"", "So you're--worried?", "Mm-hmm.", "\xff'", "’’", "2,000—"} {
		f.Add(s, "context?")
	}
	m, err := DefaultMIClassifier()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text, context string) {
		for _, tok := range miTokens(text) {
			if tok == "" || strings.ContainsFunc(tok, func(r rune) bool { return r == ' ' }) {
				t.Fatalf("bad token %q from %q", tok, text)
			}
		}
		p := m.Classify(text, context)
		if indexOf(MIBehaviours, p.Behaviour) < 0 {
			t.Fatalf("behaviour %q", p.Behaviour)
		}
		_ = KeywordBehaviour(text)
	})
}
