package curriculum

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/dpo"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/export"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil/modeltest"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/sft"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// TestCurriculumEndToEnd runs the debug curriculum of the shipped
// configuration on the tiny preset at a few steps per stage: five phases,
// DPO and the merge; then checks the run directory, the story it tells,
// the reload parity of the merged model, and that a second invocation
// finds everything complete.
func TestCurriculumEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains five phases, DPO and a merge (about 30 s)")
	}
	out := filepath.Join(t.TempDir(), "run")
	opts := smallOptions(t, "tiny", out)
	opts.VerifyMerge = true
	var stagesDone []string
	opts.OnStage = func(stage string, s *Summary) { stagesDone = append(stagesDone, stage) }
	s, err := RunCurriculum(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	s.Table(&table)
	t.Logf("\n%s", table.String())

	phases := config.DefaultCurriculum().Phases
	if want := append(phaseNames(phases), "dpo", "merge"); !slices.Equal(stagesDone, want) {
		t.Errorf("OnStage saw %v, want %v", stagesDone, want)
	}
	if !s.Complete || s.Pipeline != PipelineCurriculum || len(s.Phases) != len(phases) || s.DPO == nil || s.Merge == nil || s.Invocations != 1 {
		t.Fatalf("summary: %+v", s)
	}
	prevAdapter := ""
	for i, p := range s.Phases {
		if p.Name != phases[i].Name || p.Mix == nil || p.Mix.CounselChat != phases[i].Mix.CounselChat || p.Examples != 4 {
			t.Errorf("phase %d: %+v", i, p)
		}
		if p.Steps != 3 || p.TotalSteps != 3 || p.Tokens <= 0 {
			t.Errorf("phase %s: %d of %d steps, %d tokens; want 3 full-batch steps", p.Name, p.Steps, p.TotalSteps, p.Tokens)
		}
		if want := phases[i].LearningRate * 100; p.LearningRate != want {
			t.Errorf("phase %s: learning rate %v, want %v (scaled)", p.Name, p.LearningRate, want)
		}
		if !p.LossFell {
			t.Errorf("phase %s: train loss did not fall (%v → %v)", p.Name, deref(p.TrainLossStart), deref(p.TrainLossEnd))
		}
		if _, ok := p.EvalLoss[data.SourceCounselChat]; !ok {
			t.Errorf("phase %s: no CounselChat eval loss (%v)", p.Name, p.EvalLoss)
		}
		if _, ok := p.EvalLoss[data.SourceAnnoMI]; !ok {
			t.Errorf("phase %s: no AnnoMI eval loss (%v)", p.Name, p.EvalLoss)
		}
		// The adapter carries over from phase to phase.
		if p.InitAdapter != prevAdapter {
			t.Errorf("phase %s started from %q, want %q", p.Name, p.InitAdapter, prevAdapter)
		}
		var ss sft.Summary
		if err := atomicfile.ReadJSON(filepath.Join(out, p.Dir, sft.SummaryFileName), &ss); err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(out, prevAdapter); prevAdapter != "" && ss.InitAdapter != want {
			t.Errorf("phase %s: sft trained from %q, want %q", p.Name, ss.InitAdapter, want)
		}
		prevAdapter = p.Adapter
	}
	if d := s.DPO; d.Steps != 2 || d.TrainPairs != 2 || // one batch of 2 pairs per epoch, 2 epochs
		d.EvalPairs != 2 || d.SFTAdapter != prevAdapter || d.Eval[dpo.EvalSetName].Examples == 0 {
		t.Errorf("DPO: %+v", d)
	}

	// The run directory.
	testutil.WantFiles(t, out, stage.ConfigFileName, SettingsFileName, stage.DataSummaryFileName, SummaryFileName, MetricsFileName,
		filepath.Join(stage.AdapterDirName, lora.WeightsFileName), filepath.Join(DPODirName, dpo.SummaryFileName),
		filepath.Join(MergedDirName, "model.safetensors"), filepath.Join(MergedDirName, "config.json"),
		filepath.Join(MergedDirName, "generation_config.json"), filepath.Join(MergedDirName, "tokenizer.json"),
		filepath.Join(MergedDirName, export.MergeInfoFileName))
	final, _ := os.ReadFile(filepath.Join(out, stage.AdapterDirName, lora.WeightsFileName))
	dpoFinal, _ := os.ReadFile(filepath.Join(out, DPODirName, stage.AdapterDirName, lora.WeightsFileName))
	if len(final) == 0 || !bytes.Equal(final, dpoFinal) {
		t.Error("adapter/ is not DPO's final adapter")
	}
	resolved, err := config.LoadResolved(filepath.Join(out, stage.ConfigFileName))
	if err != nil {
		t.Fatal(err)
	}
	if resolved.Curriculum.Phases[0].LearningRate != 1e-2 || resolved.Model.MaxSeqLength != 128 || resolved.Curriculum.TargetDatasetSize != 20 {
		t.Errorf("config.yaml: phase 0 lr %v, max_seq_length %d, target %d", resolved.Curriculum.Phases[0].LearningRate, resolved.Model.MaxSeqLength, resolved.Curriculum.TargetDatasetSize)
	}
	var ds DataSummary
	if err := atomicfile.ReadJSON(filepath.Join(out, stage.DataSummaryFileName), &ds); err != nil {
		t.Fatal(err)
	}
	if len(ds.Stages) != 5 || ds.Stages[1].Mix == nil || ds.Stages[1].BySource[data.SourceAnnoMI] != 1 || ds.EvalSets[data.SourceAnnoMI] == 0 || !ds.Debug {
		t.Errorf("data_summary.json: %+v", ds)
	}
	stagesLogged := map[string]map[string]bool{}
	for _, r := range testutil.ReadJSONL[record](t, filepath.Join(out, MetricsFileName)) {
		if stagesLogged[r.Phase] == nil {
			stagesLogged[r.Phase] = map[string]bool{}
		}
		stagesLogged[r.Phase][r.Kind+"/"+r.EvalSet] = true
	}
	for _, p := range phases {
		if got := stagesLogged[p.Name]; !got["train/"] || !got["eval/counselchat"] || !got["eval/annomi"] {
			t.Errorf("metrics.jsonl, phase %s: records %v", p.Name, got)
		}
	}
	if !stagesLogged["dpo"]["train/"] {
		t.Errorf("metrics.jsonl has no DPO records: %v", stagesLogged)
	}

	// The merged model, reloaded, reproduces the base model with the final adapter.
	if m := s.Merge; m.MaxLogitDiff == nil || *m.MaxLogitDiff > 1e-4 || m.Dir != MergedDirName {
		t.Errorf("merge: %+v", m)
	}
	merged, err := gemma3n.Load(filepath.Join(out, MergedDirName), dtypes.Float32)
	if err != nil {
		t.Fatal(err)
	}
	ids := export.VerifyIDs(filepath.Join(out, MergedDirName), merged.Config.VocabSize)
	if d := testutil.MaxAbsDiff(modeltest.AdapterLogits(t, "tiny", filepath.Join(out, stage.AdapterDirName), dtypes.Float32, ids), modeltest.Logits(t, merged, ids)); d > 1e-4 {
		t.Errorf("reloaded merged model: max |Δlogit| %g", d)
	}

	// A second run refuses the directory; resuming finds every stage done.
	if _, err := RunCurriculum(t.Context(), smallOptions(t, "tiny", out)); err == nil || !strings.Contains(err.Error(), "already holds a run") {
		t.Errorf("a second run in the same directory: got %v", err)
	}
	again, err := RunCurriculum(t.Context(), Options{Out: out, Resume: true, BackendInstance: testutil.Backend(t), Reporting: train.Reporting{NoProgress: true, Logger: testutil.QuietLogger()}})
	if err != nil {
		t.Fatal(err)
	}
	if again.Invocations != 2 || !again.Complete || !again.DPO.Reused || !again.Merge.Reused || again.TotalWallSeconds <= again.WallSeconds {
		t.Errorf("resumed complete run: %+v", again)
	}
	for i, p := range again.Phases {
		if !p.Reused || p.Steps != s.Phases[i].Steps || *p.TrainLossEnd != *s.Phases[i].TrainLossEnd {
			t.Errorf("resumed complete run, phase %s: %+v", p.Name, p)
		}
	}
}

