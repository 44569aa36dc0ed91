package curriculum

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/dpo"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/export"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/sft"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// Summary is summary.json: the story of a run. Paths are relative to the
// run directory.
type Summary struct {
	Pipeline       string         `json:"pipeline"`
	RunDir         string         `json:"run_dir"`
	Model          string         `json:"model"`
	DType          string         `json:"dtype"`
	Debug          bool           `json:"debug"`
	OptimizerState string         `json:"optimizer_state"`
	Phases         []PhaseSummary `json:"phases"`
	DPO            *DPOSummary    `json:"dpo,omitempty"`
	// Adapter is the final adapter (DPO's, else the last phase's).
	Adapter string              `json:"adapter,omitempty"`
	Merge   *export.MergeResult `json:"merge,omitempty"`
	// Complete is set once every stage is done.
	Complete bool `json:"complete"`
	// Invocations counts the calls that worked on the run (1 + resumes).
	Invocations int `json:"invocations"`
	// WallSeconds is the time of the latest invocation, TotalWallSeconds
	// that of all of them, TrainSeconds the stages' training time.
	WallSeconds      float64 `json:"wall_s"`
	TotalWallSeconds float64 `json:"total_wall_s"`
	TrainSeconds     float64 `json:"train_s"`
}

// PhaseSummary describes one SFT stage. Losses that do not exist are null.
type PhaseSummary struct {
	Index         int     `json:"index"`
	Name          string  `json:"name"`
	Dir           string  `json:"dir"`
	Mix           *Mix    `json:"mix,omitempty"` // nil: the stage trains on its whole pool
	LearningRate  float64 `json:"learning_rate"`
	Epochs        int     `json:"epochs"`
	AnnoMIQuality string  `json:"annomi_quality,omitempty"`
	Examples      int     `json:"examples"` // conversations drawn for the stage
	InitAdapter   string  `json:"init_adapter,omitempty"`
	Adapter       string  `json:"adapter"`
	// InitOptimizer is the checkpoint (relative to the run directory) whose
	// AdamW state started the stage: the previous stage's final one with
	// curriculum.optimizer_state carry, none with reset.
	InitOptimizer string `json:"init_optimizer,omitempty"`

	Steps           int   `json:"steps"`
	TotalSteps      int   `json:"total_steps"`
	TrainedExamples int64 `json:"trained_examples"` // examples trained, repeats over epochs included
	Tokens          int64 `json:"tokens"`

	// TrainLossStart and TrainLossEnd are the train loss per target token
	// over the first and the last quarter of the logged steps (at least one
	// step each; step losses weighted by their target tokens); LossFell
	// reports TrainLossEnd < TrainLossStart.
	TrainLossStart *float64 `json:"train_loss_start"`
	TrainLossEnd   *float64 `json:"train_loss_end"`
	LossFell       bool     `json:"loss_fell"`
	FinalTrainLoss *float64 `json:"final_train_loss"` // the last step's
	// EvalLoss is the final loss on each held-out set (counselchat, annomi).
	EvalLoss map[string]float64 `json:"eval_loss"`

	// WallSeconds is the latest invocation of the stage (loading included),
	// TrainSeconds the trainer's time over all invocations.
	WallSeconds  float64 `json:"wall_s"`
	TrainSeconds float64 `json:"train_s"`
	ResumedFrom  string  `json:"resumed_from,omitempty"`
	// Reused is set when an earlier invocation completed the stage.
	Reused bool `json:"reused,omitempty"`
}

// Mix is a phase's percentage of each corpus.
type Mix struct {
	CounselChat int `json:"counselchat"`
	AnnoMI      int `json:"annomi"`
}

