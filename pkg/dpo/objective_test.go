package dpo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// bigramTable is a fixed model: the logits after token c are table[c].
type bigramTable [toyVocab][toyVocab]float64

func newBigramTable(seed uint64) *bigramTable {
	rng := rand.New(rand.NewPCG(seed, 5))
	var tb bigramTable
	for i := range tb {
		for j := range tb[i] {
			tb[i][j] = rng.NormFloat64() * 2
		}
	}
	return &tb
}

// logits is the table as a train.LogitsFn.
func (tb *bigramTable) logits(_ *model.Scope, ids, _ *Node) *Node {
	flat := make([]float32, 0, toyVocab*toyVocab)
	for i := range tb {
		for _, v := range tb[i] {
			flat = append(flat, float32(v))
		}
	}
	table := Const(ids.Graph(), tensors.FromFlatDataAndDimensions(flat, toyVocab, toyVocab))
	return Gather(table, InsertAxes(ids, -1))
}

// logProb is log p(next | cur) under the table, in float64.
func (tb *bigramTable) logProb(cur, next int32) float64 {
	row := tb[cur][:]
	m := row[0]
	for _, v := range row {
		m = math.Max(m, v)
	}
	s := 0.0
	for _, v := range row {
		s += math.Exp(v - m)
	}
	return row[next] - m - math.Log(s)
}

// sequence returns the summed log-probability of the masked tokens of ex and their count.
func (tb *bigramTable) sequence(ex train.Example) (sum float64, n int) {
	for t := 1; t < len(ex.IDs); t++ {
		if ex.LossMask[t] {
			sum += tb.logProb(ex.IDs[t-1], ex.IDs[t])
			n++
		}
	}
	return sum, n
}

// The objective of a batch — policy log-probabilities from a known bigram
// model, reference log-probabilities given — equals the loss formula summed
// over the real pairs (the last batch has a padding pair), with the metric
// sums TRL reports.
func TestObjectiveMatchesFormula(t *testing.T) {
	tb := newBigramTable(1)
	pairs := toyPairs(5, 2, 7)
	src := mustPairSource(t, pairs, train.LMSourceConfig{BatchSize: 3, MaxLen: 16, Buckets: []int{8, 16}})
	rng := rand.New(rand.NewPCG(3, 3))
	refChosen, refRejected := make([]float32, 5), make([]float32, 5)
	for i := range refChosen {
		refChosen[i] = float32(-20 + 10*rng.Float64())
		refRejected[i] = float32(-20 + 10*rng.Float64())
	}
	if err := src.SetReference(refChosen, refRejected); err != nil {
		t.Fatal(err)
	}
	for _, p := range []Params{
		{Beta: 0.1},
		{Beta: 0.3, LabelSmoothing: 0.2, RPOAlpha: 0.5},
		{Beta: 0.1, LossType: LossIPO},
		{Beta: 0.2, LossType: LossHinge, RPOAlpha: 1},
	} {
		obj := mustObjective(t, Model{Policy: tb.logits}, p)
		var gotSum, wantSum, gotWeight float64
		got, want := map[string]float64{}, map[string]float64{}
		for index := range src.NumBatches() {
			batch, err := src.Batch(0, index)
			if err != nil {
				t.Fatal(err)
			}
			sum, weight, metrics := evalBatch(t, model.NewStore(), obj, batch)
			gotSum += sum
			gotWeight += weight
			for k, v := range metrics {
				got[k] += v
			}
		}
		for i, pair := range pairs {
			c, nc := tb.sequence(pair.Chosen)
			r, nr := tb.sequence(pair.Rejected)
			rc, rr := float64(refChosen[i]), float64(refRejected[i])
			if p.AveragesLogProbs() {
				c, r, rc, rr = c/float64(nc), r/float64(nr), rc/float64(nc), rr/float64(nr)
			}
			wantSum += formulaLoss(p, c, r, rc, rr)
			if p.RPOAlpha > 0 {
				sumC, _ := tb.sequence(pair.Chosen)
				wantSum += p.RPOAlpha * (-sumC / float64(nc))
				want[MetricNLL] += -sumC / float64(nc)
			}
			rewardC, rewardR := p.Beta*(c-rc), p.Beta*(r-rr)
			want[MetricRewardsChosen] += rewardC
			want[MetricRewardsRejected] += rewardR
			want[MetricMargin] += rewardC - rewardR
			if rewardC > rewardR {
				want[MetricAccuracy]++
			}
			want[MetricLogPChosen] += c
			want[MetricLogPRejected] += r
		}
		close := func(a, b float64) bool { return math.Abs(a-b) <= 1e-4*math.Max(1, math.Abs(b)) }
		if gotWeight != 5 {
			t.Errorf("%+v: weight %v, want 5 pairs", p, gotWeight)
		}
		if !close(gotSum, wantSum) {
			t.Errorf("%+v: loss sum %.6f, formula %.6f", p, gotSum, wantSum)
		}
		if len(got) != len(want) {
			t.Errorf("%+v: metrics %v, want the names of %v", p, got, want)
		}
		for k, w := range want {
			if !close(got[k], w) {
				t.Errorf("%+v: metric %s = %.6f, want %.6f", p, k, got[k], w)
			}
		}
	}
}

