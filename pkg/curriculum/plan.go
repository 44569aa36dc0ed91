package curriculum

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/dpo"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
)

// corpus is what every stage draws from: the train pools, the held-out
// sets shared by all stages, and the preference pairs of the DPO stage.
type corpus struct {
	ccTrain   []data.Conversation
	annoTrain []data.Conversation // every quality; the debug cut comes after the quality filter
	debugAnno int                 // transcripts kept by the debug cut (0: all)
	eval      []data.Conversation // CounselChat then AnnoMI validation conversations
	evalSizes map[string]int      // conversations per source in eval
	pairs     pairSets
}

type pairSets struct {
	train, eval []data.PreferencePair
}

// loadCorpus reads the corpora at data.yaml's paths and cuts them into
// splits with its seed and ratios (the same splits package sft and package
// dpo use), applying the debug subset sizes when debug is set.
func loadCorpus(cfg *config.All, debug bool) (*corpus, error) {
	d := cfg.Data
	shipped, err := stage.ShippedCorpus(cfg)
	if err != nil {
		return nil, err
	}
	opts := stage.PrepareOptions(cfg, false)
	opts.Quality = data.QualityAll // filtered per phase below
	c := &corpus{evalSizes: map[string]int{}}
	if debug {
		// AnnoMI is cut after each phase's quality filter, as Prepare
		// would cut it after its own.
		opts.Debug = data.DebugSizes{CounselChatQuestions: d.Debug.CounselChatQuestions}
		c.debugAnno = d.Debug.AnnoMITranscripts
	}
	prepared, err := shipped.Prepare(opts)
	if err != nil {
		return nil, err
	}
	train, val := prepared.Sets[data.SplitTrain], prepared.Sets[data.SplitValidation]
	c.ccTrain, c.annoTrain = train.CounselChat, train.AnnoMI
	annoEval := data.FirstGroups(data.FilterQuality(val.AnnoMI, d.AnnoMI.QualityFilter), c.debugAnno)
	c.eval = append(append([]data.Conversation(nil), val.CounselChat...), annoEval...)
	c.evalSizes[data.SourceCounselChat], c.evalSizes[data.SourceAnnoMI] = len(val.CounselChat), len(annoEval)
	c.pairs = pairSets{train: train.Pairs, eval: val.Pairs}
	if cfg.DPO.ExtraPairs != "" {
		extra, err := dpo.ReadTRLPairs(cfg.Path(cfg.DPO.ExtraPairs))
		if err != nil {
			return nil, err
		}
		if debug && len(extra) > d.Debug.CounselChatQuestions {
			extra = extra[:d.Debug.CounselChatQuestions]
		}
		c.pairs.train = append(c.pairs.train, extra...)
	}
	return c, nil
}

// annomiTrain returns the AnnoMI train conversations of one quality ("" or
// "all": every quality), with the debug cut.
func (c *corpus) annomiTrain(quality string) []data.Conversation {
	return data.FirstGroups(data.FilterQuality(c.annoTrain, quality), c.debugAnno)
}

// sftStage is one SFT stage of a pipeline, with the conversations it trains on.
type sftStage struct {
	Index        int
	Name         string
	Dir          string // relative to the run directory
	LearningRate float64
	Epochs       int
	MaxSteps     int         // 0: Epochs over the data
	Mix          *config.Mix // nil: the stage trains on its whole pool
	Quality      string      // AnnoMI quality trained on ("" when no AnnoMI)
	Seed         uint64      // of the mix
	train        []data.Conversation
	report       *data.MixReport
}

