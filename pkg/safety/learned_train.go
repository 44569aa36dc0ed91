package safety

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/logreg"
)

// LearnedOptions are the learned screen's training settings.
type LearnedOptions struct {
	L2       float64 // L2 penalty per unit of (balanced) example weight
	MinCount int     // keep features seen in at least this many training texts
	MaxIter  int     // L-BFGS iterations per head
	// BlockWeight scales each block of features (words, word pairs,
	// character n-grams, cues) after it is normalised to unit length.
	BlockWeight [numBlocks]float64
	// Window, when above 0, also scores every run of Window sentences of a
	// longer text, and the text takes its highest window: a long message
	// with one risky sentence is not diluted by the rest.
	Window int
	// HighVsNone trains the high head on High against None items only,
	// leaving Concern items out of it.
	HighVsNone bool
	// RequireRiskWord lets the learned screen flag only a text that holds
	// a word or phrase of one of the lexicon's risk classes (a means, a
	// time, death, a farewell, ...): its probabilities are 0 otherwise.
	// Ordinary talk ("something like that") is then never flagged for its
	// style alone. The shipped model leaves it off since it learns ordinary
	// talk from RealNegatives: the lexicon lacked the words of too many
	// risky messages ("hands round her neck", "dishwasher tabs"), and with
	// it off cross-validation gained 4 points of High ≥ Concern and 7 of
	// Concern ≥ Concern at the same false alarms.
	RequireRiskWord bool
	// Folds and FoldSeed define the cross-validation the thresholds are
	// chosen on.
	Folds    int
	FoldSeed uint64
	// BudgetNoneHigh and BudgetNoneFlagged are the shares of hard
	// negatives (non-crisis items that look like crisis) that the combined
	// screen (rules and learned) may screen High, and at least Concern, in
	// cross-validation: the thresholds are the lowest that keep within them.
	// They count the hard negatives alone, the non-crisis items a screen is
	// likely to flag: over all non-crisis items of the cross-validation the
	// shipped budgets (3.5% and 12%) give about 2% High and 9% at least
	// Concern, below the limits (3% and 15%) to leave room for text
	// unlike the training set.
	BudgetNoneHigh    float64
	BudgetNoneFlagged float64
}

// DefaultLearnedOptions are the options of the shipped model.
func DefaultLearnedOptions() LearnedOptions {
	return LearnedOptions{
		L2: 0.1, MinCount: 2, MaxIter: 400,
		BlockWeight: [numBlocks]float64{1, 1, 1, 1},
		Window:      0, HighVsNone: true, RequireRiskWord: false,
		Folds: 5, FoldSeed: 20250817,
		BudgetNoneHigh: 0.035, BudgetNoneFlagged: 0.12,
	}
}

// TrainParts are the parts the shipped model is trained on: the measured
// parts and train, train2, ..., parts written for training only, each in
// other voices. FreshParts are not among them: they measure the screen on
// text it has not seen.
var TrainParts = append(slices.Clone(Parts), "train", "train2", "train3", "train4", "train5", "train6", "train7", "train8", "train9", "train10", "train11", "train12", "train13", "train14", "train15", "train16", "train17", "train18", "train19", "train20", "train21", "train22", "train23", "train24", "train25", "train26", "train27", "train28", "train29", "train30")

// learnedExample is one training text.
type learnedExample struct {
	text  string
	level Level
	third bool
	cats  []Category
}

func learnedExamples(items []Item) []learnedExample {
	out := make([]learnedExample, len(items))
	for i, it := range items {
		text := it.Text
		if it.Messages != nil {
			var users []string
			for _, m := range it.Messages {
				if m.Role == data.RoleUser {
					users = append(users, m.Content)
				}
			}
			text = strings.Join(users, "\n")
		}
		out[i] = learnedExample{text: text, level: it.Level, third: it.Subject == ThirdParty, cats: it.Categories}
	}
	return out
}

