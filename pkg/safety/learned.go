package safety

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/logreg"
)

// Learned is the learned layer of the screen: logistic regressions over
// the canonical text's words, word pairs, character 3–5-grams and word
// classes with the cues around them (learnedFeatures). Its flag head gives
// the probability that a text is at least Concern, its high head that it
// is High, and its subject head that a flagged text is about someone else.
// The two thresholds, chosen by cross-validation on the labelled set
// (see LearnedOptions), turn the probabilities into a level; Screen takes
// the higher of the rules' level and this one.
type Learned struct {
	Options    LearnedOptions
	Vocab      []string  // feature names, block prefix first ("w:pills"); a feature's index is its position
	Scale      []float32 // per-feature weight (inverse document frequency) before block normalisation
	Heads      [numHeads][]float32
	Thresholds LearnedThresholds
	// CV records the cross-validation the thresholds were chosen on.
	CV *LearnedCV

	index   [numBlocks]map[string]int32
	block   []uint8
	scratch sync.Pool
}

// The learned screen's heads.
const (
	headFlag  = iota // at least Concern
	headHigh         // High
	headThird        // about someone else, given flagged
	// headCategory is the first of one head per labelled category
	// (labelCategories), each the probability that a flagged text has it:
	// the category of a learned flag.
	headCategory
	numHeads = headCategory + numLabelCategories
)

// labelCategories are the categories of the labelled set, in the order of
// the category heads (CrisisLanguage is the learned screen's own, never a
// label).
var labelCategories = [...]Category{SuicidalIdeation, SuicidePlan, SelfHarm, HarmToOthers, AbuseViolence, OverdoseMedical}

const numLabelCategories = len(labelCategories)

// headNames name the heads in errors: a category head by its category.
var headNames = func() [numHeads]string {
	names := [numHeads]string{headFlag: "flag", headHigh: "high", headThird: "third_party"}
	for k, c := range labelCategories {
		names[headCategory+k] = string(c)
	}
	return names
}()

// LearnedThresholds turn the heads' probabilities into a level: High when
// P(high) ≥ High, else Concern when P(at least concern) ≥ Concern.
type LearnedThresholds struct {
	Concern float64 `json:"concern"`
	High    float64 `json:"high"`
}

// ruleLearned names the learned screen's evidence.
const ruleLearned = "learned_screen"

// learnedScore is the heads' probabilities for one text.
type learnedScore struct {
	p [numHeads]float64
}

// level turns a score into a level with the model's thresholds.
func (m *Learned) level(s learnedScore) Level {
	switch {
	case s.p[headHigh] >= m.Thresholds.High:
		return High
	case s.p[headFlag] >= m.Thresholds.Concern:
		return Concern
	}
	return None
}

// learnedScratch deduplicates a text's features.
type learnedScratch struct {
	seen    []uint64
	touched []int32
}

func (m *Learned) getScratch() *learnedScratch {
	if sc, ok := m.scratch.Get().(*learnedScratch); ok {
		return sc
	}
	return &learnedScratch{seen: make([]uint64, (len(m.Vocab)+63)/64)}
}

func (m *Learned) putScratch(sc *learnedScratch) {
	for _, j := range sc.touched {
		sc.seen[j>>6] = 0
	}
	sc.touched = sc.touched[:0]
	m.scratch.Put(sc)
}

// first reports whether feature j is seen for the first time, marking it.
func (sc *learnedScratch) first(j int32) bool {
	w, bit := j>>6, uint64(1)<<(j&63)
	if sc.seen[w]&bit != 0 {
		return false
	}
	sc.seen[w] |= bit
	sc.touched = append(sc.touched, j)
	return true
}

// lookup returns a feature's index.
func (m *Learned) lookup(block int, key string) (int32, bool) {
	j, ok := m.index[block][key]
	return j, ok
}

// score computes the heads' probabilities for tokens [a, b) of c.
func (m *Learned) score(c *canonical, a, b int, markerIn func(*marker) bool) learnedScore {
	sc := m.getScratch()
	var sum [numHeads][numBlocks]float64
	var sq [numBlocks]float64
	learnedFeatures(c, a, b, markerIn, true, func(block int, key string, _, _ int) {
		j, ok := m.lookup(block, key)
		if !ok || !sc.first(j) {
			return
		}
		s := float64(m.Scale[j])
		sq[block] += s * s
		for h := range numHeads {
			if m.Heads[h] != nil {
				sum[h][block] += s * float64(m.Heads[h][j])
			}
		}
	})
	m.putScratch(sc)
	var out learnedScore
	if m.Options.RequireRiskWord && !hasRiskWord(c, a, b) {
		return out
	}
	n := len(m.Vocab)
	for h := range numHeads {
		if m.Heads[h] == nil {
			continue
		}
		z := float64(m.Heads[h][n])
		for k := range numBlocks {
			if sq[k] > 0 {
				z += m.Options.BlockWeight[k] * sum[h][k] / math.Sqrt(sq[k])
			}
		}
		out.p[h] = logreg.Sigmoid(z)
	}
	return out
}