// curriculumStages draws each phase's examples: the phase's size (or share
// of the target size) split between the corpora by its mix, with a seed of
// its own, so that phases draw different examples and a resumed run draws
// the same ones again.
func curriculumStages(cfg *config.All, c *corpus) ([]sftStage, error) {
	cur := cfg.Curriculum
	stages := make([]sftStage, len(cur.Phases))
	for i, p := range cur.Phases {
		quality := p.AnnoMIQuality
		if quality == "" {
			quality = cfg.Data.AnnoMI.QualityFilter
		}
		mix := p.Mix
		st := sftStage{
			Index: i, Name: p.Name, Dir: stageDir(i, p.Name), LearningRate: p.LearningRate, Epochs: p.Epochs,
			Mix: &mix, Seed: phaseSeed(uint64(cfg.Data.Seed), i),
		}
		if mix.AnnoMI > 0 {
			st.Quality = quality
		}
		size := cur.PhaseSize(i, cur.TargetDatasetSize)
		if size < 1 {
			return nil, fmt.Errorf("phase %d (%s): size %d: a phase needs at least one example", i, p.Name, size)
		}
		sources := []data.MixSource[data.Conversation]{
			{Name: data.SourceCounselChat, Items: c.ccTrain, Weight: float64(mix.CounselChat)},
			{Name: data.SourceAnnoMI, Items: c.annomiTrain(quality), Weight: float64(mix.AnnoMI)},
		}
		drawn, report, err := data.Mix(sources, size, st.Seed)
		if err != nil {
			return nil, fmt.Errorf("phase %d (%s): %w", i, p.Name, err)
		}
		st.train, st.report = drawn, &report
		stages[i] = st
	}
	return stages, nil
}

// Names of the two SFT stages of the sequential pipeline.
const (
	StageCounselChat = "stage1_counselchat"
	StageAnnoMI      = "stage2_annomi"
)

// sequentialStages are the two SFT stages of the original design: all of
// CounselChat's train split, then all of AnnoMI's (data.yaml's quality
// filter), each with training_config.yaml's learning rate, epochs and
// max_steps. (Curriculum phases run by epochs, as config.All.PhaseTraining
// defines them.)
func sequentialStages(cfg *config.All, c *corpus) ([]sftStage, error) {
	t := cfg.Training
	anno := c.annomiTrain(cfg.Data.AnnoMI.QualityFilter)
	stages := []sftStage{
		{Index: 0, Name: StageCounselChat, LearningRate: t.LearningRate, Epochs: t.NumTrainEpochs, MaxSteps: t.MaxSteps, train: c.ccTrain},
		{Index: 1, Name: StageAnnoMI, LearningRate: t.LearningRate, Epochs: t.NumTrainEpochs, MaxSteps: t.MaxSteps, Quality: cfg.Data.AnnoMI.QualityFilter, train: anno},
	}
	for i := range stages {
		stages[i].Dir = stageDir(i, stages[i].Name)
		if len(stages[i].train) == 0 {
			return nil, fmt.Errorf("stage %s: no training conversations", stages[i].Name)
		}
	}
	return stages, nil
}

// stageDir is the run-relative directory of stage i.
func stageDir(i int, name string) string {
	return filepath.Join(PhasesDirName, fmt.Sprintf("%02d-%s", i+1, name))
}

// phaseSeed derives the mixing seed of phase i from data.yaml's seed: a
// different, fixed stream per phase.
func phaseSeed(base uint64, i int) uint64 {
	return base ^ (uint64(i+1) * 0x9e3779b97f4a7c15)
}

// dpoPairs returns the DPO training and evaluation pairs: all of them, or
// only the first training pairs that maxSteps optimizer steps consume over
// dpo.num_train_epochs (ceil(maxSteps/epochs) batches per epoch), and the
// first maxEval evaluation pairs.
func dpoPairs(cfg *config.All, c *corpus, maxSteps, maxEval int) (trainPairs, evalPairs []data.PreferencePair) {
	trainPairs, evalPairs = c.pairs.train, c.pairs.eval
	if maxSteps > 0 {
		epochs := max(1, cfg.DPO.NumTrainEpochs)
		perEpoch := (maxSteps + epochs - 1) / epochs
		if n := perEpoch * cfg.DPO.PerDeviceTrainBatchSize * cfg.DPO.GradientAccumulationSteps; n < len(trainPairs) {
			trainPairs = trainPairs[:n]
		}
	}
	if maxEval > 0 && len(evalPairs) > maxEval {
		evalPairs = evalPairs[:maxEval]
	}
	return trainPairs, evalPairs
}

