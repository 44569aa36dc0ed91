package train

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Scopes of the trainer's own (non-trainable) variables.
const (
	// OptimizerScope holds the AdamW moments: for a trainable variable
	// /a/b/w they are /train/adamw/a/b/w_m and …/w_v (float32).
	OptimizerScope = "/train/adamw"
	// accumScope holds the float32 gradient sums of the current step.
	accumScope = "/train/accum"
	// statsScope holds the step's sums of loss, weight and metrics.
	statsScope = "/train/stats"
)

// shadowPath maps a variable's path into a trainer scope: /a/b/w under
// /train/accum is /train/accum/a/b/w.
func shadowPath(base, path string) string { return base + path }

// stateVariable returns (creating it with zeros) a float32 trainer variable.
func (t *Trainer) stateVariable(path string, dims []int) *model.Variable {
	if v := t.store.GetVariable(path); v != nil { // may come from a checkpoint loader
		return v.SetTrainable(false)
	}
	return t.store.VariableWithValue(path, tensors.FromShape(shapes.Make(dtypes.Float32, dims...))).SetTrainable(false)
}

func (t *Trainer) accumulator(v *model.Variable) *model.Variable {
	return t.stateVariable(shadowPath(accumScope, v.Path()), v.Shape().Dimensions)
}

// moments returns the AdamW moments of v if they exist.
func (t *Trainer) moments(v *model.Variable) (m, second *model.Variable) {
	keyM, keyV := momentKeys(v)
	return t.store.GetVariable(keyM), t.store.GetVariable(keyV)
}

func (t *Trainer) createMoments(v *model.Variable) (m, second *model.Variable) {
	keyM, keyV := momentKeys(v)
	dims := v.Shape().Dimensions
	return t.stateVariable(keyM, dims), t.stateVariable(keyV, dims)
}

func (t *Trainer) statVariable(name string) *model.Variable {
	return t.stateVariable(statsScope+"/"+name, nil)
}

// checkedLoss validates an objective's result and returns its parts in
// float32, with the metrics in the (fixed, sorted) order of t.metricNames.
func (t *Trainer) checkedLoss(loss Loss) (sum, weight *Node, metrics []*Node) {
	for _, part := range []struct {
		name string
		node *Node
	}{{"Sum", loss.Sum}, {"Weight", loss.Weight}} {
		if part.node == nil || !part.node.IsScalar() || !part.node.DType().IsFloat() {
			panic(fmt.Errorf("train: the objective's Loss.%s must be a float scalar", part.name))
		}
	}
	names := make([]string, 0, len(loss.Metrics))
	for name, node := range loss.Metrics {
		if node == nil || !node.IsScalar() || !node.DType().IsFloat() {
			panic(fmt.Errorf("train: the objective's metric %q must be a float scalar", name))
		}
		names = append(names, name)
	}
	slices.Sort(names)
	if t.metricNames == nil {
		t.metricNames = names
	} else if !slices.Equal(t.metricNames, names) {
		panic(fmt.Errorf("train: the objective returned metrics %v, earlier graphs returned %v", names, t.metricNames))
	}
	for _, name := range names {
		metrics = append(metrics, ConvertDType(loss.Metrics[name], dtypes.Float32))
	}
	return ConvertDType(loss.Sum, dtypes.Float32), ConvertDType(loss.Weight, dtypes.Float32), metrics
}

// usedTrainable lists the trainable variables the graph uses; the first
// training graph fixes the list, and later ones must use the same variables.
func (t *Trainer) usedTrainable(g *Graph) []*model.Variable {
	var used []*model.Variable
	for v := range t.store.IterVariables() {
		if v.Trainable && v.InUseByGraph(g) {
			if !v.DType().IsFloat() {
				panic(fmt.Errorf("train: trainable variable %s has dtype %s; mark it non-trainable", v.Path(), v.DType()))
			}
			used = append(used, v)
		}
	}
	if len(used) == 0 {
		panic(fmt.Errorf("train: the objective uses no trainable variable: nothing to optimize"))
	}
	if t.trainable == nil {
		t.trainable = used
		return used
	}
	if !slices.Equal(used, t.trainable) {
		panic(fmt.Errorf("train: this batch shape's graph trains %s, the first graph trained %s",
			variableNames(used), variableNames(t.trainable)))
	}
	return used
}

func variableNames(vars []*model.Variable) string {
	names := make([]string, len(vars))
	for i, v := range vars {
		names[i] = v.Path()
	}
	return "[" + strings.Join(names, " ") + "]"
}