// With the policy equal to the reference (the adapter's B is still zero),
// every pair's sigmoid loss is log 2, and the rewards, the margin and the
// accuracy are 0.
func TestObjectiveAtReference(t *testing.T) {
	src := mustPairSource(t, toyPairs(6, 4, 9), train.LMSourceConfig{BatchSize: 4, MaxLen: 16, Buckets: []int{16}})
	obj := mustObjective(t, Model{Policy: toyPolicy, Reference: toyReference}, Params{Beta: 0.1})
	scope := newToyModel(4)
	for index := range src.NumBatches() {
		batch, _ := src.Batch(0, index)
		sum, weight, metrics := evalBatch(t, scope, obj, batch)
		if math.Abs(sum/weight-math.Ln2) > 1e-6 {
			t.Errorf("batch %d: mean loss %.7f, want log 2 = %.7f", index, sum/weight, math.Ln2)
		}
		for _, name := range []string{MetricRewardsChosen, MetricRewardsRejected, MetricMargin, MetricAccuracy} {
			if math.Abs(metrics[name]) > 1e-6 {
				t.Errorf("batch %d: %s = %v, want 0", index, name, metrics[name])
			}
		}
	}
}

// Reference log-probabilities precomputed once give the same loss and
// metrics as the reference computed in the training graph.
func TestPrecomputedReferenceEqualsInGraph(t *testing.T) {
	scope := newToyModel(5)
	setToyB(t, scope, 5) // the policy differs from the reference
	pairs := toyPairs(7, 6, 12)
	cfg := train.LMSourceConfig{BatchSize: 2, MaxLen: 16, Buckets: []int{8, 16}, Shuffle: true, Seed: 1}
	inGraph := mustPairSource(t, pairs, cfg)
	pre := mustPairSource(t, pairs, cfg)
	calls := 0
	chosen, rejected, err := ComputeReference(testutil.Backend(t), scope, toyReference, pre, func(done, total int) {
		calls++
		if total != 7 || done > total {
			t.Errorf("progress %d/%d", done, total)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 4 {
		t.Errorf("progress called %d times, want 4 (batches)", calls)
	}
	if err := pre.SetReference(chosen, rejected); err != nil {
		t.Fatal(err)
	}
	p := Params{Beta: 0.2, RPOAlpha: 0.3}
	model := Model{Policy: toyPolicy, Reference: toyReference}
	obj := mustObjective(t, model, p)
	objNoRef := mustObjective(t, Model{Policy: toyPolicy}, p)
	for index := range inGraph.NumBatches() {
		a, _ := inGraph.Batch(1, index)
		b, _ := pre.Batch(1, index)
		if len(a.Inputs) != numInputs-1 || len(b.Inputs) != numInputs {
			t.Fatalf("inputs %d and %d, want %d and %d", len(a.Inputs), len(b.Inputs), numInputs-1, numInputs)
		}
		sumA, weightA, metricsA := evalBatch(t, scope, obj, a)
		sumB, weightB, metricsB := evalBatch(t, scope, objNoRef, b)
		if math.Abs(sumA-sumB) > 1e-5 || weightA != weightB {
			t.Errorf("batch %d: in-graph loss %.7f (weight %v), precomputed %.7f (weight %v)", index, sumA, weightA, sumB, weightB)
		}
		if sumA == 0 || metricsA[MetricMargin] == 0 {
			t.Errorf("batch %d: loss %v and margin %v: the policy should differ from the reference", index, sumA, metricsA[MetricMargin])
		}
		for k, v := range metricsA {
			if math.Abs(v-metricsB[k]) > 1e-5 {
				t.Errorf("batch %d: %s in-graph %.7f, precomputed %.7f", index, k, v, metricsB[k])
			}
		}
	}
}

func TestObjectiveErrors(t *testing.T) {
	if _, err := Objective(Model{}, Params{Beta: 0.1}); err == nil {
		t.Error("no policy: want an error")
	}
	if _, err := Objective(Model{Policy: toyPolicy}, Params{}); err == nil {
		t.Error("beta 0: want an error")
	}
	// A batch without reference log-probabilities needs a reference model.
	obj := mustObjective(t, Model{Policy: toyPolicy}, Params{Beta: 0.1})
	src := mustPairSource(t, toyPairs(2, 1, 5), train.LMSourceConfig{BatchSize: 2, MaxLen: 8})
	batch, _ := src.Batch(0, 0)
	exec, err := model.NewExec(testutil.Backend(t), newToyModel(1), func(scope *model.Scope, inputs []*Node) *Node {
		return obj(scope, inputs).Sum
	})
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	err = func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%v", r)
			}
		}()
		args := make([]any, len(batch.Inputs))
		for i, x := range batch.Inputs {
			args[i] = x
		}
		_, err = exec.Exec(args...)
		return err
	}()
	if err == nil || !strings.Contains(err.Error(), "no reference") {
		t.Errorf("no reference and no reference log-probabilities: error %v", err)
	}
}
