package pretrain

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/sft"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

const configsDir = "../../configs"

// fullRun trains the tiny preset from scratch for a few steps on the corpus
// data (debug sizes, 128-token sequences) and returns the run directory.
func fullRun(t *testing.T, seed string, steps string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "run")
	_, err := sft.Run(context.Background(), sft.Options{
		ConfigOptions: stage.ConfigOptions{
			ConfigPath: configsDir, Model: "tiny", Debug: true,
			Overrides: []string{
				"data.debug.max_seq_length=128", "dpo.max_length=128", "dpo.max_prompt_length=64",
				"training.per_device_train_batch_size=4", "training.per_device_eval_batch_size=4",
				"training.gradient_accumulation_steps=1", "training.max_steps=" + steps, "training.learning_rate=1e-2",
				"training.warmup_steps=0", "training.warmup_ratio=0", "training.seed=" + seed, "training.logging_steps=1",
			},
		},
		Data: sft.DataCorpus, Out: out,
		Full: true, FromScratch: true, LossOn: sft.LossOnAll, MaxEvalExamples: 2,
		BackendInstance: testutil.Backend(t), Reporting: train.Reporting{NoProgress: true, Logger: testutil.QuietLogger()},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestShipAndCheck ships a short full run of the tiny preset and checks
// what the card says against the files, then checks a rebuild: the same
// run reproduces exactly, another seed does not within a tight tolerance.
func TestShipAndCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("trains and measures a model")
	}
	run := fullRun(t, "5", "3")
	shipped := filepath.Join(t.TempDir(), "tiny")
	opts := ShipOptions{
		Run: run, Out: shipped, Preset: "tiny", Command: "go test", TrainLimit: 8, HeldOutLimit: 12, Samples: 1,
		BackendInstance: testutil.Backend(t), Logger: testutil.QuietLogger(),
	}
	card, err := Ship(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	testutil.WantFiles(t, shipped, gemma3n.ConfigFileName, WeightsFileName, CardFileName, ReadmeFileName)
	// The weights are bfloat16 and load back as the card's architecture.
	m, err := gemma3n.Load(shipped, dtypes.Float32)
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.TorchDType != config.DTypeBFloat16 || card.Parameters != m.Config.NumParameters() ||
		card.ParamGroups.Embedding+card.ParamGroups.PerLayerEmbedding+card.ParamGroups.Decoder != card.Parameters {
		t.Errorf("card: %d parameters (%+v), model %d, dtype %q", card.Parameters, card.ParamGroups, m.Config.NumParameters(), m.Config.TorchDType)
	}
	// Losses of three splits and two sources, finite, each scored on its
	// own examples; the train rows on TrainLimit spread examples.
	if len(card.Losses) != 6 {
		t.Fatalf("%d losses, want train, validation and test of both sources: %+v", len(card.Losses), card.Losses)
	}
	for _, l := range card.Losses {
		if math.IsNaN(l.Loss) || l.Loss <= 0 || l.Targets <= 0 || (l.Split == "train" && l.Examples > 8) || l.Examples > 12 {
			t.Errorf("loss %+v", l)
		}
	}
	if !(card.Loss("validation", "annomi") < math.Log(8192)) {
		t.Errorf("validation loss %v after training, a uniform guess scores %v", card.Loss("validation", "annomi"), math.Log(8192))
	}
	if card.Training.Steps != 3 || card.Training.Tokens <= 0 || card.Training.Seed != 5 || card.Data.LossOn != sft.LossOnAll ||
		card.Data.Data != sft.DataCorpus || len(card.Data.Train) != 2 || card.Training.FinalLossSteps != 3 || len(card.Samples) != 2 {
		t.Errorf("card: training %+v, data %+v, %d samples", card.Training, card.Data, len(card.Samples))
	}
	var trainPoints, evalPoints int
	for _, pt := range card.Training.Curve {
		if pt.Set == "" {
			trainPoints++
		} else {
			evalPoints++
		}
	}
	if trainPoints != 3 || evalPoints != 2 {
		t.Errorf("learning curve: %d steps and %d evaluations, want 3 and 2: %+v", trainPoints, evalPoints, card.Training.Curve)
	}
	readme, err := os.ReadFile(filepath.Join(shipped, ReadmeFileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"go test", "annomi-sessions", "Not yet checked", "MIT", "Public Domain", "| 3 | 1536 |", strings.Split(card.Render(), "\n")[0]} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README.md lacks %q", want)
		}
	}
	back, err := ReadCard(shipped)
	if err != nil || back.Loss("test", "counselchat") != card.Loss("test", "counselchat") {
		t.Errorf("card.json: %v", err)
	}
	// The quick losses measure again from the shipped files alone.
	if len(card.Quick) != 2 || card.QuickLimit != QuickLimit {
		t.Errorf("quick losses %+v (limit %d)", card.Quick, card.QuickLimit)
	}
	checkQuick(t, back, m)

	// The same run checked against the shipped model: identical.
	r, err := Check(context.Background(), CheckOptions{
		Run: run, Shipped: shipped, Preset: "tiny", Record: true, BackendInstance: testutil.Backend(t), Logger: testutil.QuietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Passed || r.MaxDelta != 0 || !r.Identical || len(r.Shipped) != 2 {
		t.Errorf("reproduction %+v", r)
	}
	if back, err := ReadCard(shipped); err != nil || back.Reproduction == nil || !back.Reproduction.Passed {
		t.Errorf("the check was not recorded: %v", err)
	}
	if readme, _ := os.ReadFile(filepath.Join(shipped, ReadmeFileName)); !strings.Contains(string(readme), "bitwise identical") {
		t.Error("README.md does not report the check")
	}

	// Another seed: different weights, and a tolerance it cannot meet.
	other := fullRun(t, "6", "3")
	r, err = Check(context.Background(), CheckOptions{
		Run: other, Shipped: shipped, Preset: "tiny", Tolerance: 1e-9, BackendInstance: testutil.Backend(t), Logger: testutil.QuietLogger(),
	})
	if !errors.Is(err, ErrNotReproduced) || r == nil || r.Passed || r.Identical {
		t.Errorf("another seed: %+v, %v", r, err)
	}
}

func TestShipRejects(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	run := fullRun(t, "5", "1")
	for _, tc := range []struct {
		name string
		edit func(o *ShipOptions)
		want string
	}{
		{"no run", func(o *ShipOptions) { o.Run = "" }, "required"},
		{"another architecture", func(o *ShipOptions) { o.Preset = gemma3n.MiniName }, "not the mini architecture"},
		{"unknown preset", func(o *ShipOptions) { o.Preset = "huge" }, "unknown gemma3n preset"},
		{"not a run", func(o *ShipOptions) { o.Run = t.TempDir() }, "summary.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ShipOptions{Run: run, Out: filepath.Join(t.TempDir(), "out"), Preset: "tiny", Samples: -1,
				BackendInstance: testutil.Backend(t), Logger: testutil.QuietLogger()}
			tc.edit(&o)
			if _, err := Ship(context.Background(), o); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

// checkQuick measures a card's quick validation losses again on m.
func checkQuick(t *testing.T, card *Card, m *gemma3n.Model) {
	t.Helper()
	quick, err := QuickLosses(context.Background(), card, m, testutil.Backend(t), testutil.QuietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if len(quick) != len(card.Quick) {
		t.Fatalf("%d quick losses, the card has %d", len(quick), len(card.Quick))
	}
	for i, q := range quick {
		want := card.Quick[i]
		if q.Source != want.Source || q.Examples != want.Examples || math.Abs(q.Loss-want.Loss) > 1e-4 {
			t.Errorf("quick loss %+v, the card says %+v", q, want)
		}
	}
}
