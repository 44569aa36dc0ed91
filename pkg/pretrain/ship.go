package pretrain

import (
	stdcontext "context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/eval"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safety"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/sft"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// Defaults of ShipOptions.
const (
	DefaultTrainLimit = 256 // training examples per source scored for the card
	DefaultSamples    = 2   // sample replies per source
	// QuickLimit is the number of validation examples per source of the
	// card's quick losses (Card.Quick).
	QuickLimit = 24
	// DefaultTolerance is the largest difference of validation loss (nats)
	// between a rebuild and the shipped model that Check accepts.
	DefaultTolerance = 0.05
	// finalLossSteps is how many of the last logged steps the card's final
	// training loss averages.
	finalLossSteps = 20
)

// ShipOptions describe Ship.
type ShipOptions struct {
	// Run is the directory of a finished `train full` run (sft.Run with
	// Full): its model/ is shipped.
	Run string
	// Out is the directory written (replaced as a whole): config.json,
	// model.safetensors (bfloat16), card.json and README.md.
	Out string
	// Preset is the name the model ships as (default gemma3n.MiniName);
	// the run's architecture must be the preset's.
	Preset string
	// Command is how the run was made, for the card (e.g. "make pretrain").
	Command string
	// TrainLimit is the number of training examples per source scored for
	// the card (default DefaultTrainLimit); HeldOutLimit the same for the
	// validation and test splits (default 0: all of them, as the shipped
	// card has it); Samples the sample replies per source (default
	// DefaultSamples; negative: none).
	TrainLimit, HeldOutLimit, Samples int
	// BackendInstance runs the measurements (default: the run's backend).
	BackendInstance compute.Backend
	Logger          *slog.Logger
}

// Ship turns a finished full-training run into a shipped model directory:
// its final weights rounded to bfloat16, the held-out losses measured with
// those very weights, sample replies, and the model card rendered from
// them.
func Ship(ctx stdcontext.Context, opts ShipOptions) (*Card, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if opts.Run == "" || opts.Out == "" {
		return nil, errors.New("pretrain: ship: a run directory and an output directory are required")
	}
	preset := opts.Preset
	if preset == "" {
		preset = gemma3n.MiniName
	}
	want, err := gemma3n.Preset(preset)
	if err != nil {
		return nil, fmt.Errorf("pretrain: ship: %w", err)
	}
	var sum sft.Summary
	if err := atomicfile.ReadJSON(filepath.Join(opts.Run, sft.SummaryFileName), &sum); err != nil {
		return nil, fmt.Errorf("pretrain: ship: %w", err)
	}
	switch {
	case !sum.Full || sum.SavedModel == "":
		return nil, fmt.Errorf("pretrain: ship: %s is not a full-training run (train full)", opts.Run)
	case sum.Steps < sum.TotalSteps:
		return nil, fmt.Errorf("pretrain: ship: %s stopped after %d of %d steps: finish it first (--resume)", opts.Run, sum.Steps, sum.TotalSteps)
	}
	var ds sft.DataSummary
	if err := atomicfile.ReadJSON(filepath.Join(opts.Run, stage.DataSummaryFileName), &ds); err != nil {
		return nil, fmt.Errorf("pretrain: ship: %w", err)
	}
	runCfgPath := filepath.Join(opts.Run, stage.ConfigFileName)
	cfg, err := config.LoadResolved(runCfgPath)
	if err != nil {
		return nil, fmt.Errorf("pretrain: ship: %w", err)
	}
	modelDir := filepath.Join(opts.Run, sft.ModelDirName)
	trained, err := gemma3n.Load(modelDir, dtypes.Float32)
	if err != nil {
		return nil, fmt.Errorf("pretrain: ship: %w", err)
	}
	if err := gemma3n.SameArchitecture(want, trained.Config); err != nil {
		return nil, fmt.Errorf("pretrain: ship: the run's model is not the %s architecture: %w", preset, err)
	}

	// Write the shipped files into a scratch directory next to Out, and
	// measure the model as it will be loaded from them.
	parent := filepath.Dir(filepath.Clean(opts.Out))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("pretrain: ship: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".tmp-"+filepath.Base(opts.Out)+"-")
	if err != nil {
		return nil, fmt.Errorf("pretrain: ship: %w", err)
	}
	defer os.RemoveAll(tmp) // no-op after the rename
	if err := trained.SaveAs(tmp, dtypes.BFloat16); err != nil {
		return nil, fmt.Errorf("pretrain: ship: %w", err)
	}
	shipped, err := gemma3n.Load(tmp, dtypes.Float32)
	if err != nil {
		return nil, fmt.Errorf("pretrain: ship: reloading the bfloat16 weights: %w", err)
	}
	tok, err := tokenizer.ForModel(modelDir, shipped.Config.VocabSize)
	if err != nil {
		return nil, fmt.Errorf("pretrain: ship: %w", err)
	}
	b := opts.BackendInstance
	if b == nil {
		if b, err = stage.NewBackend(cfg.Model.Backend); err != nil {
			return nil, fmt.Errorf("pretrain: ship: %w", err)
		}
	}

	card := &Card{
		Preset: preset, Created: time.Now().UTC().Format(time.RFC3339), Config: shipped.Config,
		Parameters: shipped.Config.NumParameters(), ParamGroups: paramGroups(shipped.Config), WeightsDType: config.DTypeBFloat16,
		TrainLimit: opts.TrainLimit, HeldOutLimit: opts.HeldOutLimit,
	}
	if card.TrainLimit == 0 {
		card.TrainLimit = DefaultTrainLimit
	}
	card.Data = dataCard(cfg, &ds, &sum)
	if card.Training, err = trainingCard(opts, cfg, &sum, &card.Data); err != nil {
		return nil, fmt.Errorf("pretrain: ship: %w", err)
	}

	start := time.Now()
	held, err := sft.HeldOutLoss(ctx, sft.LossOptions{
		ConfigPath: runCfgPath, ModelInstance: shipped, Tokenizer: tok, Limit: opts.HeldOutLimit,
		Splits: []data.Split{data.SplitValidation, data.SplitTest}, BackendInstance: b, Logger: logger,
	})
	if err != nil {
		return nil, fmt.Errorf("pretrain: ship: %w", err)
	}
	trainLoss, err := sft.HeldOutLoss(ctx, sft.LossOptions{
		ConfigPath: runCfgPath, ModelInstance: shipped, Tokenizer: tok, Limit: card.TrainLimit,
		Splits: []data.Split{data.SplitTrain}, BackendInstance: b, Logger: logger,
	})
	if err != nil {
		return nil, fmt.Errorf("pretrain: ship: %w", err)
	}
	card.Losses = append(trainLoss, held...)
	card.QuickLimit = QuickLimit
	if card.Quick, err = QuickLosses(ctx, card, shipped, b, logger); err != nil {
		return nil, fmt.Errorf("pretrain: ship: %w", err)
	}
	logger.Info("pretrain: losses measured", "seconds", time.Since(start).Seconds())

	if n := opts.Samples; n >= 0 {
		if n == 0 {
			n = DefaultSamples
		}
		if card.Samples, err = samples(ctx, runCfgPath, shipped, tok, b, n, logger); err != nil {
			return nil, fmt.Errorf("pretrain: ship: %w", err)
		}
	}
	if err := writeCard(tmp, card); err != nil {
		return nil, fmt.Errorf("pretrain: ship: %w", err)
	}
	if err := atomicfile.MoveDir(tmp, opts.Out); err != nil {
		return nil, fmt.Errorf("pretrain: ship: %w", err)
	}
	logger.Info("pretrain: shipped", "dir", opts.Out, "parameters", card.Parameters)
	return card, nil
}

// QuickLosses measures a model's validation loss on card.QuickLimit
// spread examples per source, with the repository's configs (found from
// the working directory) set to the card's data settings, so that a test
// can measure the shipped model again without its training run.
func QuickLosses(ctx stdcontext.Context, card *Card, m *gemma3n.Model, b compute.Backend, logger *slog.Logger) ([]sft.LossResult, error) {
	d := card.Data
	ratios := strings.Split(d.Ratios, "/")
	if len(ratios) != 3 {
		return nil, fmt.Errorf("card: split ratios %q: want train/validation/test", d.Ratios)
	}
	n := d.MaxSeqLength
	return sft.HeldOutLoss(ctx, sft.LossOptions{
		Overrides: []string{
			fmt.Sprintf("model.max_seq_length=%d", n), fmt.Sprintf("data.debug.max_seq_length=%d", n),
			fmt.Sprintf("dpo.max_length=%d", n), fmt.Sprintf("dpo.max_prompt_length=%d", n/2),
			fmt.Sprintf("data.seed=%d", d.Seed), "data.splits.train=" + ratios[0], "data.splits.validation=" + ratios[1], "data.splits.test=" + ratios[2],
			"data.annomi.quality_filter=" + d.Quality, fmt.Sprintf("data.annomi.context_turns=%d", d.ContextTurns),
		},
		ModelInstance: m, Limit: card.QuickLimit, Splits: []data.Split{data.SplitValidation}, BackendInstance: b, Logger: logger,
	})
}

// paramGroups splits the parameter count of cfg.
func paramGroups(cfg *gemma3n.Config) ParamGroups {
	var g ParamGroups
	for _, s := range cfg.Weights() {
		n := int64(1)
		for _, d := range s.Shape {
			n *= int64(d)
		}
		switch s.Name {
		case "embed_tokens.weight":
			g.Embedding += n
		case "embed_tokens_per_layer.weight":
			g.PerLayerEmbedding += n
		default:
			g.Decoder += n
		}
	}
	return g
}

func dataCard(cfg *config.All, ds *sft.DataSummary, sum *sft.Summary) DataCard {
	d := cfg.Data
	out := DataCard{
		Data: ds.Data, LossOn: ds.LossOn, MaxSeqLength: ds.MaxSeqLength, Packing: cfg.Training.Packing, Seed: d.Seed,
		Ratios:  fmt.Sprintf("%g/%g/%g", d.Splits.Train, d.Splits.Validation, d.Splits.Test),
		Quality: d.AnnoMI.QualityFilter, ContextTurns: d.AnnoMI.ContextTurns,
	}
	for _, s := range ds.Sources {
		if s.Split == string(data.SplitTrain) {
			out.Train = append(out.Train, s)
			out.TrainTokens += s.Tokens
		}
	}
	out.TrainTargets = ds.Train.Targets
	return out
}

func trainingCard(opts ShipOptions, cfg *config.All, sum *sft.Summary, d *DataCard) (TrainingCard, error) {
	t := cfg.Training
	curve, err := readCurve(filepath.Join(opts.Run, train.MetricsFileName))
	if err != nil {
		return TrainingCard{}, err
	}
	var steps []float64
	for _, p := range curve {
		if p.Set == "" {
			steps = append(steps, p.Loss)
		}
	}
	tc := TrainingCard{
		Command: opts.Command, Seed: t.Seed, Steps: sum.Steps, Tokens: sum.Tokens,
		BatchRows: t.PerDeviceTrainBatchSize, GradAccum: t.GradientAccumulationSteps,
		LearningRate: t.LearningRate, Schedule: t.LRSchedulerType, WeightDecay: t.WeightDecay, MaxGradNorm: t.MaxGradNorm,
		Betas:        fmt.Sprintf("%g, %g", t.AdamBeta1, t.AdamBeta2),
		TrainSeconds: sum.TrainSeconds, TokensPerSec: sum.TokensPerSec, Backend: backendName(cfg), Machine: Machine(),
	}
	tc.WarmupSteps = train.WarmupSteps(t.WarmupSteps, t.WarmupRatio, sum.TotalSteps)
	if d.TrainTokens > 0 {
		tc.Epochs = float64(sum.Tokens) / float64(d.TrainTokens)
	}
	if tc.Command == "" {
		tc.Command = "gemma3n-therapy train full (see the run's config.yaml: " + opts.Run + ")"
	}
	n := min(finalLossSteps, len(steps))
	if n > 0 {
		total := 0.0
		for _, l := range steps[len(steps)-n:] {
			total += l
		}
		tc.FinalTrainLoss, tc.FinalLossSteps = total/float64(n), n
	}
	tc.Curve = curve
	return tc, nil
}

// readCurve reads the logged (applied) training steps and the evaluations
// of a metrics log.
func readCurve(path string) ([]CurvePoint, error) {
	recs, err := train.ReadMetrics(path)
	if err != nil {
		return nil, err
	}
	var out []CurvePoint
	for _, r := range recs {
		switch {
		case r.Applied():
			out = append(out, CurvePoint{Step: r.Step, Tokens: r.Tokens, Loss: *r.Loss})
		case r.Kind == "eval" && r.EvalLoss != nil && r.EvalSet != "":
			out = append(out, CurvePoint{Step: r.Step, Set: r.EvalSet, Loss: *r.EvalLoss})
		}
	}
	return out, nil
}

// samples generates greedy replies to the first n validation prompts of
// each source, through the safety gate.
func samples(ctx stdcontext.Context, cfgPath string, m *gemma3n.Model, tok *tokenizer.Tokenizer, b compute.Backend, n int, logger *slog.Logger) ([]Sample, error) {
	rep, err := eval.Run(ctx, eval.Options{
		ConfigOptions: stage.ConfigOptions{ConfigPath: cfgPath}, ModelInstance: m, Tokenizer: tok, BackendInstance: b, Split: string(data.SplitValidation),
		Limit: n, MaxNewTokens: 64, NoBERTScore: true, Name: "samples", Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	var out []Sample
	for _, e := range rep.Examples {
		s := Sample{Source: e.Source, ID: e.ID, Prompt: e.Context, Reference: e.Reference, Reply: e.Generated, Stopped: e.Stopped}
		if e.Safety != nil && e.Safety.Action != "" && e.Safety.Action != safety.Respond {
			s.Safety = string(e.Safety.Action)
		}
		out = append(out, s)
	}
	return out, nil
}

func backendName(cfg *config.All) string {
	if cfg.Model.Backend != "" {
		return cfg.Model.Backend
	}
	if env := os.Getenv("GOMLX_BACKEND"); env != "" {
		return env
	}
	return "go"
}

// Machine describes the computer a run is measured on: CPU model and
// the cores Go uses.
func Machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores (GOMAXPROCS), %s/%s", cpu, runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)
}

// writeCard writes card.json and README.md into dir.
func writeCard(dir string, c *Card) error {
	raw, err := c.Config.MarshalJSON()
	if err != nil {
		return err
	}
	c.RawConfig = raw
	if err := atomicfile.WriteJSON(filepath.Join(dir, CardFileName), c); err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, ReadmeFileName), []byte(c.Render()))
}

// ReadCard reads the card.json of a shipped model directory.
func ReadCard(dir string) (*Card, error) {
	path := filepath.Join(dir, CardFileName)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseCard(path, b)
}

// ParseCard decodes a card.json (name stands for it in errors), e.g. the
// embedded one of the mini preset (gemma3n.PretrainedFile).
func ParseCard(name string, b []byte) (*Card, error) {
	var c Card
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(c.RawConfig) == 0 {
		return nil, fmt.Errorf("%s: no config", name)
	}
	cfg, err := gemma3n.ParseConfig(c.RawConfig)
	if err != nil {
		return nil, fmt.Errorf("%s: config: %w", name, err)
	}
	c.Config = cfg
	return &c, nil
}

// validationLosses returns a card's validation loss by source.
func validationLosses(c *Card) map[string]float64 {
	out := map[string]float64{}
	for _, l := range c.Losses {
		if l.Split == string(data.SplitValidation) && !math.IsNaN(l.Loss) {
			out[l.Source] = l.Loss
		}
	}
	return out
}