// exampleFeatures returns the distinct feature names of a whole text.
func exampleFeatures(text string) []string {
	c := canonicalize(text)
	all := c.text
	seen := map[string]bool{}
	var names []string
	learnedFeatures(c, 0, len(c.tokens), func(mk *marker) bool { return mk.in(all) }, true,
		func(block int, key string, _, _ int) {
			name := blockPrefix[block] + key
			if !seen[name] {
				seen[name] = true
				names = append(names, name)
			}
		})
	return names
}

// TrainLearned trains the learned screen's heads on items. The thresholds
// are left at 0.5: ChooseLearnedThresholds picks them by cross-validation
// (TrainShippedLearned does both). Training is deterministic: the same
// items and options give the same model, byte for byte.
func TrainLearned(items []Item, opts LearnedOptions) (*Learned, error) {
	return trainLearned(items, opts, true)
}

// trainLearned trains the heads; withCategories false leaves out the
// category heads, which cross-validation does not need (a model without
// them names every learned flag suicidal_ideation).
func trainLearned(items []Item, opts LearnedOptions, withCategories bool) (*Learned, error) {
	if len(items) == 0 {
		return nil, errors.New("safety: no training items")
	}
	if opts.MaxIter <= 0 || opts.L2 < 0 {
		return nil, fmt.Errorf("safety: bad training options %+v", opts)
	}
	exs := learnedExamples(items)
	feats := make([][]string, len(exs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(runtime.GOMAXPROCS(0), 1))
	for i := range exs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			feats[i] = exampleFeatures(exs[i].text)
		})
	}
	wg.Wait()
	df := map[string]int{}
	for _, fs := range feats {
		for _, name := range fs {
			df[name]++
		}
	}
	m := &Learned{Options: opts, Thresholds: LearnedThresholds{Concern: 0.5, High: 0.5}}
	for name, n := range df {
		if n >= max(opts.MinCount, 1) {
			m.Vocab = append(m.Vocab, name)
		}
	}
	sort.Strings(m.Vocab)
	if err := m.buildIndex(); err != nil {
		return nil, err
	}
	n := float64(len(exs))
	m.Scale = make([]float32, len(m.Vocab))
	for j, name := range m.Vocab {
		m.Scale[j] = float32(math.Log((n+1)/float64(df[name]+1)) + 1)
	}
	rows := make([]logreg.Vector, len(exs))
	for i, fs := range feats {
		rows[i] = m.row(fs)
	}
	type head struct {
		use   func(e learnedExample) bool
		label func(e learnedExample) bool
	}
	heads := [numHeads]head{
		headFlag: {func(learnedExample) bool { return true }, func(e learnedExample) bool { return e.level >= Concern }},
		headHigh: {func(e learnedExample) bool { return !opts.HighVsNone || e.level != Concern },
			func(e learnedExample) bool { return e.level == High }},
		headThird: {func(e learnedExample) bool { return e.level >= Concern }, func(e learnedExample) bool { return e.third }},
	}
	for k, c := range labelCategories {
		heads[headCategory+k] = head{func(e learnedExample) bool { return e.level >= Concern },
			func(e learnedExample) bool { return slices.Contains(e.cats, c) }}
	}
	for h, hd := range heads {
		if h >= headCategory && !withCategories {
			continue
		}
		p := &logreg.Binary{Features: len(m.Vocab)}
		for i, e := range exs {
			if hd.use(e) {
				p.X = append(p.X, rows[i])
				p.Y = append(p.Y, hd.label(e))
			}
		}
		p.Weight = balancedWeights(p.Y)
		wg.Go(func() {
			w := p.Train(opts.L2, opts.MaxIter)
			m.Heads[h] = make([]float32, len(w))
			for i, v := range w {
				m.Heads[h][i] = float32(v)
			}
		})
	}
	wg.Wait()
	return m, nil
}

