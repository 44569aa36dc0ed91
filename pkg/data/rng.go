package data

import (
	"hash/fnv"
	"math/bits"
)

// rng is a small SplitMix64 generator. The data layer uses its own
// generator, rather than math/rand, so that splits and mixes stay the same
// for a given seed across Go releases (math/rand/v2 does not promise stable
// Shuffle or IntN output).
type rng struct{ state uint64 }

// newRNG derives an independent stream for one purpose (e.g. "split/high")
// from the user's seed, so that adding a stratum or a source does not shift
// the draws of the others.
func newRNG(seed uint64, stream string) *rng {
	h := fnv.New64a()
	h.Write([]byte(stream))
	r := &rng{state: seed ^ h.Sum64()}
	r.next() // decorrelate nearby seeds
	return r
}

func (r *rng) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a uniform integer in [0, n) without modulo bias (Lemire's
// multiply-and-reject method). n must be positive.
func (r *rng) intn(n int) int {
	bound := uint64(n)
	hi, lo := bits.Mul64(r.next(), bound)
	if lo < bound {
		threshold := -bound % bound
		for lo < threshold {
			hi, lo = bits.Mul64(r.next(), bound)
		}
	}
	return int(hi)
}

// shuffle is a Fisher-Yates shuffle of n elements.
func (r *rng) shuffle(n int, swap func(i, j int)) {
	for i := n - 1; i > 0; i-- {
		swap(i, r.intn(i+1))
	}
}

// largestRemainder splits total into integer shares proportional to
// weights (which must sum to a positive number): each share is the floor of
// its exact value, and the units left go to the largest fractional parts,
// earlier weights first on ties. The shares always sum to total.
func largestRemainder(total int, weights []float64) []int {
	var sum float64
	for _, w := range weights {
		sum += w
	}
	shares := make([]int, len(weights))
	fracs := make([]float64, len(weights))
	left := total
	for i, w := range weights {
		exact := float64(total) * w / sum
		shares[i] = int(exact)
		fracs[i] = exact - float64(shares[i])
		left -= shares[i]
	}
	for ; left < 0; left++ { // float rounding overshot: take back from the smallest fraction
		worst := -1
		for i, f := range fracs {
			if shares[i] > 0 && (worst < 0 || f < fracs[worst]) {
				worst = i
			}
		}
		shares[worst]--
		fracs[worst] = 2
	}
	for ; left > 0; left-- {
		best := -1
		for i, f := range fracs {
			if weights[i] > 0 && (best < 0 || f > fracs[best]) {
				best = i
			}
		}
		shares[best]++
		fracs[best] = -1
	}
	return shares
}