// DPOSummary describes the DPO stage.
type DPOSummary struct {
	Dir            string                       `json:"dir"`
	SFTAdapter     string                       `json:"sft_adapter"`
	Adapter        string                       `json:"adapter"`
	TrainPairs     int                          `json:"train_pairs"`
	EvalPairs      int                          `json:"eval_pairs"`
	Steps          int                          `json:"steps"`
	Tokens         int64                        `json:"tokens"`
	TrainLossStart *float64                     `json:"train_loss_start"`
	TrainLossEnd   *float64                     `json:"train_loss_end"`
	LossFell       bool                         `json:"loss_fell"`
	FinalTrainLoss *float64                     `json:"final_train_loss"`
	Eval           map[string]train.EvalMetrics `json:"eval,omitempty"`
	TrainSeconds   float64                      `json:"train_s"`
	ResumedFrom    string                       `json:"resumed_from,omitempty"`
	Reused         bool                         `json:"reused,omitempty"`
}

// phaseSummary reads a completed SFT stage back from its run directory.
func phaseSummary(runDir string, st sftStage, initAdapter string) (*PhaseSummary, error) {
	dir := filepath.Join(runDir, st.Dir)
	var s sft.Summary
	if err := atomicfile.ReadJSON(filepath.Join(dir, sft.SummaryFileName), &s); err != nil {
		return nil, fmt.Errorf("phase %s: %w", st.Name, err)
	}
	ps := &PhaseSummary{
		Index: st.Index, Name: st.Name, Dir: st.Dir, LearningRate: st.LearningRate, Epochs: st.Epochs,
		AnnoMIQuality: st.Quality, Examples: len(st.train), InitAdapter: initAdapter,
		Adapter: filepath.Join(st.Dir, stage.AdapterDirName),
		Steps:   s.Steps, TotalSteps: s.TotalSteps, TrainedExamples: s.Examples, Tokens: s.Tokens,
		FinalTrainLoss: s.FinalTrainLoss, EvalLoss: s.FinalEvalLoss,
		WallSeconds: s.WallSeconds, TrainSeconds: s.TrainSeconds, ResumedFrom: s.ResumedFrom,
	}
	if st.Mix != nil {
		ps.Mix = &Mix{CounselChat: st.Mix.CounselChat, AnnoMI: st.Mix.AnnoMI}
	}
	if ps.InitOptimizer = s.InitOptimizer; ps.InitOptimizer != "" {
		base, err1 := filepath.Abs(runDir)
		target, err2 := filepath.Abs(ps.InitOptimizer)
		if rel, err := filepath.Rel(base, target); err1 == nil && err2 == nil && err == nil && filepath.IsLocal(rel) {
			ps.InitOptimizer = rel
		}
	}
	losses, err := trainLosses(filepath.Join(dir, MetricsFileName))
	if err != nil {
		return nil, fmt.Errorf("phase %s: %w", st.Name, err)
	}
	ps.TrainLossStart, ps.TrainLossEnd, ps.LossFell = lossTrend(losses)
	return ps, nil
}

// dpoSummary reads a completed DPO stage back from its run directory.
func dpoSummary(runDir, sftAdapter string) (*DPOSummary, error) {
	dir := filepath.Join(runDir, DPODirName)
	f, err := dpo.ReadSummary(dir)
	if err != nil {
		return nil, fmt.Errorf("DPO: %w", err)
	}
	ds := &DPOSummary{
		Dir: DPODirName, SFTAdapter: sftAdapter, Adapter: filepath.Join(DPODirName, stage.AdapterDirName),
		TrainPairs: f.TrainPairs.Pairs, EvalPairs: f.EvalPairs.Pairs,
		Steps: f.Train.Steps, Tokens: f.Train.Tokens, FinalTrainLoss: f.Train.FinalLoss, Eval: f.Train.Evals,
		TrainSeconds: f.Train.ElapsedSeconds, ResumedFrom: f.Train.ResumedFrom,
	}
	losses, err := trainLosses(filepath.Join(dir, MetricsFileName))
	if err != nil {
		return nil, fmt.Errorf("DPO: %w", err)
	}
	ds.TrainLossStart, ds.TrainLossEnd, ds.LossFell = lossTrend(losses)
	return ds, nil
}

// stepLoss is a logged step's mean loss and the units (target tokens,
// pairs) it is the mean over.
type stepLoss struct {
	loss, weight float64
}