// learnedText is one text the learned screen reads: a message, or the user
// turns of a conversation joined; its canonical form, and the message each
// byte of the source comes from.
type learnedText struct {
	c        *canonical
	markerIn func(*marker) bool
	// starts[k] is where message msgs[k] begins in c.src.
	starts []int
	msgs   []int
}

// windows returns the token ranges the learned screen scores: the whole
// text and, with Options.Window > 0 and more sentences than that, every
// run of Window sentences.
func (m *Learned) windows(c *canonical) [][2]int {
	out := [][2]int{{0, len(c.tokens)}}
	w := m.Options.Window
	if w <= 0 {
		return out
	}
	var sents [][2]int
	for s := 0; s < len(c.tokens); {
		e := s
		for e < len(c.tokens) && !isSentenceEnd(c.tokens[e].word) {
			e++
		}
		if e > s {
			sents = append(sents, [2]int{s, min(e+1, len(c.tokens))})
		}
		s = e + 1
	}
	if len(sents) <= w {
		return out
	}
	for i := 0; i+w <= len(sents); i++ {
		out = append(out, [2]int{sents[i][0], sents[i+w-1][1]})
	}
	return out
}

// assessment is the learned screen's reading of a text: the highest
// probability of each head over the text's windows, and for each head the
// window (and its score) that gave it.
type assessment struct {
	max   [numHeads]float64
	score [numHeads]learnedScore
	where [numHeads][2]int
	text  [numHeads]*learnedText
}

// add folds the windows of t into a.
func (m *Learned) add(a *assessment, t *learnedText) {
	for i, w := range m.windows(t.c) {
		markerIn := t.markerIn
		if i > 0 {
			seg := t.c.segText(w[0], w[1])
			markerIn = func(mk *marker) bool { return mk.in(seg) }
		}
		s := m.score(t.c, w[0], w[1], markerIn)
		for h := range numHeads {
			if a.text[h] == nil || s.p[h] > a.max[h] {
				a.max[h], a.score[h], a.where[h], a.text[h] = s.p[h], s, w, t
			}
		}
	}
}

// level is the assessment's level: that of its highest probabilities,
// which is the highest level of its windows.
func (m *Learned) assessedLevel(a *assessment) Level {
	return m.level(learnedScore{p: a.max})
}

