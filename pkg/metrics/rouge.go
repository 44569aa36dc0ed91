package metrics

import "strings"

// PRF is a precision, recall and F1 triple in [0, 1].
type PRF struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F         float64 `json:"f"`
}

// ROUGEScore holds ROUGE-1, ROUGE-2 and ROUGE-L (sentence-level LCS).
type ROUGEScore struct {
	ROUGE1 PRF `json:"rouge1"`
	ROUGE2 PRF `json:"rouge2"`
	ROUGEL PRF `json:"rougeL"`
}

// ROUGE scores a hypothesis against one reference as torchmetrics'
// ROUGEScore (and Google's rouge-score) do without stemming: tokens from
// TokenizeROUGE, clipped n-gram overlap for ROUGE-N, longest common
// subsequence for ROUGE-L; all zero when either side has no n-grams.
func ROUGE(hyp, ref string) ROUGEScore {
	h, r := TokenizeROUGE(hyp), TokenizeROUGE(ref)
	return ROUGEScore{
		ROUGE1: rougeN(h, r, 1),
		ROUGE2: rougeN(h, r, 2),
		ROUGEL: rougeL(h, r),
	}
}

func ngramCounts(tokens []string, n int) (map[string]int, int) {
	counts := map[string]int{}
	total := 0
	for i := 0; i+n <= len(tokens); i++ {
		counts[strings.Join(tokens[i:i+n], " ")]++
		total++
	}
	return counts, total
}

func rougeN(hyp, ref []string, n int) PRF {
	hc, hTotal := ngramCounts(hyp, n)
	rc, rTotal := ngramCounts(ref, n)
	if hTotal == 0 || rTotal == 0 {
		return PRF{}
	}
	hits := 0
	for ng, c := range hc {
		hits += min(c, rc[ng])
	}
	return prf(hits, hTotal, rTotal)
}

func rougeL(hyp, ref []string) PRF {
	if len(hyp) == 0 || len(ref) == 0 {
		return PRF{}
	}
	return prf(lcsLength(hyp, ref), len(hyp), len(ref))
}

// prf computes precision, recall and their harmonic mean from a hit count.
func prf(hits, hypLen, refLen int) PRF {
	p := float64(hits) / float64(hypLen)
	r := float64(hits) / float64(refLen)
	if p == 0 && r == 0 {
		return PRF{}
	}
	return PRF{Precision: p, Recall: r, F: 2 * p * r / (p + r)}
}

// lcsLength is the length of the longest common subsequence, in
// O(len(a)·len(b)) time and O(len(b)) memory.
func lcsLength(a, b []string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := range a {
		for j := range b {
			if a[i] == b[j] {
				cur[j+1] = prev[j] + 1
			} else {
				cur[j+1] = max(prev[j+1], cur[j])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
