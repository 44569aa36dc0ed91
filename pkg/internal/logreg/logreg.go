// Package logreg is the weighted logistic regression behind the project's
// two learned classifiers: multinomial for the MI behaviour classifier
// (package metrics) and binary for the learned crisis screen (package
// safety). Both minimise a weighted cross-entropy with an L2 penalty (the
// biases are not penalised) by L-BFGS from zero weights. The computation is
// sequential and seed-free, so training is deterministic: the same problem
// gives bitwise the same weights.
package logreg

import "math"

// Vector is a sparse feature vector: sorted indices and their values.
type Vector struct {
	Idx []int32
	Val []float32
}

// Multinomial is a weighted multinomial training set: example i has
// features X[i], class Y[i] in [0, Classes) and loss weight Weight[i].
type Multinomial struct {
	X        []Vector
	Y        []int
	Weight   []float64
	Classes  int
	Features int
}

// Scores writes the class logits of x into out under the weights w of a
// multinomial model: Features×Classes weights, row-major, followed by one
// bias per class. Features beyond the model's are ignored. Weights may be
// stored in float32 (a shipped model); the sums are float64 either way.
func Scores[W float32 | float64](w []W, classes, features int, x Vector, out []float64) {
	for c := range out {
		out[c] = float64(w[features*classes+c])
	}
	for k, j := range x.Idx {
		if int(j) >= features {
			continue
		}
		v := float64(x.Val[k])
		row := w[int(j)*classes : int(j+1)*classes]
		for c := range out {
			out[c] += v * float64(row[c])
		}
	}
}

// Softmax turns logits into probabilities in place.
func Softmax(z []float64) {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = max(mx, v)
	}
	sum := 0.0
	for i, v := range z {
		z[i] = math.Exp(v - mx)
		sum += z[i]
	}
	for i := range z {
		z[i] /= sum
	}
}

// Argmax returns the index of the largest score (the first on ties): the
// predicted class.
func Argmax(v []float64) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}

// Objective returns the weighted cross-entropy plus l2/2·‖W‖² (biases are
// not penalised) at the weights w and writes its gradient into grad.
func (p *Multinomial) Objective(w []float64, l2 float64, grad []float64) float64 {
	clear(grad)
	loss := 0.0
	prob := make([]float64, p.Classes)
	gb := grad[p.Features*p.Classes:]
	for i, x := range p.X {
		Scores(w, p.Classes, p.Features, x, prob)
		Softmax(prob)
		s := p.Weight[i]
		loss -= s * math.Log(max(prob[p.Y[i]], 1e-300))
		prob[p.Y[i]] -= 1
		for c := range prob {
			prob[c] *= s
			gb[c] += prob[c]
		}
		for k, j := range x.Idx {
			v := float64(x.Val[k])
			row := grad[int(j)*p.Classes : int(j+1)*p.Classes]
			for c := range row {
				row[c] += v * prob[c]
			}
		}
	}
	for i, v := range w[:p.Features*p.Classes] {
		loss += 0.5 * l2 * v * v
		grad[i] += l2 * v
	}
	return loss
}

// Train minimises the objective with L-BFGS (memory 10, relative tolerance
// 1e-6) from zero weights and returns them (see Scores for the layout).
func (p *Multinomial) Train(l2 float64, maxIter int) []float64 {
	w := make([]float64, p.Features*p.Classes+p.Classes)
	Minimize(func(x, g []float64) float64 { return p.Objective(x, l2, g) }, w, maxIter, 10, 1e-6)
	return w
}

// Binary is a weighted binary training set: example i has features X[i],
// label Y[i] and loss weight Weight[i].
type Binary struct {
	X        []Vector
	Y        []bool
	Weight   []float64
	Features int
}