// trainLosses reads the losses of the applied (not skipped) steps of a
// metrics log, in step order.
func trainLosses(path string) ([]stepLoss, error) {
	recs, err := train.ReadMetrics(path)
	if err != nil {
		return nil, err
	}
	var losses []stepLoss
	for _, r := range recs {
		if r.Applied() {
			losses = append(losses, stepLoss{*r.Loss, r.StepWeight})
		}
	}
	return losses, nil
}

// lossTrend compares the loss per unit of the first and the last quarter
// of the steps (at least one step each). With a single step there is no
// trend.
func lossTrend(losses []stepLoss) (start, end *float64, fell bool) {
	if len(losses) == 0 {
		return nil, nil, false
	}
	k := max(1, len(losses)/4)
	a, b := weightedMean(losses[:k]), weightedMean(losses[len(losses)-k:])
	return &a, &b, len(losses) > 1 && b < a
}

// weightedMean is the mean of the step losses weighted by their units, or
// the plain mean when no step has a weight.
func weightedMean(steps []stepLoss) float64 {
	var sum, weights, plain float64
	for _, s := range steps {
		sum += s.loss * s.weight
		weights += s.weight
		plain += s.loss
	}
	if weights > 0 {
		return sum / weights
	}
	return plain / float64(len(steps))
}

// Table writes one line per stage: steps, train loss start → end, and the
// final eval loss on each held-out set; then DPO and the merge.
func (s *Summary) Table(w io.Writer) {
	num := func(p *float64) string {
		if p == nil || math.IsNaN(*p) {
			return "   -   "
		}
		return fmt.Sprintf("%7.4f", *p)
	}
	var sets []string
	for _, p := range s.Phases {
		for name := range p.EvalLoss {
			if !slices.Contains(sets, name) {
				sets = append(sets, name)
			}
		}
	}
	slices.Sort(sets)
	fmt.Fprintf(w, "%-26s %-7s %6s  %-23s", "phase", "mix", "steps", "train loss start → end")
	for _, set := range sets {
		fmt.Fprintf(w, "  eval %-11s", set)
	}
	fmt.Fprintln(w)
	for _, p := range s.Phases {
		mix := "-"
		if p.Mix != nil {
			mix = fmt.Sprintf("%d:%d", p.Mix.CounselChat, p.Mix.AnnoMI)
		}
		trend := "flat/up"
		if p.LossFell {
			trend = "fell"
		}
		fmt.Fprintf(w, "%-26s %-7s %6d  %s → %s %-7s", p.Name, mix, p.Steps, num(p.TrainLossStart), num(p.TrainLossEnd), trend)
		for _, set := range sets {
			if v, ok := p.EvalLoss[set]; ok {
				fmt.Fprintf(w, "  %16.4f", v)
			} else {
				fmt.Fprintf(w, "  %16s", "-")
			}
		}
		fmt.Fprintln(w)
	}
	if d := s.DPO; d != nil {
		trend := "flat/up"
		if d.LossFell {
			trend = "fell"
		}
		fmt.Fprintf(w, "%-26s %-7s %6d  %s → %s %-7s", "dpo", "pairs", d.Steps, num(d.TrainLossStart), num(d.TrainLossEnd), trend)
		if e, ok := d.Eval[dpo.EvalSetName]; ok {
			fmt.Fprintf(w, "  eval loss %.4f, accuracy %.3f", e.Loss, e.Metrics[dpo.MetricAccuracy])
		}
		fmt.Fprintln(w)
	}
	if s.Adapter != "" {
		fmt.Fprintf(w, "final adapter: %s\n", filepath.Join(s.RunDir, s.Adapter))
	}
	if m := s.Merge; m != nil {
		fmt.Fprintf(w, "merged model: %s (%d tensors, %d merged, %s", filepath.Join(s.RunDir, m.Dir), m.Tensors, m.MergedTensors, m.DType)
		if m.MaxLogitDiff != nil {
			fmt.Fprintf(w, ", reload max |Δlogit| %.2g", *m.MaxLogitDiff)
		}
		fmt.Fprintln(w, ")")
	}
	fmt.Fprintf(w, "wall time %.1fs (all invocations %.1fs)\n", s.WallSeconds, s.TotalWallSeconds)
}
