package pretrain

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/sft"
)

// File names of a shipped model directory, besides config.json and
// model.safetensors.
const (
	CardFileName   = "card.json"
	ReadmeFileName = "README.md"
	// WeightsFileName holds the bfloat16 weights.
	WeightsFileName = "model.safetensors"
)

// Card is card.json: what a shipped model is, how it was made and how it
// scores. README.md is rendered from it (Render), so the model card's
// numbers always come from the measurements.
type Card struct {
	Preset      string      `json:"preset"`
	Created     string      `json:"created"` // UTC, RFC 3339
	Parameters  int64       `json:"parameters"`
	ParamGroups ParamGroups `json:"parameter_groups"`
	// Config is the architecture; card.json holds it as config.json does
	// (RawConfig, the Hugging Face layout).
	Config       *gemma3n.Config `json:"-"`
	RawConfig    json.RawMessage `json:"config"`
	WeightsDType string          `json:"weights_dtype"`
	Data         DataCard        `json:"data"`
	Training     TrainingCard    `json:"training"`
	// Losses are measured with the shipped (bfloat16) weights, in float32,
	// on the assistant tokens of each split and source (sft.HeldOutLoss).
	Losses []sft.LossResult `json:"losses"`
	// TrainLimit is the number of training examples per source scored for
	// the train rows of Losses (spread evenly; 0: all); HeldOutLimit the
	// same for the validation and test rows (0: all, as shipped).
	TrainLimit   int `json:"train_limit"`
	HeldOutLimit int `json:"held_out_limit,omitempty"`
	// Quick are the validation losses on QuickLimit spread examples per
	// source: cheap enough for a test to measure again and compare, which
	// ties the embedded weights to this card.
	Quick      []sft.LossResult `json:"quick_validation"`
	QuickLimit int              `json:"quick_limit"`
	// Samples are greedy replies to validation prompts, through the safety gate.
	Samples []Sample `json:"samples"`
	// Reproduction is the result of rebuilding the model from scratch and
	// comparing its validation losses with these (Check); nil until checked.
	Reproduction *Reproduction `json:"reproduction,omitempty"`
}

// ParamGroups splits the parameter count.
type ParamGroups struct {
	Embedding         int64 `json:"embedding"`           // embed_tokens (tied with the LM head)
	PerLayerEmbedding int64 `json:"per_layer_embedding"` // embed_tokens_per_layer
	Decoder           int64 `json:"decoder"`             // everything else
}

// DataCard describes the training data.
type DataCard struct {
	Data         string              `json:"data"`    // sft.Options.Data of the run (corpus)
	LossOn       string              `json:"loss_on"` // of the training examples
	MaxSeqLength int                 `json:"max_seq_length"`
	Packing      bool                `json:"packing"`
	Seed         int64               `json:"split_seed"`
	Ratios       string              `json:"split_ratios"`
	Quality      string              `json:"annomi_quality_filter"` // of the held-out AnnoMI windows
	ContextTurns int                 `json:"annomi_context_turns"`
	Train        []sft.SourceSummary `json:"train"`
	TrainTokens  int                 `json:"train_tokens"`  // one epoch, input tokens
	TrainTargets int                 `json:"train_targets"` // one epoch, tokens carrying the loss
}

// TrainingCard describes the run.
type TrainingCard struct {
	Command        string  `json:"command"`
	Seed           int64   `json:"seed"`
	Steps          int     `json:"steps"`
	Tokens         int64   `json:"tokens"`
	Epochs         float64 `json:"epochs"`
	BatchRows      int     `json:"batch_rows"`
	GradAccum      int     `json:"gradient_accumulation_steps"`
	LearningRate   float64 `json:"learning_rate"`
	Schedule       string  `json:"lr_schedule"`
	WarmupSteps    int     `json:"warmup_steps"`
	WeightDecay    float64 `json:"weight_decay"`
	MaxGradNorm    float64 `json:"max_grad_norm"`
	Beta1, Beta2   float64 `json:"-"`
	Betas          string  `json:"adam_betas"`
	TrainSeconds   float64 `json:"train_seconds"`
	TokensPerSec   float64 `json:"tokens_per_sec"`
	FinalTrainLoss float64 `json:"final_train_loss"` // mean of the last logged steps (all tokens)
	FinalLossSteps int     `json:"final_train_loss_steps"`
	// Curve is the run's learning curve: every logged step's training loss
	// (all tokens) and every evaluation (assistant tokens, the first
	// examples of each validation set), from its metrics.jsonl.
	Curve   []CurvePoint `json:"curve"`
	Backend string       `json:"backend"`
	Machine string       `json:"machine"`
}

