package metrics

import (
	"math"
)

// sparseVec is a feature vector in coordinate form.
type sparseVec struct {
	idx []int32
	val []float32
}

// lrProblem is a weighted multinomial logistic-regression training set.
type lrProblem struct {
	x        []sparseVec
	y        []int
	weight   []float64 // per-example loss weight
	classes  int
	features int
}

// lrModel holds a multinomial logistic regression: W is features×classes,
// row-major, followed by one bias per class.
type lrModel struct {
	classes, features int
	w                 []float64
}

func (m *lrModel) bias() []float64 { return m.w[m.features*m.classes:] }

// scores writes the class logits of x into out.
func (m *lrModel) scores(x sparseVec, out []float64) {
	copy(out, m.bias())
	for k, j := range x.idx {
		if int(j) >= m.features {
			continue
		}
		v := float64(x.val[k])
		row := m.w[int(j)*m.classes : int(j+1)*m.classes]
		for c := range out {
			out[c] += v * row[c]
		}
	}
}

// softmaxInPlace turns logits into probabilities.
func softmaxInPlace(z []float64) {
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

// objective returns the weighted cross-entropy plus l2/2·‖W‖² (biases are
// not penalised) and its gradient.
func (p *lrProblem) objective(w []float64, l2 float64, grad []float64) float64 {
	m := lrModel{classes: p.classes, features: p.features, w: w}
	clear(grad)
	loss := 0.0
	prob := make([]float64, p.classes)
	gb := grad[p.features*p.classes:]
	for i, x := range p.x {
		m.scores(x, prob)
		softmaxInPlace(prob)
		s := p.weight[i]
		loss -= s * math.Log(max(prob[p.y[i]], 1e-300))
		prob[p.y[i]] -= 1
		for c := range prob {
			prob[c] *= s
			gb[c] += prob[c]
		}
		for k, j := range x.idx {
			v := float64(x.val[k])
			row := grad[int(j)*p.classes : int(j+1)*p.classes]
			for c := range row {
				row[c] += v * prob[c]
			}
		}
	}
	for i, v := range w[:p.features*p.classes] {
		loss += 0.5 * l2 * v * v
		grad[i] += l2 * v
	}
	return loss
}

// trainLR minimises the objective with L-BFGS from zero weights. The
// computation is sequential and seed-free, so training is deterministic.
func trainLR(p *lrProblem, l2 float64, maxIter int) *lrModel {
	n := p.features*p.classes + p.classes
	w := make([]float64, n)
	minimizeLBFGS(func(x, g []float64) float64 { return p.objective(x, l2, g) }, w, maxIter, 10, 1e-6)
	return &lrModel{classes: p.classes, features: p.features, w: w}
}

// minimizeLBFGS minimises f in place from x with limited-memory BFGS
// (memory m) and a backtracking Armijo line search. It stops after maxIter
// iterations or when the relative decrease of f falls below tol.
func minimizeLBFGS(f func(x, grad []float64) float64, x []float64, maxIter, m int, tol float64) float64 {
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
			alpha[k] = rhoHist[k] * dotF(sHist[k], dir)
			axpy(-alpha[k], yHist[k], dir)
		}
		if k := len(sHist) - 1; k >= 0 {
			scale(dir, dotF(sHist[k], yHist[k])/dotF(yHist[k], yHist[k]))
		} else if gn := math.Sqrt(dotF(g, g)); gn > 0 {
			scale(dir, 1/gn)
		}
		for k := range sHist {
			beta := rhoHist[k] * dotF(yHist[k], dir)
			axpy(alpha[k]-beta, sHist[k], dir)
		}
		slope := dotF(g, dir)
		if slope >= 0 { // not a descent direction: restart from steepest descent
			for i := range dir {
				dir[i] = -g[i]
			}
			slope = dotF(g, dir)
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
		if sy := dotF(s, y); sy > 1e-12 {
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

func dotF(a, b []float64) float64 {
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
