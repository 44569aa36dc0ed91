package eval

import (
	"io"
	"log/slog"
	"time"

	"github.com/gomlx/compute"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/hub"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/metrics"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

// Defaults of Options.
const (
	DefaultMaxNewTokens = 256
	DefaultBatchSize    = 8
	DefaultBucket       = 128
	// With Debug, unless set: DebugLimit examples per source and
	// DebugMaxNewTokens new tokens.
	DebugLimit        = 8
	DebugMaxNewTokens = 32
	// bertScoreChunk is the number of pairs scored per metrics.BERTScore
	// call without idf weights, so that the embeddings held at once stay
	// small (a Gemma 3n E2B token is 2048 floats).
	bertScoreChunk = 32
)

// Output file names inside Options.Out.
const (
	MetricsFileName  = "metrics.json"
	ExamplesFileName = "examples.jsonl"
)

// Options describe one evaluation. Everything has a default; Out may be
// empty to keep the results in memory only.
type Options struct {
	// ConfigOptions (ConfigPath, Overrides, Model, DType, Backend, Debug)
	// resolve the configuration (stage.ResolveConfig): its data.yaml decides
	// the splits, the AnnoMI quality filter and windows, and the debug
	// sizes; model_config.yaml the default model, dtype, backend and prompt
	// budget (max_seq_length). Model is a preset ("tiny"), a checkpoint
	// directory or a Hugging Face repo id. Debug uses data.yaml's debug
	// subsets and max_seq_length and, unless set, DebugLimit and
	// DebugMaxNewTokens. MaxSteps, a training setting, changes nothing here.
	stage.ConfigOptions
	// Adapter is a PEFT LoRA adapter directory applied to the model.
	Adapter string

	// Split is the held-out split (default "test").
	Split string
	// Sources restricts the shipped corpora: "counselchat", "annomi"
	// (default both).
	Sources []string
	// Data, when set, is a JSONL file of conversations (data.LoadConversations)
	// to evaluate instead of the shipped corpora: the conversations whose
	// "split" is Split, or all when none has a split.
	Data string
	// Conversations, when not nil, are evaluated as they are (no split
	// selection), instead of Data or the shipped corpora.
	Conversations []data.Conversation
	// Limit keeps at most Limit examples per source, spread evenly (0:
	// all).
	Limit int

	// MaxNewTokens bounds each reply (default DefaultMaxNewTokens).
	MaxNewTokens int
	// MaxPromptTokens bounds each prompt (default: model_config.yaml's
	// max_seq_length, and always what the model's positions leave after
	// MaxNewTokens); longer prompts lose their oldest turns (see FitPrompt).
	MaxPromptTokens int
	// BatchSize is the number of prompts generated together (default
	// DefaultBatchSize).
	BatchSize int
	// Bucket rounds prompt lengths up to a multiple of Bucket tokens
	// (default DefaultBucket): fewer distinct shapes mean fewer graph
	// compilations (each costs seconds for E2B on XLA), at the price of
	// padding.
	Bucket int
	// Sampling is greedy by default (zero value); Seed seeds sampling.
	Sampling gemma3n.SamplingOptions
	Seed     uint64

	// NoBERTScore skips BERTScore (the slowest measure after generation).
	NoBERTScore bool
	// BERTScoreLayer is the hidden layer of the default encoder (1..L; 0:
	// DefaultEncoderLayer). BERTScoreIDF weights tokens by idf over the
	// references. Encoder replaces the default encoder.
	BERTScoreLayer int
	BERTScoreIDF   bool
	Encoder        metrics.Encoder

	// Classifier is the MI behaviour classifier (default
	// metrics.DefaultMIClassifier); QualityWeights the weights of the
	// keyword composites (default metrics.DefaultQualityWeights).
	Classifier     *metrics.MIClassifier
	QualityWeights *metrics.QualityWeights

	// NoSafetyGate turns the safety gate off: prompts that signal a crisis
	// are answered by the model, and no resource line is appended. By
	// default the gate (package safety, resources from the configuration's
	// safety section) refers high-risk prompts without calling the model
	// and appends crisis resources to replies to prompts of concern; what
	// it did goes to Metrics.Safety. Callers that turn it off should print
	// safety.GateOffWarning.
	NoSafetyGate bool

	// Name labels the run in comparisons (default: the base name of Out).
	Name string
	// Out is the directory that receives metrics.json and examples.jsonl
	// (created if needed; existing files are replaced atomically).
	Out string

	// ModelInstance and Tokenizer, when set, are evaluated instead of
	// loading Model (e.g. the model a notebook just trained, with its
	// adapter installed; Adapter, if set, is then installed on
	// ModelInstance by lora.Load).
	// BackendInstance replaces creating a backend.
	ModelInstance   *gemma3n.Model
	Tokenizer       *tokenizer.Tokenizer
	BackendInstance compute.Backend
	// Hub configures the download of repo ids (zero: the environment).
	Hub hub.Options

	// Progress receives a progress bar (nil: none); OnProgress is called
	// after each generated batch and BERTScore chunk, e.g. to update a
	// notebook.
	Progress   io.Writer
	OnProgress func(Progress)
	// Logger receives what the run reports (nil: slog.Default()).
	Logger *slog.Logger
}

// Progress tells how far an evaluation is.
type Progress struct {
	Stage     string // StageGenerate or StageBERTScore
	Done      int    // examples done in this stage
	Total     int    // examples of this stage
	NewTokens int    // tokens generated so far
	Elapsed   time.Duration
}

// Stages of Progress.
const (
	StageGenerate  = "generate"
	StageBERTScore = "bertscore"
)