// evidence explains a flag: the spans of text whose features pushed the
// deciding head's score up most, the category of the most probable
// category head, and the subject.
func (m *Learned) evidence(t *learnedText, level Level, s learnedScore, w [2]int) []Evidence {
	head := headFlag
	threshold := m.Thresholds.Concern
	if level == High {
		head, threshold = headHigh, m.Thresholds.High
	}
	c := t.c
	markerIn := t.markerIn
	if w != [2]int{0, len(c.tokens)} {
		seg := c.segText(w[0], w[1])
		markerIn = func(mk *marker) bool { return mk.in(seg) }
	}
	type occurrence struct {
		j     int32
		block int
		a, b  int
	}
	// The character n-grams are left out: the evidence is words, word
	// pairs and word classes, whose blocks are normalised on their own.
	sc := m.getScratch()
	defer m.putScratch(sc)
	var occ []occurrence
	var sq [numBlocks]float64
	learnedFeatures(c, w[0], w[1], markerIn, false, func(block int, key string, a, b int) {
		j, ok := m.lookup(block, key)
		if !ok {
			return
		}
		if sc.first(j) {
			sq[block] += float64(m.Scale[j]) * float64(m.Scale[j])
		}
		occ = append(occ, occurrence{j, block, a, b})
	})
	count := make(map[int32]int, len(sc.touched))
	for _, o := range occ {
		count[o.j]++
	}
	tokScore := make([]float64, len(c.tokens))
	for _, o := range occ {
		if o.a < 0 || sq[o.block] == 0 {
			continue
		}
		a, b := max(o.a, w[0]), min(o.b, w[1])
		if a >= b {
			continue
		}
		contrib := m.Options.BlockWeight[o.block] * float64(m.Scale[o.j]) * float64(m.Heads[head][o.j]) /
			math.Sqrt(sq[o.block]) / float64(count[o.j]) / float64(b-a)
		for i := a; i < b; i++ {
			tokScore[i] += contrib
		}
	}
	// The strongest tokens, grouped into runs.
	type run struct {
		a, b  int
		score float64
	}
	var cand []int
	for i := w[0]; i < w[1]; i++ {
		if tokScore[i] > 0 && !isMark(c.tokens[i].word) {
			cand = append(cand, i)
		}
	}
	slices.SortStableFunc(cand, func(x, y int) int {
		switch {
		case tokScore[x] > tokScore[y]:
			return -1
		case tokScore[x] < tokScore[y]:
			return 1
		}
		return x - y
	})
	if len(cand) > 6 {
		cand = cand[:6]
	}
	if len(cand) > 0 {
		top := tokScore[cand[0]]
		cand = slices.DeleteFunc(cand, func(i int) bool { return tokScore[i] < 0.25*top })
	}
	slices.Sort(cand)
	var runs []run
	for _, i := range cand {
		if n := len(runs); n > 0 && runs[n-1].b == i {
			runs[n-1].b++
			runs[n-1].score += tokScore[i]
			continue
		}
		runs = append(runs, run{i, i + 1, tokScore[i]})
	}
	slices.SortStableFunc(runs, func(x, y run) int {
		switch {
		case x.score > y.score:
			return -1
		case x.score < y.score:
			return 1
		}
		return x.a - y.a
	})
	if len(runs) > 3 {
		runs = runs[:3]
	}
	slices.SortFunc(runs, func(x, y run) int { return x.a - y.a })

	// The category: that of the category head with the highest probability.
	best := 0
	for k := 1; k < numLabelCategories; k++ {
		if s.p[headCategory+k] > s.p[headCategory+best] {
			best = k
		}
	}
	cat := labelCategories[best]
	subject := Self
	if s.p[headThird] >= 0.5 {
		subject = ThirdParty
	}
	note := fmt.Sprintf("p=%.2f, threshold %.2f", s.p[head], threshold)
	var out []Evidence
	for _, r := range runs {
		start, end := c.source(r.a, r.b)
		msg, off := t.message(start)
		end = min(end, off+t.messageLen(msg))
		e := Evidence{Message: t.msgs[msg], Start: start - off, End: end - off, Text: c.src[start:end],
			Rule: ruleLearned, Category: cat, Level: level, Subject: subject, Note: note}
		out = append(out, e)
	}
	if len(out) == 0 {
		// Nothing to point at (a flag from length or markers alone): the
		// whole range is the evidence.
		start, end := c.source(w[0], w[1])
		msg, off := t.message(start)
		end = min(end, off+t.messageLen(msg))
		out = append(out, Evidence{Message: t.msgs[msg], Start: start - off, End: end - off, Text: c.src[start:end],
			Rule: ruleLearned, Category: cat, Level: level, Subject: subject, Note: note})
	}
	return out
}

// message returns which of t's messages byte off of the source lies in,
// and where that message starts.
func (t *learnedText) message(off int) (int, int) {
	k := 0
	for k+1 < len(t.starts) && t.starts[k+1] <= off {
		k++
	}
	return k, t.starts[k]
}

// messageLen is the length of t's k-th message in the source.
func (t *learnedText) messageLen(k int) int {
	if k+1 < len(t.starts) {
		return t.starts[k+1] - 1 - t.starts[k] // a "\n" joins messages
	}
	return len(t.c.src) - t.starts[k]
}

// learnedExplanation says why the learned screen flagged a text.
func learnedExplanation(e Evidence, all []Evidence) string {
	var quoted []string
	for _, x := range all {
		if x.Rule == ruleLearned && x.Message == e.Message {
			quoted = append(quoted, fmt.Sprintf("%q", x.Text))
		}
	}
	s := fmt.Sprintf("%s: learned screen: %s (%s)", e.Level, e.Note, strings.Join(quoted, ", "))
	if e.Subject == ThirdParty {
		s += ", about someone else"
	}
	return s
}

// screenTexts returns the learned screen's evidence for the texts ts read
// together (a message; or the turns of a conversation, alone and joined),
// or nil when it does not flag them.
func (m *Learned) screenTexts(ts ...*learnedText) []Evidence {
	var a assessment
	for _, t := range ts {
		m.add(&a, t)
	}
	level := m.assessedLevel(&a)
	if level == None {
		return nil
	}
	h := headFlag
	if level == High {
		h = headHigh
	}
	return m.evidence(a.text[h], level, a.score[h], a.where[h])
}

// learnedFile is the serialised form of a Learned.
type learnedFile struct {
	Format     string
	Options    LearnedOptions
	Vocab      []string
	Scale      []float32
	Heads      [numHeads][]float32
	Thresholds LearnedThresholds
	CV         *LearnedCV
}

