package curriculum

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
)

var (
	debugCorpusOnce sync.Once
	debugCorpus     *corpus
	debugCorpusErr  error
)

// debugSetup returns the shipped configuration with the debug sizes applied
// and the debug corpus (loaded once; callers must not modify it).
func debugSetup(t *testing.T) (*config.All, *corpus) {
	t.Helper()
	cfg, err := config.Load(configsDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ApplyDebug()
	debugCorpusOnce.Do(func() { debugCorpus, debugCorpusErr = loadCorpus(cfg, true) })
	if debugCorpusErr != nil {
		t.Fatal(debugCorpusErr)
	}
	return cfg, debugCorpus
}

func TestCurriculumStages(t *testing.T) {
	cfg, c := debugSetup(t)
	stages, err := curriculumStages(cfg, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) != 5 {
		t.Fatalf("%d stages, want the 5 phases of curriculum.yaml", len(stages))
	}
	wantCC := []int{20, 16, 12, 8, 0} // 100:0 … 0:100 of 20 examples (share 0.2 of the debug target 100)
	seeds := map[uint64]bool{}
	for i, st := range stages {
		bySource := map[string]int{}
		for _, cv := range st.train {
			bySource[cv.Source]++
			if cv.Split != string(data.SplitTrain) {
				t.Errorf("phase %s: conversation %s of split %q", st.Name, cv.ID, cv.Split)
			}
			if cv.Source == data.SourceAnnoMI && cv.Quality != config.QualityHigh {
				t.Errorf("phase %s: AnnoMI conversation %s of quality %q, want data.yaml's %q", st.Name, cv.ID, cv.Quality, config.QualityHigh)
			}
		}
		if len(st.train) != 20 || bySource[data.SourceCounselChat] != wantCC[i] || bySource[data.SourceAnnoMI] != 20-wantCC[i] {
			t.Errorf("phase %s: %d examples %v, want 20 with %d from CounselChat", st.Name, len(st.train), bySource, wantCC[i])
		}
		if want := stageDir(i, cfg.Curriculum.Phases[i].Name); st.Dir != want || !strings.HasPrefix(want, PhasesDirName+"/0") {
			t.Errorf("phase %d dir %q, want %q", i, st.Dir, want)
		}
		if st.report == nil || st.report.Size != 20 || st.report.Seed != st.Seed {
			t.Errorf("phase %s: mix report %+v", st.Name, st.report)
		}
		seeds[st.Seed] = true
	}
	if len(seeds) != 5 {
		t.Errorf("phases share mixing seeds: %v", seeds)
	}

	// The same configuration draws the same examples; another phase draws others.
	again, err := curriculumStages(cfg, c)
	if err != nil {
		t.Fatal(err)
	}
	for i := range stages {
		if !slices.Equal(ids(stages[i].train), ids(again[i].train)) {
			t.Errorf("phase %s: a second draw differs", stages[i].Name)
		}
	}
	if slices.Equal(ids(stages[0].train)[:12], ids(stages[2].train)[:12]) {
		t.Error("phases 1 and 3 drew the same CounselChat examples")
	}
}

func TestCurriculumStagesQualityAndRepeats(t *testing.T) {
	cfg, c := debugSetup(t)
	last := &cfg.Curriculum.Phases[4]
	last.AnnoMIQuality = config.QualityLow
	last.Share, last.Size = 0, 1000
	stages, err := curriculumStages(cfg, c)
	if err != nil {
		t.Fatal(err)
	}
	st := stages[4]
	if len(st.train) != 1000 || st.Quality != config.QualityLow {
		t.Fatalf("phase %s: %d examples of quality %q, want 1000 of low", st.Name, len(st.train), st.Quality)
	}
	for _, cv := range st.train {
		if cv.Quality != config.QualityLow {
			t.Fatalf("phase %s: conversation %s has quality %q", st.Name, cv.ID, cv.Quality)
		}
	}
	pool := len(c.annomiTrain(config.QualityLow))
	src := st.report.Sources[1]
	if src.Name != data.SourceAnnoMI || src.Available != pool || src.Drawn != 1000 || src.MaxRepeats != (1000+pool-1)/pool || src.Epochs <= 1 {
		t.Errorf("AnnoMI mix report %+v with a pool of %d", src, pool)
	}
	ds := newDataSummary(PipelineCurriculum, cfg, &runSettings{Debug: true}, c, stages, true)
	if ds.TrainPools["annomi/low"] != pool || ds.TrainPools["annomi/high"] == 0 || ds.Stages[4].Mix == nil || ds.DPOPairs == nil || ds.DPOPairs.Train == 0 {
		t.Errorf("data summary: pools %v, stage %+v, pairs %+v", ds.TrainPools, ds.Stages[4], ds.DPOPairs)
	}
	if !strings.Contains(ds.String(), "mi_mastery") {
		t.Errorf("data summary text lacks the last phase:\n%s", ds)
	}
}

func TestCurriculumStagesErrors(t *testing.T) {
	cfg, c := debugSetup(t)
	noAnnoMI := *c
	noAnnoMI.annoTrain = nil
	if _, err := curriculumStages(cfg, &noAnnoMI); err == nil || !strings.Contains(err.Error(), "early_mi_blend") || !strings.Contains(err.Error(), "annomi") {
		t.Errorf("empty AnnoMI pool: got %v, want an error naming the phase and the source", err)
	}
	cfg.Curriculum.Phases[0].Share, cfg.Curriculum.Phases[0].Size = 0.001, 0
	if _, err := curriculumStages(cfg, c); err == nil || !strings.Contains(err.Error(), "counselchat_foundation") {
		t.Errorf("a phase of 0 examples: got %v", err)
	}
}

func TestSequentialStages(t *testing.T) {
	cfg, c := debugSetup(t)
	stages, err := sequentialStages(cfg, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) != 2 || stages[0].Name != StageCounselChat || stages[1].Name != StageAnnoMI {
		t.Fatalf("stages %v", stages)
	}
	if len(stages[0].train) != len(c.ccTrain) || len(stages[1].train) != len(c.annomiTrain(config.QualityHigh)) {
		t.Errorf("stage sizes %d and %d, want the whole pools %d and %d", len(stages[0].train), len(stages[1].train), len(c.ccTrain), len(c.annomiTrain(config.QualityHigh)))
	}
	if stages[0].LearningRate != cfg.Training.LearningRate || stages[1].Epochs != cfg.Training.NumTrainEpochs || stages[0].Mix != nil {
		t.Errorf("stage settings %+v", stages[0])
	}
}

func TestDebugCorpus(t *testing.T) {
	cfg, c := debugSetup(t)
	d := cfg.Data.Debug
	if n := groups(c.ccTrain); n != d.CounselChatQuestions {
		t.Errorf("CounselChat train: %d questions, want the debug %d", n, d.CounselChatQuestions)
	}
	for _, q := range []string{config.QualityHigh, config.QualityLow, config.QualityAll} {
		if n := groups(c.annomiTrain(q)); n != d.AnnoMITranscripts {
			t.Errorf("AnnoMI train (%s): %d transcripts, want the debug %d", q, n, d.AnnoMITranscripts)
		}
	}
	if c.evalSizes[data.SourceCounselChat] == 0 || c.evalSizes[data.SourceAnnoMI] == 0 ||
		len(c.eval) != c.evalSizes[data.SourceCounselChat]+c.evalSizes[data.SourceAnnoMI] {
		t.Errorf("eval sets %v of %d conversations", c.evalSizes, len(c.eval))
	}
	for _, cv := range c.eval {
		if cv.Split != string(data.SplitValidation) || (cv.Source == data.SourceAnnoMI && cv.Quality != config.QualityHigh) {
			t.Fatalf("eval conversation %s: split %q, quality %q", cv.ID, cv.Split, cv.Quality)
		}
	}
}

func TestDPOPairsCap(t *testing.T) {
	cfg, c := debugSetup(t)
	cfg.DPO.PerDeviceTrainBatchSize, cfg.DPO.GradientAccumulationSteps = 2, 3
	for _, tc := range []struct {
		steps, epochs, maxEval, wantTrain, wantEval int
	}{
		{0, 1, 0, len(c.pairs.train), len(c.pairs.eval)},
		{2, 1, 0, 12, len(c.pairs.eval)},
		{4, 2, 5, 12, 5}, // two batches of 6 pairs per epoch
		{5, 2, 1, 18, 1}, // ceil(5/2) = 3 batches per epoch
		{1000, 1, 0, len(c.pairs.train), len(c.pairs.eval)},
	} {
		cfg.DPO.NumTrainEpochs = tc.epochs
		tp, ep := dpoPairs(cfg, c, tc.steps, tc.maxEval)
		if len(tp) != tc.wantTrain || len(ep) != tc.wantEval {
			t.Errorf("steps %d, epochs %d, max eval %d: %d train and %d eval pairs, want %d and %d",
				tc.steps, tc.epochs, tc.maxEval, len(tp), len(ep), tc.wantTrain, tc.wantEval)
		}
	}
}

func ids(convs []data.Conversation) []string {
	out := make([]string, len(convs))
	for i, c := range convs {
		out[i] = c.Source + "/" + c.ID
	}
	return out
}

func groups(convs []data.Conversation) int {
	seen := map[string]bool{}
	for _, c := range convs {
		seen[c.Group] = true
	}
	return len(seen)
}
