package sft

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// Paths of the shipped configuration and data, relative to this package.
const (
	configsDir  = "../../configs"
	datasetsDir = "../../datasets"
)

// tinyFixture is the shared 6-layer fixture model (vocabulary 512).
var tinyFixture = testutil.TinyModel()

// tinyWithoutTokenizer is the fixture model in a directory without its
// tokenizer.json, so that a run falls back to the embedded Gemma 3
// tokenizer, whose ids exceed the model's 512.
func tinyWithoutTokenizer(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"config.json", "generation_config.json", "model.safetensors"} {
		if err := os.Symlink(filepath.Join(tinyFixture, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tinyOptions are the options of a small, fast run of the tiny preset on
// the CPU: float32, sequences of at most 32 tokens (one length bucket),
// every step logged, no warmup, no dropout; overrides come last.
func tinyOptions(t testing.TB, out string, overrides ...string) Options {
	return Options{
		ConfigOptions: stage.ConfigOptions{
			ConfigPath: configsDir, Model: "tiny", DType: config.DTypeFloat32, Debug: true,
			Overrides: append([]string{
				"data.debug.max_seq_length=32",
				"training.per_device_train_batch_size=1", "training.per_device_eval_batch_size=1",
				"training.gradient_accumulation_steps=1", "training.logging_steps=1",
				"training.warmup_steps=0", "training.warmup_ratio=0",
				"lora.r=4", "lora.lora_alpha=8", "lora.lora_dropout=0",
			}, overrides...),
		},
		Out:             out,
		BackendInstance: testutil.Backend(t), Reporting: train.Reporting{NoProgress: true, Logger: testutil.QuietLogger()},
	}
}

var (
	corpusOnce  sync.Once
	corpusConvs []data.Conversation
	corpusErr   error
)

// annomiTrain returns the first n AnnoMI train conversations of the shipped
// corpus, windows of two turns (a client turn and the counsellor's answer).
func annomiTrain(t testing.TB, n int) []data.Conversation {
	t.Helper()
	corpusOnce.Do(func() {
		corpus, err := data.LoadCorpus(datasetsDir)
		if err != nil {
			corpusErr = err
			return
		}
		opts := data.DefaultOptions()
		opts.Window.ContextTurns = 2
		opts.Debug = data.DebugSizes{CounselChatQuestions: 1, AnnoMITranscripts: 2}
		p, err := corpus.Prepare(opts)
		if err != nil {
			corpusErr = err
			return
		}
		corpusConvs = p.Sets[data.SplitTrain].AnnoMI
	})
	if corpusErr != nil {
		t.Fatal(corpusErr)
	}
	if len(corpusConvs) < n {
		t.Fatalf("only %d AnnoMI train conversations, want %d", len(corpusConvs), n)
	}
	out := make([]data.Conversation, n)
	copy(out, corpusConvs[:n])
	return out
}

// writeConversations writes conversations as a JSONL file and returns its path.
func writeConversations(t testing.TB, convs []data.Conversation) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "conversations.jsonl")
	if err := data.WriteJSONL(path, convs); err != nil {
		t.Fatal(err)
	}
	return path
}

// withSplit returns copies of convs assigned to split.
func withSplit(convs []data.Conversation, split data.Split) []data.Conversation {
	out := make([]data.Conversation, len(convs))
	for i, c := range convs {
		c.Split = string(split)
		out[i] = c
	}
	return out
}

// readAdapter reads the float32 tensors of an adapter directory.
func readAdapter(t testing.TB, dir string) map[string][]float32 {
	t.Helper()
	return testutil.ReadFloat32Tensors(t, filepath.Join(dir, lora.WeightsFileName))
}

// metricRecord is the part of a metrics.jsonl line the tests look at.
type metricRecord struct {
	Kind     string   `json:"kind"`
	Step     int      `json:"step"`
	Loss     *float64 `json:"loss"`
	GradNorm *float64 `json:"grad_norm"`
	EvalSet  string   `json:"eval_set"`
	EvalLoss *float64 `json:"eval_loss"`
}

func readMetrics(t testing.TB, runDir string) []metricRecord {
	t.Helper()
	return testutil.ReadJSONL[metricRecord](t, filepath.Join(runDir, "metrics.jsonl"))
}