// DataSummary is data_summary.json: what every stage trains and evaluates on.
type DataSummary struct {
	Pipeline          string `json:"pipeline"`
	Debug             bool   `json:"debug"`
	Seed              int64  `json:"seed"`
	TargetDatasetSize int    `json:"target_dataset_size,omitempty"`
	// TrainPools counts the train conversations available per source
	// ("annomi/high": AnnoMI windows of that quality).
	TrainPools map[string]int `json:"train_pools"`
	// EvalSets counts the held-out conversations every stage evaluates on.
	EvalSets          map[string]int `json:"eval_sets"`
	EvalAnnoMIQuality string         `json:"eval_annomi_quality"`
	MaxEvalExamples   int            `json:"max_eval_examples,omitempty"`
	Stages            []StageData    `json:"stages"`
	DPOPairs          *PairCounts    `json:"dpo_pairs,omitempty"`
}

// StageData is the data of one SFT stage.
type StageData struct {
	Name          string         `json:"name"`
	Dir           string         `json:"dir"`
	Examples      int            `json:"examples"`
	BySource      map[string]int `json:"by_source"`
	AnnoMIQuality string         `json:"annomi_quality,omitempty"`
	Seed          uint64         `json:"seed,omitempty"`
	// Mix reports, per corpus, the share drawn, the examples available and
	// how often the small corpus was repeated (epochs, max repeats).
	Mix *data.MixReport `json:"mix,omitempty"`
}

// PairCounts are the preference pairs of the DPO stage.
type PairCounts struct {
	Train int `json:"train"`
	Eval  int `json:"eval"`
}

func newDataSummary(pipeline string, cfg *config.All, set *runSettings, c *corpus, stages []sftStage, withDPO bool) DataSummary {
	ds := DataSummary{
		Pipeline: pipeline, Debug: set.Debug, Seed: cfg.Data.Seed,
		TrainPools:        map[string]int{data.SourceCounselChat: len(c.ccTrain)},
		EvalSets:          c.evalSizes,
		EvalAnnoMIQuality: cfg.Data.AnnoMI.QualityFilter, MaxEvalExamples: set.MaxEvalExamples,
	}
	if pipeline == PipelineCurriculum {
		ds.TargetDatasetSize = cfg.Curriculum.TargetDatasetSize
	}
	for _, st := range stages {
		sd := StageData{Name: st.Name, Dir: st.Dir, Examples: len(st.train), BySource: map[string]int{}, AnnoMIQuality: st.Quality, Mix: st.report}
		if st.report != nil {
			sd.Seed = st.Seed
		}
		for _, cv := range st.train {
			sd.BySource[cv.Source]++
		}
		if st.Quality != "" {
			ds.TrainPools[data.SourceAnnoMI+"/"+st.Quality] = len(c.annomiTrain(st.Quality))
		}
		ds.Stages = append(ds.Stages, sd)
	}
	if withDPO {
		tp, ep := dpoPairs(cfg, c, set.DPOMaxSteps, set.MaxEvalExamples)
		ds.DPOPairs = &PairCounts{Train: len(tp), Eval: len(ep)}
	}
	return ds
}

// String prints the data of each stage, one line per stage.
func (ds DataSummary) String() string {
	var b strings.Builder
	for _, st := range ds.Stages {
		fmt.Fprintf(&b, "%-28s %5d examples", st.Name, st.Examples)
		if st.Mix != nil {
			for _, s := range st.Mix.Sources {
				fmt.Fprintf(&b, "  %s %d/%d (%.2f epochs)", s.Name, s.Drawn, s.Available, s.Epochs)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}