// row builds the training vector of a text's features: each block scaled
// to unit length and weighted, as score computes it.
func (m *Learned) row(names []string) logreg.Vector {
	var idx []int32
	for _, name := range names {
		for k, p := range blockPrefix {
			if key, ok := strings.CutPrefix(name, p); ok {
				if j, ok := m.index[k][key]; ok {
					idx = append(idx, j)
				}
				break
			}
		}
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	var sq [numBlocks]float64
	for _, j := range idx {
		s := float64(m.Scale[j])
		sq[m.block[j]] += s * s
	}
	r := logreg.Vector{Idx: idx, Val: make([]float32, len(idx))}
	for k, j := range idx {
		b := m.block[j]
		r.Val[k] = float32(m.Options.BlockWeight[b] * float64(m.Scale[j]) / math.Sqrt(sq[b]))
	}
	return r
}

// balancedWeights weighs both classes equally: n/(2·n_class) per example.
func balancedWeights(y []bool) []float64 {
	pos := 0
	for _, v := range y {
		if v {
			pos++
		}
	}
	w := make([]float64, len(y))
	for i, v := range y {
		c := len(y) - pos
		if v {
			c = pos
		}
		w[i] = float64(len(y)) / float64(2*c)
	}
	return w
}

// LearnedRates are the five rates of a set of items.
type LearnedRates struct {
	Items          int     `json:"items"`
	HighFlagged    float64 `json:"high_flagged"`    // high items screened at least concern
	HighHigh       float64 `json:"high_high"`       // high items screened high
	ConcernFlagged float64 `json:"concern_flagged"` // concern items screened at least concern
	ConcernHigh    float64 `json:"concern_high"`    // concern items screened high (over-referral)
	NoneHigh       float64 `json:"none_high"`       // none items screened high
	NoneFlagged    float64 `json:"none_flagged"`    // none items screened at least concern
	// HardHigh and HardFlagged are the same two rates on the hard
	// negatives alone (none items that trip keyword lists).
	HardHigh    float64 `json:"hard_high"`
	HardFlagged float64 `json:"hard_flagged"`
}

func ratesOf(labels, screened []Level, hard []bool) LearnedRates {
	var n, flagged, high [3]int
	var nHard, hardFlagged, hardHigh int
	for i, l := range labels {
		n[l]++
		if screened[i] >= Concern {
			flagged[l]++
		}
		if screened[i] == High {
			high[l]++
		}
		if l == None && hard[i] {
			nHard++
			if screened[i] >= Concern {
				hardFlagged++
			}
			if screened[i] == High {
				hardHigh++
			}
		}
	}
	div := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	return LearnedRates{Items: len(labels), HighFlagged: div(flagged[High], n[High]), HighHigh: div(high[High], n[High]),
		ConcernFlagged: div(flagged[Concern], n[Concern]), ConcernHigh: div(high[Concern], n[Concern]), NoneHigh: div(high[None], n[None]),
		NoneFlagged: div(flagged[None], n[None]), HardHigh: div(hardHigh, nHard), HardFlagged: div(hardFlagged, nHard)}
}

// LearnedPartRates are a part's rates in cross-validation.
type LearnedPartRates struct {
	Part     string       `json:"part"`
	Learned  LearnedRates `json:"learned"`
	Rules    LearnedRates `json:"rules"`
	Combined LearnedRates `json:"combined"`
}

// LearnedCV is a cross-validation of the learned screen: out-of-fold
// predictions of every training item, the thresholds chosen on them, and
// the rates at those thresholds, of the learned screen alone, of the rules
// alone and of the two combined, over all items and per part.
type LearnedCV struct {
	Folds      int                `json:"folds"`
	Seed       uint64             `json:"seed"`
	Thresholds LearnedThresholds  `json:"thresholds"`
	All        LearnedPartRates   `json:"all"`
	ByPart     []LearnedPartRates `json:"by_part"`
	// LeavePartOut are the rates of each part predicted by a model trained
	// on the other parts (at the same thresholds): closer to text written
	// apart from the training set than random folds are.
	LeavePartOut []LearnedPartRates `json:"leave_part_out,omitempty"`

	pFlag, pHigh []float64
	rules        []Level
}

// PartItems are labelled items with the part each comes from.
type PartItems struct {
	Part  string
	Items []Item
}

// stratifiedFolds deals items into k folds, level by level, in an order
// shuffled with seed.
func stratifiedFolds(items []Item, k int, seed uint64) []int {
	fold := make([]int, len(items))
	rng := rand.New(rand.NewPCG(seed, 0x73616665))
	next := 0
	for _, l := range Levels {
		var idx []int
		for i, it := range items {
			if it.Level == l {
				idx = append(idx, i)
			}
		}
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for _, i := range idx {
			fold[i] = next % k
			next++
		}
	}
	return fold
}

// oofPredict trains one model per held-out group (group[i] is item i's)
// and returns every item's out-of-fold probabilities.
func oofPredict(items []Item, group []int, groups int, opts LearnedOptions) (pFlag, pHigh []float64, err error) {
	pFlag, pHigh = make([]float64, len(items)), make([]float64, len(items))
	models := make([]*Learned, groups)
	errs := make([]error, groups)
	// One model at a time: each training already uses the cores.
	for g := range groups {
		var train []Item
		for i, it := range items {
			if group[i] != g {
				train = append(train, it)
			}
		}
		models[g], errs[g] = trainLearned(train, opts, false)
		if errs[g] != nil {
			return nil, nil, fmt.Errorf("fold %d: %w", g, errs[g])
		}
	}
	var wg sync.WaitGroup
	for i := range items {
		wg.Go(func() {
			s := models[group[i]].scoreItem(&items[i])
			pFlag[i], pHigh[i] = s.p[headFlag], s.p[headHigh]
		})
	}
	wg.Wait()
	return pFlag, pHigh, nil
}

// scoreItem is the learned screen's highest score for an item, as Screen
// and ScreenConversation read it.
func (m *Learned) scoreItem(it *Item) learnedScore {
	var ts []*learnedText
	if it.Messages == nil {
		c := canonicalize(it.Text)
		all := c.text
		ts = append(ts, &learnedText{c: c, markerIn: func(mk *marker) bool { return mk.in(all) }, starts: []int{0}, msgs: []int{0}})
	} else {
		var texts []string
		var idx []int
		for i, msg := range it.Messages {
			if msg.Role == data.RoleUser {
				c := canonicalize(msg.Content)
				all := c.text
				ts = append(ts, &learnedText{c: c, markerIn: func(mk *marker) bool { return mk.in(all) }, starts: []int{0}, msgs: []int{i}})
				texts, idx = append(texts, msg.Content), append(idx, i)
			}
		}
		if len(ts) > 1 {
			ts = append(ts, joinedTurns(texts, idx))
		}
	}
	var a assessment
	for _, t := range ts {
		m.add(&a, t)
	}
	return learnedScore{p: a.max}
}

// learnedLevel is the level of probabilities at thresholds t.
func learnedLevel(pFlag, pHigh float64, t LearnedThresholds) Level {
	switch {
	case pHigh >= t.High:
		return High
	case pFlag >= t.Concern:
		return Concern
	}
	return None
}

// ChooseLearnedThresholds picks the lowest thresholds (the highest recall)
// at which the combined screen keeps the non-crisis items within the
// budgets: first High's, on P(high), then Concern's, on P(at least
// concern), counting what the rules and the High threshold already flag.
//
// The budgets count the items of pool (nil: every non-crisis item). The
// shipped model's pool is the hard negatives: non-crisis text that looks
// like crisis, on which a screen errs most; the ordinary talk of the
// training set would make the budgets easy to keep.
func ChooseLearnedThresholds(labels []Level, pFlag, pHigh []float64, rules []Level, pool []bool, budgetHigh, budgetFlagged float64) LearnedThresholds {
	var none []int
	for i, l := range labels {
		if l == None && (pool == nil || pool[i]) {
			none = append(none, i)
		}
	}
	pick := func(p []float64, already func(i int) bool, budget float64) float64 {
		allowed := int(math.Floor(budget*float64(len(none)) + 1e-9))
		var rest []float64
		for _, i := range none {
			if already(i) {
				allowed--
			} else {
				rest = append(rest, p[i])
			}
		}
		slices.SortFunc(rest, func(a, b float64) int { return cmpDesc(a, b) })
		// The threshold lies between the allowed-th and the next highest
		// score of the remaining non-crisis items.
		switch {
		case allowed < 0 || len(rest) == 0:
			return 0.99
		case allowed == 0:
			return math.Min(0.99, (1+rest[0])/2)
		case allowed >= len(rest):
			return math.Max(0.01, rest[len(rest)-1]/2)
		}
		return math.Min(0.99, math.Max(0.01, (rest[allowed-1]+rest[allowed])/2))
	}
	var t LearnedThresholds
	t.High = pick(pHigh, func(i int) bool { return rules[i] == High }, budgetHigh)
	t.Concern = pick(pFlag, func(i int) bool { return rules[i] >= Concern || pHigh[i] >= t.High }, budgetFlagged)
	return t
}

func cmpDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// CrossValidateLearned runs the k-fold cross-validation of opts on the
// parts, chooses the thresholds on its out-of-fold predictions, and
// reports the rates at them; with leavePartOut it also predicts each part
// from the others.
func CrossValidateLearned(parts []PartItems, opts LearnedOptions, leavePartOut bool) (*LearnedCV, error) {
	var items []Item
	var partOf []int
	for p, pi := range parts {
		items = append(items, pi.Items...)
		for range pi.Items {
			partOf = append(partOf, p)
		}
	}
	if opts.Folds < 2 {
		return nil, fmt.Errorf("safety: cross-validation needs at least 2 folds, got %d", opts.Folds)
	}
	folds := stratifiedFolds(items, opts.Folds, opts.FoldSeed)
	pFlag, pHigh, err := oofPredict(items, folds, opts.Folds, opts)
	if err != nil {
		return nil, err
	}
	labels := make([]Level, len(items))
	rules := make([]Level, len(items))
	var wg sync.WaitGroup
	for i := range items {
		labels[i] = items[i].Level
		wg.Go(func() { rules[i] = items[i].ScreenRules().Level })
	}
	wg.Wait()
	cv := &LearnedCV{Folds: opts.Folds, Seed: opts.FoldSeed, pFlag: pFlag, pHigh: pHigh, rules: rules}
	hard := make([]bool, len(items))
	for i := range items {
		hard[i] = items[i].HardNegative
	}
	cv.Thresholds = ChooseLearnedThresholds(labels, pFlag, pHigh, rules, hard, opts.BudgetNoneHigh, opts.BudgetNoneFlagged)
	rates := func(name string, sel func(i int) bool, pf, ph []float64) LearnedPartRates {
		var lab, learned, rl, comb []Level
		var hd []bool
		for i := range items {
			if !sel(i) {
				continue
			}
			l := learnedLevel(pf[i], ph[i], cv.Thresholds)
			lab, learned, rl, comb = append(lab, labels[i]), append(learned, l), append(rl, rules[i]), append(comb, max(l, rules[i]))
			hd = append(hd, hard[i])
		}
		return LearnedPartRates{Part: name, Learned: ratesOf(lab, learned, hd), Rules: ratesOf(lab, rl, hd),
			Combined: ratesOf(lab, comb, hd)}
	}
	cv.All = rates("all", func(int) bool { return true }, pFlag, pHigh)
	for p, pi := range parts {
		cv.ByPart = append(cv.ByPart, rates(pi.Part, func(i int) bool { return partOf[i] == p }, pFlag, pHigh))
	}
	if leavePartOut {
		lf, lh, err := oofPredict(items, partOf, len(parts), opts)
		if err != nil {
			return nil, err
		}
		for p, pi := range parts {
			cv.LeavePartOut = append(cv.LeavePartOut, rates(pi.Part, func(i int) bool { return partOf[i] == p }, lf, lh))
		}
	}
	return cv, nil
}

// ScreenRules screens the item with the rules alone.
func (it *Item) ScreenRules() Result {
	if it.Messages != nil {
		return ScreenConversationRules(it.Messages)
	}
	return ScreenRules(it.Text)
}

// ScreenWith screens the item with the rules and the learned screen m
// (the rules alone when m is nil).
func (it *Item) ScreenWith(m *Learned) Result {
	if it.Messages != nil {
		return screenConversationWith(it.Messages, m)
	}
	return screenWith(it.Text, m)
}

// TrainShippedLearned cross-validates opts on the parts, trains on all of
// them and sets the thresholds chosen in cross-validation: the model
// `go generate ./pkg/safety` writes.
func TrainShippedLearned(parts []PartItems, opts LearnedOptions, leavePartOut bool) (*Learned, error) {
	cv, err := CrossValidateLearned(parts, opts, leavePartOut)
	if err != nil {
		return nil, err
	}
	var items []Item
	for _, p := range parts {
		items = append(items, p.Items...)
	}
	m, err := TrainLearned(items, opts)
	if err != nil {
		return nil, err
	}
	m.Thresholds = cv.Thresholds
	m.CV = cv
	return m, nil
}

// RealNegativesPart names the real, unlabelled ordinary talk the learned
// screen trains on as non-crisis (RealNegatives).
const RealNegativesPart = "annomi-client-turns"

// TrainsOnTranscript reports whether the learned screen trains on the
// client turns of an AnnoMI transcript: those with even ids do; the odd
// ones are kept to measure how often it flags real talk (ScanCorpus).
func TrainsOnTranscript(id int) bool { return id%2 == 0 }

// RealNegatives are the AnnoMI client turns (consecutive utterances merged)
// of the transcripts TrainsOnTranscript picks, of at least 20 characters,
// that the rules leave alone, as non-crisis items. They are real spoken
// talk about drinking, smoking, pills, plans and health: written examples
// alone taught the learned screen to read that talk as risk (in round 4
// of datasets/safety/README.md it flagged 9% of the client turns it never
// saw and 42% of CounselChat questions; with them, 1% and 29%). Turns the
// rules flag are left out, so the few real disclosures among them are not
// taught as harmless.
func RealNegatives(anno *data.AnnoMI) []Item {
	var items []Item
	for _, t := range anno.Transcripts {
		if !TrainsOnTranscript(t.ID) {
			continue
		}
		for _, turn := range t.Turns() {
			if turn.Speaker != data.SpeakerClient || len(turn.Text) < 20 || ScreenRules(turn.Text).Level != None {
				continue
			}
			items = append(items, Item{ID: fmt.Sprintf("annomi-%d-%d", t.ID, turn.FirstID), Text: turn.Text,
				Level: None, Categories: []Category{}, Kind: "spoken_real"})
		}
	}
	return items
}

// LoadTrainingParts loads the named parts of the labelled set in setDir
// and, when datasetsDir is not empty, the RealNegatives of the AnnoMI
// corpus there (a datasets directory, as data.PathsIn reads it). The
// shipped learned screen is trained on TrainParts and the real negatives.
func LoadTrainingParts(setDir string, parts []string, datasetsDir string) ([]PartItems, error) {
	var out []PartItems
	for _, p := range parts {
		items, err := LoadLabelled(filepath.Join(setDir, p+".jsonl"))
		if err != nil {
			return nil, err
		}
		out = append(out, PartItems{Part: p, Items: items})
	}
	if datasetsDir == "" {
		return out, nil
	}
	anno, err := data.LoadAnnoMI(data.PathsIn(datasetsDir).AnnoMISimple, "")
	if err != nil {
		return nil, fmt.Errorf("annomi: %w", err)
	}
	return append(out, PartItems{Part: RealNegativesPart, Items: RealNegatives(anno)}), nil
}
