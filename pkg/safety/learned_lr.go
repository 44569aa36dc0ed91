package safety

import "math"

// This file holds the learned screen's optimiser: weighted binary logistic
// regression with an L2 penalty, minimised by L-BFGS (the method of
// pkg/metrics/logreg.go, which pkg/safety does not import: the screen
// stays free of the metrics package's dependencies).

// sparseRow is one example's feature vector: sorted indices and values.
type sparseRow struct {
	idx []int32
	val []float32
}

// binaryProblem is a weighted binary logistic-regression training set.
type binaryProblem struct {
	x        []sparseRow
	y        []bool
	weight   []float64
	features int
}

// objective returns Σ weight·log(1+exp(−y·z)) + l2/2·‖w‖² (the bias, the
// last weight, is not penalised) and writes its gradient into grad. The
// sums run in example order, so the result does not depend on scheduling.
func (p *binaryProblem) objective(w []float64, l2 float64, grad []float64) float64 {
	clear(grad)
	loss := 0.0
	bias := p.features
	for i, x := range p.x {
		z := w[bias]
		for k, j := range x.idx {
			z += float64(x.val[k]) * w[j]
		}
		s := p.weight[i]
		var g float64 // d loss / d z
		if p.y[i] {
			loss += s * softplus(-z)
			g = -s * sigmoid(-z)
		} else {
			loss += s * softplus(z)
			g = s * sigmoid(z)
		}
		grad[bias] += g
		for k, j := range x.idx {
			grad[j] += g * float64(x.val[k])
		}
	}
	for j, v := range w[:p.features] {
		loss += 0.5 * l2 * v * v
		grad[j] += l2 * v
	}
	return loss
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// softplus is log(1+exp(z)) without overflow.
func softplus(z float64) float64 {
	if z > 30 {
		return z
	}
	return math.Log1p(math.Exp(z))
}

// trainBinary minimises the objective with L-BFGS from zero weights and
// returns features+1 weights (the bias last). Training is sequential and
// seed-free, hence deterministic.
func trainBinary(p *binaryProblem, l2 float64, maxIter int) []float64 {
	w := make([]float64, p.features+1)
	lbfgs(func(x, g []float64) float64 { return p.objective(x, l2, g) }, w, maxIter, 10, 1e-7)
	return w
}

// lbfgs minimises f in place from x with limited-memory BFGS (memory m)
// and a backtracking Armijo line search; it stops after maxIter iterations
// or when the relative decrease of f falls below tol.
func lbfgs(f func(x, grad []float64) float64, x []float64, maxIter, m int, tol float64) float64 {
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
		for i := range dir {
			dir[i] = -g[i]
		}
		for k := len(sHist) - 1; k >= 0; k-- {
			alpha[k] = rhoHist[k] * dot64(sHist[k], dir)
			axpy64(-alpha[k], yHist[k], dir)
		}
		if k := len(sHist) - 1; k >= 0 {
			scale64(dir, dot64(sHist[k], yHist[k])/dot64(yHist[k], yHist[k]))
		} else if gn := math.Sqrt(dot64(g, g)); gn > 0 {
			scale64(dir, 1/gn)
		}
		for k := range sHist {
			beta := rhoHist[k] * dot64(yHist[k], dir)
			axpy64(alpha[k]-beta, sHist[k], dir)
		}
		slope := dot64(g, dir)
		if slope >= 0 { // not a descent direction: restart from steepest descent
			for i := range dir {
				dir[i] = -g[i]
			}
			slope = dot64(g, dir)
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
		if sy := dot64(s, y); sy > 1e-12 {
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

func dot64(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func axpy64(a float64, x, y []float64) {
	for i := range x {
		y[i] += a * x[i]
	}
}

func scale64(x []float64, a float64) {
	for i := range x {
		x[i] *= a
	}
}