// Objective returns Σ weight·log(1+exp(−y·z)) + l2/2·‖w‖² (the bias, the
// last weight, is not penalised) and writes its gradient into grad. The
// sums run in example order, so the result does not depend on scheduling.
func (p *Binary) Objective(w []float64, l2 float64, grad []float64) float64 {
	clear(grad)
	loss := 0.0
	bias := p.Features
	for i, x := range p.X {
		z := w[bias]
		for k, j := range x.Idx {
			z += float64(x.Val[k]) * w[j]
		}
		s := p.Weight[i]
		var g float64 // d loss / d z
		if p.Y[i] {
			loss += s * Softplus(-z)
			g = -s * Sigmoid(-z)
		} else {
			loss += s * Softplus(z)
			g = s * Sigmoid(z)
		}
		grad[bias] += g
		for k, j := range x.Idx {
			grad[j] += g * float64(x.Val[k])
		}
	}
	for j, v := range w[:p.Features] {
		loss += 0.5 * l2 * v * v
		grad[j] += l2 * v
	}
	return loss
}

// Train minimises the objective with L-BFGS (memory 10, relative tolerance
// 1e-7) from zero weights and returns Features+1 weights, the bias last.
func (p *Binary) Train(l2 float64, maxIter int) []float64 {
	w := make([]float64, p.Features+1)
	Minimize(func(x, g []float64) float64 { return p.Objective(x, l2, g) }, w, maxIter, 10, 1e-7)
	return w
}

// Sigmoid is 1/(1+exp(−z)) without overflow.
func Sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// Softplus is log(1+exp(z)) without overflow.
func Softplus(z float64) float64 {
	if z > 30 {
		return z
	}
	return math.Log1p(math.Exp(z))
}

// Minimize minimises f in place from x with limited-memory BFGS (memory m)
// and a backtracking Armijo line search. It stops after maxIter iterations
// or when the relative decrease of f falls below tol, and returns f(x).
func Minimize(f func(x, grad []float64) float64, x []float64, maxIter, m int, tol float64) float64 {
	n := len(x)
	g := make([]float64, n)
	fx := f(x, g)
	var sHist, yHist [][]float64
	var rhoHist []float64
	dir := make([]float64, n)
	alpha := make([]float64, m)
	xNew := make([]float64, n)
	gNew := make([]float64, n)
	for iter := 0; iter < maxIter; iter++ {
		// Two-loop recursion: dir = -H·g.
		for i := range dir {
			dir[i] = -g[i]
		}
		for k := len(sHist) - 1; k >= 0; k-- {
			alpha[k] = rhoHist[k] * dot(sHist[k], dir)
			axpy(-alpha[k], yHist[k], dir)
		}
		if k := len(sHist) - 1; k >= 0 {
			scale(dir, dot(sHist[k], yHist[k])/dot(yHist[k], yHist[k]))
		} else if gn := math.Sqrt(dot(g, g)); gn > 0 {
			scale(dir, 1/gn)
		}
		for k := range sHist {
			beta := rhoHist[k] * dot(yHist[k], dir)
			axpy(alpha[k]-beta, sHist[k], dir)
		}
		slope := dot(g, dir)
		if slope >= 0 { // not a descent direction: restart from steepest descent
			for i := range dir {
				dir[i] = -g[i]
			}
			slope = dot(g, dir)
			sHist, yHist, rhoHist = nil, nil, nil
		}
		if slope == 0 {
			break
		}
		step, fNew := 1.0, 0.0
		for tries := 0; ; tries++ {
			for i := range x {
				xNew[i] = x[i] + step*dir[i]
			}
			fNew = f(xNew, gNew)
			if fNew <= fx+1e-4*step*slope || tries == 30 {
				break
			}
			step *= 0.5
		}
		if fNew > fx {
			break
		}
		s := make([]float64, n)
		y := make([]float64, n)
		for i := range x {
			s[i] = xNew[i] - x[i]
			y[i] = gNew[i] - g[i]
		}
		if sy := dot(s, y); sy > 1e-12 {
			if len(sHist) == m {
				sHist, yHist, rhoHist = sHist[1:], yHist[1:], rhoHist[1:]
			}
			sHist, yHist, rhoHist = append(sHist, s), append(yHist, y), append(rhoHist, 1/sy)
		}
		decrease := fx - fNew
		copy(x, xNew)
		copy(g, gNew)
		fx = fNew
		if decrease <= tol*max(math.Abs(fx), 1) {
			break
		}
	}
	return fx
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func axpy(a float64, x, y []float64) {
	for i := range x {
		y[i] += a * x[i]
	}
}

func scale(x []float64, a float64) {
	for i := range x {
		x[i] *= a
	}
}