// CurvePoint is one record of a training run's metrics: a logged step
// (Set empty) or an evaluation on the validation set Set.
type CurvePoint struct {
	Step   int     `json:"step"`
	Tokens int64   `json:"tokens,omitempty"` // trained so far (logged steps)
	Set    string  `json:"set,omitempty"`
	Loss   float64 `json:"loss"`
}

// Sample is one generated reply.
type Sample struct {
	Source    string `json:"source"`
	ID        string `json:"id"`
	Prompt    string `json:"prompt"` // the client's last turn
	Reference string `json:"reference"`
	Reply     string `json:"reply"`
	Safety    string `json:"safety,omitempty"` // what the gate did, when it did something
	Stopped   bool   `json:"stopped"`
}

// Reproduction compares a rebuild with the shipped model.
type Reproduction struct {
	Created   string             `json:"created"`
	Run       string             `json:"run"`
	Command   string             `json:"command"`
	Shipped   map[string]float64 `json:"shipped_validation_loss"` // by source
	Rebuilt   map[string]float64 `json:"rebuilt_validation_loss"`
	MaxDelta  float64            `json:"max_abs_delta"`
	Tolerance float64            `json:"tolerance"`
	Passed    bool               `json:"passed"`
	Identical bool               `json:"bitwise_identical_weights"`
	Seconds   float64            `json:"train_seconds"`
	Machine   string             `json:"machine"`
}

// Loss returns the loss of one split and source (NaN if not measured).
func (c *Card) Loss(split, source string) float64 {
	for _, l := range c.Losses {
		if l.Split == split && l.Source == source {
			return l.Loss
		}
	}
	return math.NaN()
}

// randomLoss is the loss of a uniform guess over the vocabulary.
func (c *Card) randomLoss() float64 { return math.Log(float64(c.Config.VocabSize)) }