// TestCurriculumResume kills a two-phase curriculum, once in the middle of
// the second phase and once right after the first, and checks that resuming
// ends with the adapters of an uninterrupted run. The optimizer state carries
// over between the phases: a second phase resumed from its own checkpoint
// must keep its moments rather than take the first phase's again (reset, the
// simpler case, is what TestCurriculumEndToEnd runs).
func TestCurriculumResume(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a two-phase curriculum five times (about 30 s)")
	}
	overrides := []string{
		"curriculum.phases=[{name: first, mix: {counselchat: 50, annomi: 50}, learning_rate: 1e-4, size: 4, epochs: 3}," +
			" {name: second, mix: {counselchat: 25, annomi: 75}, learning_rate: 5e-5, size: 4, epochs: 3}]",
		"curriculum.run_dpo_after=false", "curriculum.merge_final_model=false",
		"training.save_steps=1", "lora.lora_dropout=0.2", "curriculum.optimizer_state=carry",
	}
	options := func(out string) Options { return smallOptions(t, "tiny", out, overrides...) }

	straight := t.TempDir()
	want, err := RunCurriculum(t.Context(), options(straight))
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Phases) != 2 || want.DPO != nil || want.Merge != nil {
		t.Fatalf("uninterrupted run: %+v", want)
	}

	for _, tc := range []struct {
		name        string
		phase       string
		step        int
		resumedFrom string // of the second phase
	}{
		{"in the second phase", "second", 2, "step-00000002"},
		{"after the first phase", "first", 3, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			runCtx, cancel := context.WithCancel(t.Context())
			defer cancel()
			o := options(out)
			o.OnStep = func(m train.StepMetrics) {
				if m.Phase == tc.phase && m.Step == tc.step {
					cancel()
				}
			}
			killed, err := RunCurriculum(runCtx, o)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("killed run: got %v, want a cancellation", err)
			}
			if killed == nil || killed.Complete || len(killed.Phases) != 1 {
				t.Fatalf("killed run summary: %+v", killed)
			}
			var onDisk Summary
			if err := atomicfile.ReadJSON(filepath.Join(out, SummaryFileName), &onDisk); err != nil || onDisk.Complete || len(onDisk.Phases) != 1 {
				t.Fatalf("summary.json of the killed run: %+v (%v)", onDisk, err)
			}

			got, err := RunCurriculum(t.Context(), Options{Out: out, Resume: true, BackendInstance: testutil.Backend(t), Reporting: train.Reporting{NoProgress: true, Logger: testutil.QuietLogger()}})
			if err != nil {
				t.Fatal(err)
			}
			if !got.Complete || got.Invocations != 2 || !got.Phases[0].Reused || got.Phases[1].Reused {
				t.Errorf("resumed run: %+v", got)
			}
			if base := filepath.Base(got.Phases[1].ResumedFrom); got.Phases[1].ResumedFrom != "" && base != tc.resumedFrom || (got.Phases[1].ResumedFrom == "") != (tc.resumedFrom == "") {
				t.Errorf("second phase resumed from %q, want %q", got.Phases[1].ResumedFrom, tc.resumedFrom)
			}
			for i, dir := range []string{want.Phases[0].Adapter, want.Phases[1].Adapter, stage.AdapterDirName} {
				weights := filepath.Join(dir, lora.WeightsFileName)
				d := testutil.MaxAbsDiffByName(t, testutil.ReadFloat32Tensors(t, filepath.Join(straight, weights)), testutil.ReadFloat32Tensors(t, filepath.Join(out, weights)))
				if d > 1e-6 {
					t.Errorf("%s of the resumed run differs from the uninterrupted one by %g", dir, d)
				}
				if i < 2 && got.Phases[i].Steps != want.Phases[i].Steps {
					t.Errorf("phase %d: %d steps, uninterrupted %d", i, got.Phases[i].Steps, want.Phases[i].Steps)
				}
			}
			var steps []int
			for _, r := range testutil.ReadJSONL[record](t, filepath.Join(out, MetricsFileName)) {
				if r.Kind == "train" && r.Phase == "second" {
					steps = append(steps, r.Step)
				}
			}
			if !slices.Equal(steps, []int{1, 2, 3}) {
				t.Errorf("metrics.jsonl: second phase steps %v, want 1 2 3 once each", steps)
			}
		})
	}
}

type record struct {
	Kind    string `json:"kind"`
	Phase   string `json:"phase"`
	Step    int    `json:"step"`
	EvalSet string `json:"eval_set"`
}

func phaseNames(phases []config.Phase) []string {
	var out []string
	for _, p := range phases {
		out = append(out, p.Name)
	}
	return out
}
