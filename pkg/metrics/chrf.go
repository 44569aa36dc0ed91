package metrics

// chrF with sacreBLEU 2.x's defaults: character n-grams of orders 1..6, no
// word n-grams, beta 2, whitespace removed, cased, effective-order averaging
// (no epsilon smoothing).
const (
	chrfCharOrder = 6
	chrfBeta      = 2.0
)

// chrfStats holds [hyp, ref, match] n-gram counts per order.
type chrfStats [chrfCharOrder][3]int

func (s *chrfStats) add(o chrfStats) {
	for i := range s {
		for j := range s[i] {
			s[i][j] += o[i][j]
		}
	}
}

// charNgrams counts the character n-grams of orders 1..chrfCharOrder of a
// segment with all (Python) whitespace removed; characters are code points.
func charNgrams(segment string) [chrfCharOrder]map[string]int {
	var runes []rune
	for _, r := range segment {
		if !isPySpace(r) {
			runes = append(runes, r)
		}
	}
	var out [chrfCharOrder]map[string]int
	for n := 1; n <= chrfCharOrder; n++ {
		m := make(map[string]int, max(len(runes)-n+1, 0))
		for i := 0; i+n <= len(runes); i++ {
			m[string(runes[i:i+n])]++
		}
		out[n-1] = m
	}
	return out
}

// chrfMatch is sacreBLEU's _get_match_statistics for one order: hypothesis
// n-grams are not counted when the reference has none of that order.
func chrfMatch(hyp, ref map[string]int) [3]int {
	hypCount, match, refCount := 0, 0, 0
	for ng, c := range hyp {
		hypCount += c
		if rc, ok := ref[ng]; ok {
			match += min(c, rc)
		}
	}
	for _, c := range ref {
		refCount += c
	}
	if len(ref) == 0 {
		hypCount = 0
	}
	return [3]int{hypCount, refCount, match}
}

// chrfScore is sacreBLEU's _compute_f_score without epsilon smoothing, on
// the 0–100 scale.
func chrfScore(st chrfStats) float64 {
	const factor = chrfBeta * chrfBeta
	avgPrec, avgRec, effOrder := 0.0, 0.0, 0
	for _, s := range st {
		nHyp, nRef, nMatch := s[0], s[1], s[2]
		if nHyp > 0 && nRef > 0 {
			avgPrec += float64(nMatch) / float64(nHyp)
			avgRec += float64(nMatch) / float64(nRef)
			effOrder++
		}
	}
	if effOrder == 0 {
		return 0
	}
	avgPrec /= float64(effOrder)
	avgRec /= float64(effOrder)
	if avgPrec+avgRec == 0 {
		return 0
	}
	return 100 * (1 + factor) * avgPrec * avgRec / (factor*avgPrec + avgRec)
}

// segmentCHRFStats returns the statistics against the reference with the
// best chrF (the first one on ties), as sacreBLEU does.
func segmentCHRFStats(hyp string, refs []string) chrfStats {
	hypNgrams := charNgrams(hyp)
	var best chrfStats
	bestScore := -1.0
	for _, ref := range refs {
		refNgrams := charNgrams(ref)
		var st chrfStats
		for n := range st {
			st[n] = chrfMatch(hypNgrams[n], refNgrams[n])
		}
		if s := chrfScore(st); s > bestScore {
			best, bestScore = st, s
		}
	}
	return best
}

// SentenceCHRF is sacreBLEU 2.x's sentence_chrf with its defaults (chrF2,
// 6 character orders, no word orders), on the 0–100 scale.
func SentenceCHRF(hyp string, refs ...string) float64 {
	return chrfScore(segmentCHRFStats(hyp, refs))
}

// CorpusCHRF is sacreBLEU 2.x's corpus_chrf with its defaults: statistics
// are summed over segments before the score is computed.
func CorpusCHRF(hyps []string, refStreams ...[]string) (float64, error) {
	if err := checkStreams(len(hyps), refStreams); err != nil {
		return 0, err
	}
	var total chrfStats
	eachSegment(hyps, refStreams, func(hyp string, refs []string) { total.add(segmentCHRFStats(hyp, refs)) })
	return chrfScore(total), nil
}
