package sft

import (
	stdcontext "context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/gomlx/compute"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/chat"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/hub"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// LossOptions describe a measurement of a model's next-token loss on the
// shipped corpora (HeldOutLoss).
type LossOptions struct {
	// ConfigPath, Overrides and Debug resolve the configuration as for a
	// run (ResolveConfig): data.yaml's paths, splits, seed, quality filter
	// and windows, and model.max_seq_length.
	ConfigPath string
	Overrides  []string
	Debug      bool
	// Model names the model to load (a preset, a directory or a repo id;
	// default: model_config.yaml's), in float32; ModelInstance and
	// Tokenizer, when set, are used instead.
	Model         string
	ModelInstance *gemma3n.Model
	Tokenizer     *tokenizer.Tokenizer
	// Splits to measure (default: validation).
	Splits []data.Split
	// Limit keeps, per split and source, Limit examples spread evenly over
	// them (0: all).
	Limit int
	// BatchSize of the evaluation batches (default: training.per_device_eval_batch_size).
	BatchSize int
	// BackendInstance runs the model (default: a backend from the configuration).
	BackendInstance compute.Backend
	Hub             hub.Options
	Logger          *slog.Logger
}

// LossResult is the loss of one split of one source.
type LossResult struct {
	Split    string  `json:"split"`
	Source   string  `json:"source"`
	Examples int     `json:"examples"`
	Tokens   int64   `json:"tokens"`  // input tokens
	Targets  float64 `json:"targets"` // assistant tokens scored
	// Loss is the mean negative log-likelihood (nats) of the target tokens;
	// Accuracy the share of them that are the model's arg-max.
	Loss     float64 `json:"loss"`
	Accuracy float64 `json:"accuracy"`
}

// HeldOutLoss measures the next-token loss of a model on the assistant
// tokens of the shipped corpora, through the chat template, exactly as the
// evaluations of a training run do: CounselChat answers, and the final
// counsellor turn of each AnnoMI window of data.yaml's quality filter, cut
// to model.max_seq_length. The splits are those every stage uses (data.yaml's
// seed and ratios), so the validation split is the held-out set of
// training runs and the test split that of package eval.
func HeldOutLoss(ctx stdcontext.Context, opts LossOptions) ([]LossResult, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if opts.Limit < 0 || opts.BatchSize < 0 {
		return nil, errors.New("sft: loss: limit and batch size must be ≥ 0")
	}
	cfg, err := stage.ResolveConfig(stage.ConfigOptions{ConfigPath: opts.ConfigPath, Model: opts.Model, Debug: opts.Debug, Overrides: opts.Overrides})
	if err != nil {
		return nil, fmt.Errorf("sft: loss: configuration: %w", err)
	}
	m, tok := opts.ModelInstance, opts.Tokenizer
	if m == nil {
		lm, err := loadModel(ctx, cfg.Model.NameOrPath, config.DTypeFloat32, opts.Hub, gemma3n.WeightOptions{})
		if err != nil {
			return nil, fmt.Errorf("sft: loss: model: %w", err)
		}
		m = lm.Model
		if tok == nil {
			tok = lm.Tokenizer
		}
	} else if tok == nil {
		if tok, err = tokenizer.ForModel("", m.Config.VocabSize); err != nil {
			return nil, fmt.Errorf("sft: loss: %w", err)
		}
	}
	b := opts.BackendInstance
	if b == nil {
		if b, err = stage.NewBackend(cfg.Model.Backend); err != nil {
			return nil, fmt.Errorf("sft: loss: %w", err)
		}
	}
	prepared, err := stage.PrepareShipped(cfg, opts.Debug)
	if err != nil {
		return nil, fmt.Errorf("sft: loss: data: %w", err)
	}
	splitList := opts.Splits
	if len(splitList) == 0 {
		splitList = []data.Split{data.SplitValidation}
	}
	batch := opts.BatchSize
	if batch == 0 {
		batch = cfg.Training.PerDeviceEvalBatchSize
	}
	maxLen := cfg.Model.MaxSeqLength
	buckets := Buckets(maxLen)
	var sets []train.EvalSet
	var results []LossResult
	for _, split := range splitList {
		set := prepared.Sets[split]
		if set == nil {
			return nil, fmt.Errorf("sft: loss: no split %q", split)
		}
		for _, part := range []struct {
			source string
			convs  []data.Conversation
		}{{data.SourceCounselChat, set.CounselChat}, {data.SourceAnnoMI, set.AnnoMI}} {
			convs := spreadConversations(part.convs, opts.Limit)
			messages := make([][]data.Message, len(convs))
			for i, c := range convs {
				messages[i] = c.Messages
			}
			built, _, err := chat.BuildExamples(tok, messages, chat.Options{MaxSeqLen: maxLen, OnlyFinalTurn: OnlyFinalTurn(part.source)})
			if err != nil {
				return nil, fmt.Errorf("sft: loss: %s %s: %w", split, part.source, err)
			}
			examples := make([]train.Example, 0, len(built))
			for _, e := range built {
				examples = append(examples, train.Example{IDs: e.IDs, LossMask: e.LossMask})
			}
			if len(examples) == 0 {
				continue
			}
			src, err := train.NewLMSource(examples, train.LMSourceConfig{
				BatchSize: batch, MaxLen: maxLen, Buckets: buckets, GroupByLength: true, PadID: max(tok.PAD(), 0),
			})
			if err != nil {
				return nil, fmt.Errorf("sft: loss: %s %s: %w", split, part.source, err)
			}
			sets = append(sets, train.EvalSet{Name: string(split) + "/" + part.source, Source: src})
			results = append(results, LossResult{Split: string(split), Source: part.source, Examples: len(examples)})
		}
	}
	if len(sets) == 0 {
		return nil, errors.New("sft: loss: no examples to score")
	}
	// A trainer that never trains: its evaluation graph scores the sets.
	trainer, err := train.New(b, m.Store, train.CausalLM(logitsFn(m, cfg.Training.Packing)), sets[0].Source, train.Config{
		RunDir: "unused: the trainer only evaluates", Reporting: train.Reporting{NoProgress: true, Logger: logger},
	})
	if err != nil {
		return nil, fmt.Errorf("sft: loss: %w", err)
	}
	defer trainer.Close()
	for i, set := range sets {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		em, err := trainer.Evaluate(set)
		if err != nil {
			return nil, fmt.Errorf("sft: loss: %w", err)
		}
		r := &results[i]
		r.Tokens, r.Targets, r.Loss, r.Accuracy = em.Tokens, em.Weight, em.Loss, em.Metrics["accuracy"]
		logger.Info("sft: loss", "split", r.Split, "source", r.Source, "examples", r.Examples, "targets", r.Targets, "loss", r.Loss)
	}
	return results, nil
}

// spreadConversations keeps n conversations evenly spaced over convs (all
// when n ≤ 0 or n ≥ len(convs)).
func spreadConversations(convs []data.Conversation, n int) []data.Conversation {
	if n <= 0 || n >= len(convs) {
		return convs
	}
	out := make([]data.Conversation, n)
	for i := range n {
		out[i] = convs[i*len(convs)/n]
	}
	return out
}