// Render returns the model card, README.md.
func (c *Card) Render() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	cfg := c.Config
	p("# %s — the embedded default model of gemma3n-therapy\n\n", c.Preset)
	p("*Generated by `gemma3n-therapy pretrain ship` from the training run and measurements below (%s); do not edit by hand.*\n\n", c.Created)
	p("A small **Gemma 3n** text decoder (%.2f M parameters) with every component of the architecture, trained from random\n", float64(c.Parameters)/1e6)
	p("weights on the **training splits only** of CounselChat and AnnoMI, on the CPU. It is the model `make train`, the\n")
	p("notebooks and `generate`, `eval` and `chat` use when no other is named (`--model %s`): small enough to fine-tune\n", c.Preset)
	p("in seconds on two cores, trained enough that fine-tuning shows real learning and its replies read as English.\n")
	p("It is **not a counsellor**: it knows the style and vocabulary of two small corpora, not how to help anyone, and\n")
	p("it makes things up. Its replies go through the project's safety gate (`pkg/safety`) wherever it talks to a person.\n\n")

	p("## Loss\n\n")
	p("Next-token loss (nats per token) on the **assistant tokens**, through the Gemma chat template, exactly as training\n")
	p("runs evaluate: CounselChat answers, and the final counsellor turn of each AnnoMI window (%d turns of context,\n", c.Data.ContextTurns)
	p("%s-quality sessions), cut to %d tokens; weights as shipped (%s), computed in float32. A uniform guess over the\n", c.Data.Quality, c.Data.MaxSeqLength, c.WeightsDType)
	p("%d-token vocabulary scores ln %d = %.2f. The validation and test splits were never trained on: they are text the\n", cfg.VocabSize, cfg.VocabSize, c.randomLoss())
	p("model never saw (the validation split is the held-out set of training runs, the test split that of `eval`).\n\n")
	p("| split | source | examples | scored tokens | loss | perplexity | next-token accuracy |\n|---|---|---:|---:|---:|---:|---:|\n")
	for _, l := range c.Losses {
		split := l.Split
		if split == "train" && c.TrainLimit > 0 {
			split = fmt.Sprintf("train (%d spread examples)", c.TrainLimit)
		} else if split != "train" && c.HeldOutLimit > 0 {
			split = fmt.Sprintf("%s (%d spread examples)", split, c.HeldOutLimit)
		}
		p("| %s | %s | %d | %.0f | **%.3f** | %.1f | %.3f |\n", split, l.Source, l.Examples, l.Targets, l.Loss, math.Exp(l.Loss), l.Accuracy)
	}
	p("\nFinal training loss (all tokens, mean of the last %d logged steps): %.3f.\n\n", c.Training.FinalLossSteps, c.Training.FinalTrainLoss)
	if rows := c.evalRows(); len(rows) > 0 {
		p("Learning curve: the loss on the assistant tokens of the first validation examples of each set, as the run\n")
		p("evaluated it (float32 weights), and the training loss of the step (all tokens):\n\n")
		p("| step | tokens | training loss | %s |\n|---:|---:|---:|%s\n", strings.Join(rows[0].sets, " | "), strings.Repeat("---:|", len(rows[0].sets)))
		for _, r := range rows {
			p("| %d | %d | %.3f |", r.step, r.tokens, r.train)
			for _, l := range r.losses {
				p(" %.3f |", l)
			}
			p("\n")
		}
		p("\n")
	}

	p("## Architecture\n\n")
	p("The Gemma 3n text decoder of `pkg/gemma3n` (Hugging Face `Gemma3nForCausalLM`), preset `%s` (`gemma3n.Preset`):\n\n", c.Preset)
	var types []string
	for _, t := range cfg.LayerTypes {
		types = append(types, strings.TrimSuffix(string(t), "_attention"))
	}
	sparse := 0
	for _, s := range cfg.ActivationSparsity {
		if s > 0 {
			sparse++
		}
	}
	p("| | |\n|---|---|\n")
	p("| parameters | %d (embedding %d, tied with the LM head; per-layer embeddings %d; decoder %d) |\n", c.Parameters, c.ParamGroups.Embedding, c.ParamGroups.PerLayerEmbedding, c.ParamGroups.Decoder)
	p("| vocabulary | %d ids: the compact tokenizer derived from Gemma's (`tokenizer.Tiny`, embedded) |\n", cfg.VocabSize)
	p("| hidden size, layers | %d, %d: %s |\n", cfg.HiddenSize, cfg.NumHiddenLayers, strings.Join(types, ", "))
	p("| attention | %d query heads, %d key/value heads of %d; sliding window %d tokens; RoPE θ %g (full) and %g (sliding) |\n", cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim, cfg.SlidingWindow, cfg.RopeThetaFull, cfg.RopeThetaSliding)
	p("| KV sharing | the last %d layers reuse the keys and values of earlier layers of their type |\n", cfg.NumKVSharedLayers)
	p("| MLP | %v, %s; Gaussian top-k activation sparsity %v on the first %d layer(s) |\n", cfg.IntermediateSize[0], cfg.HiddenActivation, maxOf(cfg.ActivationSparsity), sparse)
	p("| AltUp | %d streams (coefficient clip %g) |\n", cfg.AltUpNumInputs, cfg.AltUpCoefClip)
	p("| LAuReL | rank %d |\n", cfg.LaurelRank)
	p("| per-layer inputs | %d per layer |\n", cfg.HiddenSizePerLayerInput)
	p("| final logit soft-capping | %g |\n", cfg.FinalLogitSoftcapping)
	p("| weights | `%s` (%s safetensors, `model.` prefix), loaded with `gemma3n.Load` or `gemma3n.Open(%q, …)` |\n\n", WeightsFileName, c.WeightsDType, c.Preset)

	d := c.Data
	p("## Data\n\n")
	p("`--data %s`: the **training split** of both corpora as data.yaml cuts them (seed %d, %s by question and by\n", d.Data, d.Seed, d.Ratios)
	p("transcript, the split every stage and `eval` use), nothing of the validation or test splits. CounselChat: each\n")
	p("answer with its question. AnnoMI: each training transcript (every quality) as whole sessions cut into consecutive chunks\n")
	p("of whole exchanges that fit %d tokens, so every turn is trained once per epoch. The loss covered **%s** tokens\n", d.MaxSeqLength, d.LossOn)
	p("of the chat-templated conversations (user turns too: more English per epoch); examples packed %v into rows of %d tokens.\n\n", d.Packing, d.MaxSeqLength)
	p("| source | conversations | examples | tokens | answers truncated |\n|---|---:|---:|---:|---:|\n")
	for _, s := range d.Train {
		p("| %s | %d | %d | %d | %d |\n", s.Source, s.Conversations, s.Examples, s.Tokens, s.Truncated)
	}
	p("\nOne epoch: %d tokens.\n\n", d.TrainTokens)
	p("**Licences of the data** (`datasets/README.md`): CounselChat — MIT (Copyright (c) 2020 nbertagnolli), texts written by\n")
	p("counselchat.com's users and therapists; AnnoMI — \"Public Domain\" by its authors' only explicit statement (Wu et al.,\n")
	p("ICASSP 2022; Future Internet 2023: cite both). The tokenizer is derived from Gemma's: the Gemma Terms of Use apply to\n")
	p("it (`pkg/tokenizer/assets/tiny/NOTICE`). The weights are released with this project (MIT), subject to those terms.\n\n")

	t := c.Training
	p("## Training\n\n")
	p("```sh\n%s\n```\n\n", t.Command)
	p("| | |\n|---|---|\n")
	p("| initialisation | random, seed %d (N(0, 0.02) matrices, norms at 1) |\n", t.Seed)
	p("| steps, tokens, epochs | %d optimizer steps, %d tokens, %.2f epochs |\n", t.Steps, t.Tokens, t.Epochs)
	p("| batch | %d rows of %d tokens × %d accumulation |\n", t.BatchRows, d.MaxSeqLength, t.GradAccum)
	p("| optimizer | AdamW (betas %s), peak learning rate %g, %s schedule after %d warm-up steps, weight decay %g on matrices only, gradient clipping at %g |\n", t.Betas, t.LearningRate, t.Schedule, t.WarmupSteps, t.WeightDecay, t.MaxGradNorm)
	p("| precision | float32 master weights and compute; shipped in %s |\n", c.WeightsDType)
	p("| time | %.0f s of training (%.0f tokens/s) on %s, backend %s |\n\n", t.TrainSeconds, t.TokensPerSec, t.Machine, t.Backend)

	p("## Reproducibility\n\n")
	if r := c.Reproduction; r != nil {
		verdict := "within"
		if !r.Passed {
			verdict = "NOT within"
		}
		p("Checked on %s: `make pretrain-check` retrained the model from scratch (`%s`, %.0f s on %s) and measured\n", r.Created, r.Command, r.Seconds, r.Machine)
		p("its validation loss the same way; it lands %s %.2f nats of the shipped model's (largest difference %.2g):\n\n", verdict, r.Tolerance, r.MaxDelta)
		p("| source | shipped | rebuilt |\n|---|---:|---:|\n")
		for _, src := range sortedKeys(r.Shipped) {
			p("| %s | %.4f | %.4f |\n", src, r.Shipped[src], r.Rebuilt[src])
		}
		if r.Identical {
			p("\nThe rebuilt weights were bitwise identical to the shipped ones: on the pure-Go backend the run is deterministic\n")
			p("(fixed seed, data order and reduction order).\n")
		}
		p("\n")
	} else {
		p("Not yet checked: `make pretrain-check` retrains the model from scratch with the same command and seed and compares\n")
		p("its validation loss with the one above (tolerance 0.05 nats), recording the result here.\n\n")
	}

	p("## Sample replies\n\n")
	p("Greedy replies of the shipped model to validation prompts it never saw, through the safety gate:\n\n")
	for _, s := range c.Samples {
		p("- **%s %s** — client: “%s”\n  - reference: “%s”\n  - %s: “%s”%s\n", s.Source, s.ID, clip(s.Prompt, 240), clip(s.Reference, 240), c.Preset, clip(s.Reply, 400), gateNote(s))
	}
	p("\n")
	return b.String()
}

func gateNote(s Sample) string {
	if s.Safety == "" {
		return ""
	}
	return " (safety gate: " + s.Safety + ")"
}

func maxOf(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// clip shortens text to at most n runes on one line, marking the cut.
func clip(text string, n int) string {
	r := []rune(strings.Join(strings.Fields(text), " "))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n]) + " …"
}

// evalRow is one evaluation step of the learning curve.
type evalRow struct {
	step   int
	tokens int64
	train  float64
	sets   []string
	losses []float64
}

// evalRows groups the curve's evaluations by step, with the training loss
// and tokens of the step logged last before them.
func (c *Card) evalRows() []evalRow {
	var rows []evalRow
	var last CurvePoint
	for _, pt := range c.Training.Curve {
		if pt.Set == "" {
			last = pt
			continue
		}
		if len(rows) == 0 || rows[len(rows)-1].step != pt.Step {
			rows = append(rows, evalRow{step: pt.Step, tokens: last.Tokens, train: last.Loss})
		}
		r := &rows[len(rows)-1]
		r.sets, r.losses = append(r.sets, pt.Set), append(r.losses, pt.Loss)
	}
	return rows
}
