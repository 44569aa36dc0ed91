package curriculum

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
)

func TestResolveConfig(t *testing.T) {
	cfg, err := ResolveConfig(Options{ConfigOptions: stage.ConfigOptions{ConfigPath: configsDir, Model: "tiny", Debug: true,
		Overrides: []string{"curriculum.phases.1.learning_rate=1e-3", "curriculum.run_dpo_after=false"}}, LRScale: 10, Epochs: 2})
	if err != nil {
		t.Fatal(err)
	}
	base := config.DefaultCurriculum()
	for i, p := range cfg.Curriculum.Phases {
		want := base.Phases[i].LearningRate * 10
		if i == 1 {
			want = 1e-2 // the override, then the scale
		}
		if diff := p.LearningRate - want; diff > 1e-15 || diff < -1e-15 || p.Epochs != 2 {
			t.Errorf("phase %s: learning rate %v, epochs %d; want %v and 2", p.Name, p.LearningRate, p.Epochs, want)
		}
	}
	if cfg.Training.NumTrainEpochs != 2 || cfg.DPO.LearningRate != config.DefaultDPO().LearningRate*10 || cfg.Curriculum.RunDPOAfter {
		t.Errorf("training epochs %d, DPO learning rate %v, run_dpo_after %v", cfg.Training.NumTrainEpochs, cfg.DPO.LearningRate, cfg.Curriculum.RunDPOAfter)
	}
	if cfg.Model.MaxSeqLength != cfg.Data.Debug.MaxSeqLength || cfg.Curriculum.TargetDatasetSize != cfg.Data.Debug.TargetDatasetSize {
		t.Errorf("debug sizes not applied: max_seq_length %d, target %d", cfg.Model.MaxSeqLength, cfg.Curriculum.TargetDatasetSize)
	}
	if cfg, err := ResolveConfig(Options{ConfigOptions: stage.ConfigOptions{ConfigPath: configsDir, Overrides: []string{"curriculum.optimizer_state=carry"}}}); err != nil || cfg.Curriculum.OptimizerState != config.OptimizerCarry {
		t.Errorf("optimizer_state carry: %v", err)
	}
	abs, _ := filepath.Abs(fixtureModel)
	if cfg, err := ResolveConfig(Options{ConfigOptions: stage.ConfigOptions{ConfigPath: configsDir, Model: fixtureModel}}); err != nil || cfg.Model.NameOrPath != abs {
		t.Errorf("a model directory is made absolute: got %q (%v), want %q", cfg.Model.NameOrPath, err, abs)
	}

	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"optimizer state", Options{ConfigOptions: stage.ConfigOptions{ConfigPath: configsDir, Overrides: []string{"curriculum.optimizer_state=keep"}}}, "optimizer_state"},
		{"negative scale", Options{ConfigOptions: stage.ConfigOptions{ConfigPath: configsDir}, LRScale: -1}, "learning-rate scale"},
		{"scale beyond 1", Options{ConfigOptions: stage.ConfigOptions{ConfigPath: configsDir}, LRScale: 1e5}, "learning_rate"},
		{"negative epochs", Options{ConfigOptions: stage.ConfigOptions{ConfigPath: configsDir}, Epochs: -1}, "epochs"},
		{"bad override", Options{ConfigOptions: stage.ConfigOptions{ConfigPath: configsDir, Overrides: []string{"curriculum.phases.9.size=1"}}}, "phases.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ResolveConfig(tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestRunConfigResume(t *testing.T) {
	out := t.TempDir()
	opts := Options{ConfigOptions: stage.ConfigOptions{ConfigPath: configsDir, Model: "tiny", Debug: true}, Out: out}
	cfg, resumption, err := runConfig(&opts)
	if err != nil || resumption != nil {
		t.Fatalf("new run: resumption %v, %v", resumption, err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("runConfig wrote %d files", len(entries))
	}
	if err := cfg.WriteYAML(filepath.Join(out, stage.ConfigFileName)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runConfig(&opts); err == nil || !strings.Contains(err.Error(), "already holds a run") {
		t.Errorf("second run without Resume: got %v", err)
	}
	opts.Resume = true
	again, resumption, err := runConfig(&opts)
	if err != nil || resumption == nil || len(resumption.Changes()) != 0 || again.Model.MaxSeqLength != cfg.Model.MaxSeqLength {
		t.Errorf("resume with the same options: resumption %v, %v", resumption, err)
	}
	saved, _, err := runConfig(&Options{Out: out, Resume: true})
	if err != nil || saved.Model.NameOrPath != "tiny" || saved.Model.MaxSeqLength != cfg.Data.Debug.MaxSeqLength {
		t.Errorf("resume without options: %v, model %q", err, saved.Model.NameOrPath)
	}
	opts.Overrides = []string{"training.logging_steps=7"}
	if _, resumption, err := runConfig(&opts); err != nil || len(resumption.Changes()) != 1 || resumption.Changes()[0].Assignment() != "training.logging_steps=7" {
		t.Errorf("resume with another logging frequency: %v", err)
	}
	opts.Overrides, opts.LRScale = nil, 3
	_, _, err = runConfig(&opts)
	for _, want := range []string{"configuration differs", "training.learning_rate: 0.0002 → 0.0006", "dpo.learning_rate", "curriculum.phases.0.learning_rate"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("resume with another configuration: got %v, want %q", err, want)
		}
	}
}

func TestRunRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"no run directory", Options{}, "no run directory"},
		{"negative eval examples", Options{Out: "x", MaxEvalExamples: -1}, "max eval examples"},
		{"negative DPO steps", Options{Out: "x", DPOMaxSteps: -2}, "DPO max steps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := RunCurriculum(t.Context(), tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
	// A sequential run cannot resume a curriculum run.
	out := t.TempDir()
	o := Options{ConfigOptions: stage.ConfigOptions{ConfigPath: configsDir, Model: "tiny", Overrides: []string{"curriculum.optimizer_state=keep"}}, Out: out}
	if _, err := RunCurriculum(t.Context(), o); err == nil || !strings.Contains(err.Error(), "optimizer_state") {
		t.Fatalf("optimizer_state keep: got %v", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("a run rejected for its configuration wrote %d files", len(entries))
	}
	if err := writeJSON(filepath.Join(out, SettingsFileName), runSettings{Pipeline: PipelineCurriculum}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, stage.ConfigFileName), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := RunSequential(t.Context(), Options{Out: out, Resume: true}); err == nil || !strings.Contains(err.Error(), "is a curriculum run") {
		t.Errorf("sequential resume of a curriculum run: got %v", err)
	}
}