// microStepGraph computes one micro-batch's loss and adds its gradient (of
// the loss sum, not mean) and its sums to the step's accumulators.
func (t *Trainer) microStepGraph(scope *model.Scope, inputs []*Node) []*Node {
	t.compilations.Add(1)
	g := inputs[0].Graph()
	scope.Store().SetTraining(g, true)
	sum, weight, metrics := t.checkedLoss(t.objective(scope, inputs))
	vars := t.usedTrainable(g)
	values := make([]*Node, len(vars))
	for i, v := range vars {
		values[i] = v.NodeValue(g)
	}
	grads := Gradient(sum, values...)
	for i, v := range vars {
		acc := t.accumulator(v)
		acc.SetNodeValue(Add(acc.NodeValue(g), ConvertDType(grads[i], dtypes.Float32)))
	}
	accumulate := func(name string, x *Node) {
		s := t.statVariable(name)
		s.SetNodeValue(Add(s.NodeValue(g), x))
	}
	accumulate("loss", sum)
	accumulate("weight", weight)
	for i, name := range t.metricNames {
		accumulate("metric_"+model.EscapeScopeName(name), metrics[i])
	}
	return []*Node{sum}
}

// applyGraph turns the accumulated sums into the mean gradient, clips it by
// global norm and applies AdamW — unless the loss or the norm is not finite
// (or no unit was trained), in which case every variable keeps its value.
// Inputs: learning rate, 1/(1-β1^t), 1/(1-β2^t). Outputs: mean loss,
// weight, gradient norm, 1 if applied else 0, mean metrics.
func (t *Trainer) applyGraph(scope *model.Scope, inputs []*Node) []*Node {
	t.compilations.Add(1)
	g := inputs[0].Graph()
	if len(t.trainable) == 0 {
		panic(fmt.Errorf("train: the optimizer step was built before any training graph"))
	}
	h := adamWHyper{lr: inputs[0], biasCor1: inputs[1], biasCor2: inputs[2],
		beta1: t.cfg.Beta1, beta2: t.cfg.Beta2, epsilon: t.cfg.Epsilon}

	lossVar, weightVar := t.statVariable("loss"), t.statVariable("weight")
	weight := weightVar.NodeValue(g)
	meanLoss := Div(lossVar.NodeValue(g), weight)
	accs := make([]*model.Variable, len(t.trainable))
	grads := make([]*Node, len(t.trainable))
	for i, v := range t.trainable {
		accs[i] = t.accumulator(v)
		grads[i] = Div(accs[i].NodeValue(g), weight)
	}
	clipped, norm := ClipByGlobalNorm(grads, t.cfg.MaxGradNorm)
	ok := LogicalAnd(LogicalAnd(IsFinite(norm), IsFinite(meanLoss)), GreaterThan(weight, ScalarZero(g, dtypes.Float32)))

	for i, v := range t.trainable {
		m, second := t.createMoments(v)
		decay := t.cfg.WeightDecay
		if t.cfg.NoDecay(v.Path()) {
			decay = 0
		}
		oldP, oldM, oldV := v.NodeValue(g), m.NodeValue(g), second.NodeValue(g)
		newP, newM, newV := adamWUpdate(oldP, clipped[i], oldM, oldV, decay, h)
		v.SetNodeValue(choose(ok, newP, oldP))
		m.SetNodeValue(choose(ok, newM, oldM))
		second.SetNodeValue(choose(ok, newV, oldV))
		accs[i].SetNodeValue(ZerosLike(accs[i].NodeValue(g)))
	}

	outputs := []*Node{meanLoss, weight, norm, ConvertDType(ok, dtypes.Float32)}
	for _, name := range t.metricNames {
		s := t.statVariable("metric_" + model.EscapeScopeName(name))
		outputs = append(outputs, Div(s.NodeValue(g), weight))
		s.SetNodeValue(ScalarZero(g, dtypes.Float32))
	}
	lossVar.SetNodeValue(ScalarZero(g, dtypes.Float32))
	weightVar.SetNodeValue(ScalarZero(g, dtypes.Float32))
	return outputs
}

// evalGraph computes a batch's loss sums without touching any variable.
func (t *Trainer) evalGraph(scope *model.Scope, inputs []*Node) []*Node {
	t.compilations.Add(1)
	g := inputs[0].Graph()
	scope.Store().SetTraining(g, false)
	sum, weight, metrics := t.checkedLoss(t.objective(scope, inputs))
	return append([]*Node{sum, weight}, metrics...)
}

// choose is Where with a scalar condition broadcast to the operands.
func choose(cond, onTrue, onFalse *Node) *Node {
	if onTrue.Rank() > 0 {
		cond = BroadcastToDims(cond, onTrue.Shape().Dimensions...)
	}
	return Where(cond, onTrue, onFalse)
}
