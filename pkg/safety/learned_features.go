package safety

import "strconv"

// The learned screen's features come in four blocks, each normalised to
// unit length on its own and then weighted (LearnedOptions.BlockWeight), so
// that the thousands of character n-grams of a long message do not drown
// its few word-class cues.
const (
	blockWord   = iota // canonical words (and marks: "?", "<lol>")
	blockBigram        // pairs of neighbouring canonical words
	blockChar          // character 3–5-grams of the canonical text, across word boundaries
	blockCue           // word classes, their co-occurrences, person, negation, question, tense, length, markers
	numBlocks
)

// blockPrefix names a block in the model's vocabulary ("w:pills").
var blockPrefix = [numBlocks]string{"w:", "b:", "c:", "x:"}

// Character n-gram sizes.
const (
	charMin = 3
	charMax = 5
)

// featureVisitor receives every feature occurrence of a text: its block,
// its key (without the block prefix) and where it is. For blockChar, a and
// b are byte offsets in the canonical text; otherwise they are token
// indices [a, b), or -1 for features of the whole text (length, markers).
type featureVisitor func(block int, key string, a, b int)

// Cues read per sentence and combined with the word classes found there.
const (
	cueFirst    = iota // first person: i, me, my
	cueThird           // third person or a person noun: she, my sister
	cueNegation        // not, never, no
	cueQuestion        // ends with "?" or opens with a question word
	cuePast            // was, used to, ago
	cueFuture          // will, going to, tonight, plan
	numCues
)

var cueNames = [numCues]string{"fp", "tp", "neg", "q", "past", "fut"}

// Precomputed feature names, so that extraction allocates nothing.
var (
	lexFeature      [lexClasses]string
	lexCueFeature   [lexClasses][numCues]string
	lexPairSentence [lexClasses][lexClasses]string
	lexPairMessage  [lexClasses][lexClasses]string
	binNames        = map[string][]string{}
)

// learnedMarkers are the rules' markers the learned screen reads as cues
// (a time, a joke, a denial, a clinical or fictional frame, ...).
var learnedMarkers = []*marker{pastMarker, recentMarker, acuteMarker, jokeMarker, trivialCondition,
	seriousMarker, denialMarker, clinicalMarker, fictionMarker, notSuicidal, futureTime, intentFrame,
	hypothetical, innerVoice, everydayFarewell, panicMarker, metaphorMarker, accidentMarker}

var markerFeature = map[*marker]string{}

// countBins bound the count features (a count above the last bin falls in
// a bin of its own).
var countBins = []int{0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144}

func init() {
	for c := range lexClasses {
		lexFeature[c] = "lex:" + lexNames[c]
		for k := range numCues {
			lexCueFeature[c][k] = lexNames[c] + "&" + cueNames[k]
		}
		for d := range lexClasses {
			lexPairSentence[c][d] = "s:" + lexNames[c] + "+" + lexNames[d]
			lexPairMessage[c][d] = "m:" + lexNames[c] + "+" + lexNames[d]
		}
	}
	for _, ns := range []string{"len", "sent", "fp", "tp", "ncls", "q"} {
		names := make([]string, len(countBins)+1)
		for i, b := range countBins {
			names[i] = ns + ":" + strconv.Itoa(b)
		}
		names[len(countBins)] = ns + ":more"
		binNames[ns] = names
	}
	for _, m := range learnedMarkers {
		markerFeature[m] = "mk:" + m.name
	}
}

// binName returns the name of count n's bin in namespace ns.
func binName(ns string, n int) string {
	names := binNames[ns]
	for i, b := range countBins {
		if n <= b {
			return names[i]
		}
	}
	return names[len(countBins)]
}

// isMark reports whether a canonical token is a mark, not a word.
func isMark(w string) bool {
	switch w {
	case ".", "!", "?", ";", ",", markQuote, "'", markJoke, markSob:
		return true
	}
	return false
}

func isSentenceEnd(w string) bool { return w == "." || w == "!" || w == "?" || w == ";" }

// lexHit is a word or phrase of a lexicon class found in the text, in
// token indices [a, b).
type lexHit struct {
	class lexClass
	a, b  int
}

// lexHits finds the lexicon's words and phrases in tokens [a, b): at each
// token, the longest entry of each class that matches.
func lexHits(c *canonical, a, b int, out []lexHit) []lexHit {
	for i := a; i < b; i++ {
		entries := lexIndex[c.tokens[i].word]
		var done uint32
		for _, e := range entries {
			if done&(1<<e.class) != 0 || i+len(e.words) > b {
				continue
			}
			ok := true
			for k := 1; k < len(e.words); k++ {
				if c.tokens[i+k].word != e.words[k] {
					ok = false
					break
				}
			}
			if ok {
				done |= 1 << e.class
				out = append(out, lexHit{class: e.class, a: i, b: i + len(e.words)})
			}
		}
	}
	return out
}

