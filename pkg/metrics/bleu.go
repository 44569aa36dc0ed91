package metrics

import (
	"fmt"
	"math"
	"strings"
)

// MaxNgramOrder is BLEU's maximum n-gram order (sacreBLEU's default).
const MaxNgramOrder = 4

// BLEUScore is a BLEU score with its sufficient statistics, as sacreBLEU
// reports it. Score is on the 0–100 scale.
type BLEUScore struct {
	Score      float64
	Correct    [MaxNgramOrder]int     // clipped n-gram matches per order
	Total      [MaxNgramOrder]int     // hypothesis n-grams per order
	Precisions [MaxNgramOrder]float64 // smoothed precisions, 0–100
	BP         float64                // brevity penalty
	SysLen     int                    // hypothesis tokens
	RefLen     int                    // closest reference tokens
}

// bleuStats are the additive per-segment statistics of BLEU.
type bleuStats struct {
	sysLen, refLen int
	correct, total [MaxNgramOrder]int
}

func (s *bleuStats) add(o bleuStats) {
	s.sysLen += o.sysLen
	s.refLen += o.refLen
	for i := range s.correct {
		s.correct[i] += o.correct[i]
		s.total[i] += o.total[i]
	}
}

// wordNgrams counts all n-grams of orders 1..MaxNgramOrder. Tokens never
// contain whitespace, so joining them with a space is an unambiguous key.
func wordNgrams(tokens []string) map[string]int {
	counts := make(map[string]int, len(tokens)*MaxNgramOrder)
	for n := 1; n <= MaxNgramOrder; n++ {
		for i := 0; i+n <= len(tokens); i++ {
			counts[strings.Join(tokens[i:i+n], " ")]++
		}
	}
	return counts
}

// segmentBLEUStats computes the statistics of one hypothesis against its
// references as sacreBLEU does: reference n-gram counts are the maximum over
// references, and the reference length is the closest one (the shorter on
// ties).
func segmentBLEUStats(hyp string, refs []string) bleuStats {
	hypTokens := Tokenize13a(hyp)
	refNgrams := map[string]int{}
	closestLen, closestDiff := -1, -1
	for _, ref := range refs {
		tokens := Tokenize13a(ref)
		for ng, c := range wordNgrams(tokens) {
			refNgrams[ng] = max(refNgrams[ng], c)
		}
		diff := len(hypTokens) - len(tokens)
		if diff < 0 {
			diff = -diff
		}
		if closestDiff == -1 || diff < closestDiff || (diff == closestDiff && len(tokens) < closestLen) {
			closestDiff, closestLen = diff, len(tokens)
		}
	}
	st := bleuStats{sysLen: len(hypTokens), refLen: max(closestLen, 0)}
	for ng, c := range wordNgrams(hypTokens) {
		n := strings.Count(ng, " ")
		st.total[n] += c
		if rc, ok := refNgrams[ng]; ok {
			st.correct[n] += min(c, rc)
		}
	}
	return st
}

// computeBLEU turns statistics into a score with sacreBLEU's exponential
// ("exp", mteval-v13a) smoothing. With effectiveOrder the geometric mean
// runs only over orders for which the hypothesis has n-grams, as sacreBLEU's
// sentence_bleu does by default.
func computeBLEU(st bleuStats, effectiveOrder bool) BLEUScore {
	out := BLEUScore{Correct: st.correct, Total: st.total, SysLen: st.sysLen, RefLen: st.refLen, BP: 1}
	if st.sysLen < st.refLen {
		out.BP = 0
		if st.sysLen > 0 {
			out.BP = math.Exp(1 - float64(st.refLen)/float64(st.sysLen))
		}
	}
	anyCorrect := false
	for _, c := range st.correct {
		anyCorrect = anyCorrect || c != 0
	}
	if !anyCorrect {
		return out
	}
	smooth := 1.0
	effOrder := MaxNgramOrder
	for n := 1; n <= MaxNgramOrder; n++ {
		if st.total[n-1] == 0 {
			break
		}
		if effectiveOrder {
			effOrder = n
		}
		if st.correct[n-1] == 0 {
			smooth *= 2
			out.Precisions[n-1] = 100 / (smooth * float64(st.total[n-1]))
		} else {
			out.Precisions[n-1] = 100 * float64(st.correct[n-1]) / float64(st.total[n-1])
		}
	}
	sumLog := 0.0
	for _, p := range out.Precisions[:effOrder] {
		if p == 0 {
			sumLog += -9999999999 // sacreBLEU's my_log(0)
		} else {
			sumLog += math.Log(p)
		}
	}
	out.Score = out.BP * math.Exp(sumLog/float64(effOrder))
	return out
}

// SentenceBLEU is sacreBLEU 2.x's sentence_bleu with its defaults: 13a
// tokenisation, cased, exponential smoothing, effective order.
func SentenceBLEU(hyp string, refs ...string) BLEUScore {
	return computeBLEU(segmentBLEUStats(hyp, refs), true)
}

// CorpusBLEU is sacreBLEU 2.x's corpus_bleu with its defaults (13a, cased,
// exponential smoothing, no effective order): statistics are summed over
// segments before the score is computed. Each reference stream must be
// aligned with hyps.
func CorpusBLEU(hyps []string, refStreams ...[]string) (BLEUScore, error) {
	if err := checkStreams(len(hyps), refStreams); err != nil {
		return BLEUScore{}, err
	}
	var total bleuStats
	eachSegment(hyps, refStreams, func(hyp string, refs []string) { total.add(segmentBLEUStats(hyp, refs)) })
	return computeBLEU(total, false), nil
}

// checkStreams verifies that there is at least one reference stream and
// that every stream has one reference per hypothesis.
// eachSegment calls fn with each hypothesis and its references, the i-th
// of every stream (checkStreams has checked the lengths); refs is reused
// between calls.
func eachSegment(hyps []string, refStreams [][]string, fn func(hyp string, refs []string)) {
	refs := make([]string, len(refStreams))
	for i, hyp := range hyps {
		for j, stream := range refStreams {
			refs[j] = stream[i]
		}
		fn(hyp, refs)
	}
}

func checkStreams(numHyps int, refStreams [][]string) error {
	if len(refStreams) == 0 {
		return fmt.Errorf("metrics: no reference stream given")
	}
	for j, stream := range refStreams {
		if len(stream) != numHyps {
			return fmt.Errorf("metrics: reference stream %d has %d segments, want %d (one per hypothesis)", j, len(stream), numHyps)
		}
	}
	return nil
}