const learnedFormat = "gemma3n-therapy/safety-learned-screen/v2"

// WriteTo writes the model as gzip-compressed gob. The encoding is
// deterministic: the same model gives the same bytes.
func (m *Learned) WriteTo(w io.Writer) (int64, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return 0, err
	}
	file := learnedFile{Format: learnedFormat, Options: m.Options, Vocab: m.Vocab, Scale: m.Scale, Heads: m.Heads,
		Thresholds: m.Thresholds, CV: m.CV}
	if err := gob.NewEncoder(zw).Encode(&file); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return buf.WriteTo(w)
}

// ReadLearned reads a model written by WriteTo; name is used in errors.
func ReadLearned(r io.Reader, name string) (*Learned, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%s: not a gzip-compressed learned screen: %w", name, err)
	}
	var file learnedFile
	if err := gob.NewDecoder(zr).Decode(&file); err != nil {
		return nil, fmt.Errorf("%s: decoding the learned screen: %w", name, err)
	}
	if file.Format != learnedFormat {
		return nil, fmt.Errorf("%s: format %q, want %q", name, file.Format, learnedFormat)
	}
	if len(file.Scale) != len(file.Vocab) {
		return nil, fmt.Errorf("%s: %d feature scales for %d features", name, len(file.Scale), len(file.Vocab))
	}
	for h, w := range file.Heads {
		if len(w) != len(file.Vocab)+1 {
			return nil, fmt.Errorf("%s: head %s has %d weights, want %d", name, headNames[h], len(w), len(file.Vocab)+1)
		}
	}
	t := file.Thresholds
	if !(t.Concern > 0 && t.Concern < 1 && t.High > 0 && t.High < 1) {
		return nil, fmt.Errorf("%s: thresholds %+v outside (0, 1)", name, t)
	}
	m := &Learned{Options: file.Options, Vocab: file.Vocab, Scale: file.Scale, Heads: file.Heads,
		Thresholds: file.Thresholds, CV: file.CV}
	if err := m.buildIndex(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return m, nil
}

// buildIndex maps each block's keys to feature indices.
func (m *Learned) buildIndex() error {
	for k := range numBlocks {
		m.index[k] = map[string]int32{}
	}
	m.block = make([]uint8, len(m.Vocab))
	for j, name := range m.Vocab {
		found := false
		for k, p := range blockPrefix {
			if key, ok := strings.CutPrefix(name, p); ok {
				m.index[k][key] = int32(j)
				m.block[j] = uint8(k)
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("feature %q has no block prefix", name)
		}
	}
	return nil
}

//go:generate go run ./internal/trainscreen -set ../../datasets/safety -out assets/learned_screen.gob.gz

//go:embed assets/learned_screen.gob.gz
var shippedLearned []byte

var (
	defaultLearnedOnce sync.Once
	defaultLearned     *Learned
	defaultLearnedErr  error
)

// DefaultLearned returns the learned screen shipped with the package
// (assets/learned_screen.gob.gz, trained on the shipped parts and the
// train part of datasets/safety; rebuild it with `go generate
// ./pkg/safety`). Screen and ScreenConversation use it.
func DefaultLearned() (*Learned, error) {
	defaultLearnedOnce.Do(func() {
		defaultLearned, defaultLearnedErr = ReadLearned(bytes.NewReader(shippedLearned), "assets/learned_screen.gob.gz")
	})
	return defaultLearned, defaultLearnedErr
}

// shipped returns the shipped model, or nil when it does not load (the
// screen then runs on its rules alone; NewGate refuses to start).
func shipped() *Learned {
	m, err := DefaultLearned()
	if err != nil {
		return nil
	}
	return m
}

var errNoLearned = errors.New("safety: the learned screen did not load")

// joinedTurns is the user turns of a conversation read as one text, one
// turn a line.
func joinedTurns(texts []string, idx []int) *learnedText {
	t := &learnedText{msgs: idx}
	off := 0
	for _, s := range texts {
		t.starts = append(t.starts, off)
		off += len(s) + 1
	}
	t.c = canonicalize(strings.Join(texts, "\n"))
	all := t.c.text
	t.markerIn = func(mk *marker) bool { return mk.in(all) }
	return t
}

// hasRiskWord reports whether tokens [a, b) hold a word or phrase of a
// risk class of the lexicon.
func hasRiskWord(c *canonical, a, b int) bool {
	var buf [32]lexHit
	for _, h := range lexHits(c, a, b, buf[:0]) {
		if lexCategory[h.class] != "" {
			return true
		}
	}
	return false
}