// segText returns the canonical text of tokens [a, b) with a space at
// each end.
func (c *canonical) segText(a, b int) string {
	if a >= b {
		return " "
	}
	return c.text[c.offset[a]-1 : c.offset[b-1]+len(c.tokens[b-1].word)+1]
}

// learnedFeatures visits the features of tokens [a, b) of c. markerIn
// reports whether a marker occurs in the range. Without chars, the
// character n-grams are left out (the evidence reads words, not n-grams).
func learnedFeatures(c *canonical, a, b int, markerIn func(*marker) bool, chars bool, visit featureVisitor) {
	if a >= b {
		visit(blockCue, binName("len", 0), -1, -1)
		return
	}
	toks := c.tokens
	// Words and bigrams.
	words := 0
	for i := a; i < b; i++ {
		w := toks[i].word
		if !isMark(w) {
			words++
		}
		visit(blockWord, w, i, i+1)
		if i+1 < b && !(isMark(w) && isMark(toks[i+1].word)) {
			visit(blockBigram, c.text[c.offset[i]:c.offset[i+1]+len(toks[i+1].word)], i, i+2)
		}
	}
	// Character n-grams of the canonical text, spaces included.
	if chars {
		seg := c.segText(a, b)
		base := c.offset[a] - 1
		for n := charMin; n <= charMax; n++ {
			for k := 0; k+n <= len(seg); k++ {
				visit(blockChar, seg[k:k+n], base+k, base+k+n)
			}
		}
	}
	// Word classes, per sentence with the cues around them.
	var hitBuf [64]lexHit
	hits := lexHits(c, a, b, hitBuf[:0])
	var msgClasses uint32
	firstHit := [lexClasses]int{}
	for i := range firstHit {
		firstHit[i] = -1
	}
	for k, h := range hits {
		msgClasses |= 1 << h.class
		visit(blockCue, lexFeature[h.class], h.a, h.b)
		if firstHit[h.class] < 0 {
			firstHit[h.class] = k
		}
	}
	fp, tp, sentences, questions := 0, 0, 0, 0
	hk := 0 // next hit to assign to a sentence
	for s := a; s < b; {
		e := s
		for e < b && !isSentenceEnd(toks[e].word) {
			e++
		}
		end := e // the sentence is [s, end); toks[end] is its mark, if any
		if end > s {
			sentences++
			var cues [numCues]bool
			if end < b && toks[end].word == "?" || questionStart[toks[s].word] {
				cues[cueQuestion] = true
				questions++
			}
			for i := s; i < end; i++ {
				w := toks[i].word
				switch {
				case firstPerson[w]:
					cues[cueFirst] = true
					fp++
				case thirdPerson[w]:
					cues[cueThird] = true
					tp++
				}
				if negationWords[w] {
					cues[cueNegation] = true
				}
				if pastWords[w] {
					cues[cuePast] = true
				}
				if futureWords[w] {
					cues[cueFuture] = true
				}
			}
			var classes uint32
			var where [lexClasses][2]int
			for ; hk < len(hits) && hits[hk].a < end; hk++ {
				h := hits[hk]
				if classes&(1<<h.class) == 0 {
					where[h.class] = [2]int{h.a, h.b}
				}
				classes |= 1 << h.class
			}
			for ci := range lexClasses {
				if classes&(1<<ci) == 0 {
					continue
				}
				for k := range numCues {
					if cues[k] {
						visit(blockCue, lexCueFeature[ci][k], where[ci][0], where[ci][1])
					}
				}
				for d := ci + 1; d < lexClasses; d++ {
					if classes&(1<<d) != 0 {
						visit(blockCue, lexPairSentence[ci][d], where[ci][0], where[d][1])
					}
				}
			}
		}
		s = end + 1
	}
	nClasses := 0
	for ci := range lexClasses {
		if msgClasses&(1<<ci) == 0 {
			continue
		}
		if lexCategory[ci] != "" {
			nClasses++
		}
		for d := ci + 1; d < lexClasses; d++ {
			if msgClasses&(1<<d) != 0 {
				h, g := hits[firstHit[ci]], hits[firstHit[d]]
				visit(blockCue, lexPairMessage[ci][d], min(h.a, g.a), max(h.b, g.b))
			}
		}
	}
	visit(blockCue, binName("len", words), -1, -1)
	visit(blockCue, binName("sent", sentences), -1, -1)
	visit(blockCue, binName("fp", fp), -1, -1)
	visit(blockCue, binName("tp", tp), -1, -1)
	visit(blockCue, binName("ncls", nClasses), -1, -1)
	visit(blockCue, binName("q", questions), -1, -1)
	for _, m := range learnedMarkers {
		if markerIn(m) {
			visit(blockCue, markerFeature[m], -1, -1)
		}
	}
}
