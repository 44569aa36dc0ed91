package sft

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
)

// Paths of the shipped configuration and data, relative to this package.
const (
	configsDir  = "../../configs"
	datasetsDir = "../../datasets"
	// tinyFixture is pkg/gemma3n's 6-layer fixture model (vocabulary 512).
	tinyFixture = "../gemma3n/testdata/gemma3n-tiny"
)

var (
	backendOnce sync.Once
	testB       backends.Backend
	testBErr    error
)

// testBackend is one backend for the test binary (from $GOMLX_BACKEND, go
// by default), so that runs share it.
func testBackend(t testing.TB) backends.Backend {
	t.Helper()
	backendOnce.Do(func() { testB, testBErr = NewBackend("") })
	if testBErr != nil {
		t.Fatalf("backend: %v", testBErr)
	}
	return testB
}

// tinyOptions are the options of a small, fast run of the tiny preset on
// the CPU: float32, sequences of at most 32 tokens (one length bucket),
// every step logged, no warmup, no dropout; overrides come last.
func tinyOptions(t testing.TB, out string, overrides ...string) Options {
	return Options{
		ConfigPath: configsDir, Model: "tiny", DType: config.DTypeFloat32, Debug: true, Out: out,
		BackendInstance: testBackend(t), NoProgress: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Overrides: append([]string{
			"data.debug.max_seq_length=32",
			"training.per_device_train_batch_size=1", "training.per_device_eval_batch_size=1",
			"training.gradient_accumulation_steps=1", "training.logging_steps=1",
			"training.warmup_steps=0", "training.warmup_ratio=0",
			"lora.r=4", "lora.lora_alpha=8", "lora.lora_dropout=0",
		}, overrides...),
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
	f, err := safetensors.Open(filepath.Join(dir, lora.WeightsFileName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]float32{}
	for _, name := range f.Names() {
		x, err := f.Tensor(name, dtypes.Float32)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = tensors.MustCopyFlatData[float32](x)
	}
	if len(out) == 0 {
		t.Fatalf("%s holds no tensors", dir)
	}
	return out
}

// maxAbsDiff compares two adapters tensor by tensor; names must agree.
func maxAbsDiff(t testing.TB, a, b map[string][]float32) float64 {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("adapters have %d and %d tensors", len(a), len(b))
	}
	worst := 0.0
	for name, x := range a {
		y, ok := b[name]
		if !ok || len(x) != len(y) {
			t.Fatalf("tensor %s missing or of another size in the second adapter", name)
		}
		for i := range x {
			worst = math.Max(worst, math.Abs(float64(x[i])-float64(y[i])))
		}
	}
	return worst
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
	f, err := os.Open(filepath.Join(runDir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []metricRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r metricRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("metrics.jsonl: %v: %s", err, sc.Text())
		}
		recs = append(recs, r)
	}
	return recs
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
