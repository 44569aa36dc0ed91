package logreg

import (
	"math"
	"reflect"
	"testing"
)

func TestMinimizeQuadratic(t *testing.T) {
	// f(x) = Σ i·(x_i - i)², minimum at x_i = i.
	x := make([]float64, 5)
	Minimize(func(x, g []float64) float64 {
		f := 0.0
		for i := range x {
			d := x[i] - float64(i)
			f += float64(i+1) * d * d
			g[i] = 2 * float64(i+1) * d
		}
		return f
	}, x, 100, 5, 1e-15)
	for i, v := range x {
		if math.Abs(v-float64(i)) > 1e-5 {
			t.Errorf("x[%d] = %g, want %d", i, v, i)
		}
	}
}

func TestTrainMultinomial(t *testing.T) {
	// Feature 0 marks class 0, feature 1 class 1, feature 2 class 2;
	// feature 3 is noise present everywhere.
	p := &Multinomial{Classes: 3, Features: 4}
	for i := 0; i < 30; i++ {
		c := i % 3
		p.X = append(p.X, Vector{Idx: []int32{int32(c), 3}, Val: []float32{1, 1}})
		p.Y = append(p.Y, c)
		p.Weight = append(p.Weight, 1)
	}
	w := p.Train(0.1, 200)
	out := make([]float64, 3)
	for c := 0; c < 3; c++ {
		Scores(w, 3, 4, Vector{Idx: []int32{int32(c)}, Val: []float32{1}}, out)
		Softmax(out)
		if best := Argmax(out); best != c || out[c] < 0.8 {
			t.Errorf("class %d: probabilities %v", c, out)
		}
	}
	if again := p.Train(0.1, 200); !reflect.DeepEqual(w, again) {
		t.Error("training is not deterministic")
	}
}

func TestTrainBinary(t *testing.T) {
	// Feature 0 marks the positives, feature 1 is present everywhere.
	p := &Binary{Features: 2}
	for i := 0; i < 20; i++ {
		pos := i%4 == 0
		x := Vector{Idx: []int32{1}, Val: []float32{1}}
		if pos {
			x = Vector{Idx: []int32{0, 1}, Val: []float32{1, 1}}
		}
		p.X, p.Y, p.Weight = append(p.X, x), append(p.Y, pos), append(p.Weight, 1)
	}
	w := p.Train(0.01, 200)
	if z := w[0] + w[1] + w[2]; Sigmoid(z) < 0.8 {
		t.Errorf("positive: p = %v", Sigmoid(z))
	}
	if z := w[1] + w[2]; Sigmoid(z) > 0.2 {
		t.Errorf("negative: p = %v", Sigmoid(z))
	}
	if again := p.Train(0.01, 200); !reflect.DeepEqual(w, again) {
		t.Error("training is not deterministic")
	}
	for _, z := range []float64{-800, -30, 0, 30, 800} {
		if s, sp := Sigmoid(z), Softplus(z); math.IsNaN(s) || math.IsInf(sp, 0) || s < 0 || s > 1 {
			t.Errorf("z %v: sigmoid %v softplus %v", z, s, sp)
		}
	}
}
