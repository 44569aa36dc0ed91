package eval

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/chat"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/metrics"
)

// requiredKeys are the fields every line of examples.jsonl has.
var requiredKeys = []string{
	"source", "id", "group", "prompt", "reference", "context", "prompt_tokens", "prompt_dropped_turns",
	"prompt_truncated", "generated", "new_tokens", "stopped", "metrics", "behaviour", "reference_behaviour",
}

// requiredMetricKeys are the per-example metrics.
var requiredMetricKeys = []string{
	"bleu", "chrf", "rouge1", "rouge2", "rougeL", "bertscore", "therapeutic", "reference_therapeutic",
	"generated_words", "reference_words",
}

// TestRun evaluates the tiny fixture on two examples per source with four
// new tokens and checks the files against pkg/metrics on the same strings.
func TestRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "base")
	var progress []Progress
	opts := tinyOptions(t, out, 2, 4)
	opts.OnProgress = func(p Progress) { progress = append(progress, p) }
	rep, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Dir != out {
		t.Errorf("report dir %q, want %q", rep.Dir, out)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{ExamplesFileName, MetricsFileName}) {
		t.Errorf("output files %v, want exactly examples.jsonl and metrics.json (no temporary files)", names)
	}

	// examples.jsonl: every field, two examples per source.
	lines := testutil.ReadJSONL[map[string]any](t, filepath.Join(out, ExamplesFileName))
	perSource := map[string]int{}
	for i, l := range lines {
		for _, k := range requiredKeys {
			if _, ok := l[k]; !ok {
				t.Errorf("examples.jsonl line %d lacks %q", i+1, k)
			}
		}
		for _, k := range requiredMetricKeys {
			if _, ok := l["metrics"].(map[string]any)[k]; !ok {
				t.Errorf("examples.jsonl line %d lacks metrics.%s", i+1, k)
			}
		}
		src := l["source"].(string)
		perSource[src]++
		if _, ok := l["reference_gold"]; ok != (src == data.SourceAnnoMI) {
			t.Errorf("line %d (%s): reference_gold present %v", i+1, src, ok)
		}
	}
	if perSource[data.SourceCounselChat] != 2 || perSource[data.SourceAnnoMI] != 2 {
		t.Errorf("examples per source %v, want 2 each", perSource)
	}

	// The typed lines equal the report, and every metric is pkg/metrics'
	// on the same strings.
	results := readExamples(t, out)
	if len(results) != len(rep.Examples) {
		t.Fatalf("%d lines, report has %d examples", len(results), len(rep.Examples))
	}
	clf, err := metrics.DefaultMIClassifier()
	if err != nil {
		t.Fatal(err)
	}
	w := metrics.DefaultQualityWeights()
	m := loadFixture(t)
	tok := fixtureTokenizer(t)
	enc, err := NewHiddenEncoder(testutil.Backend(t), m, tok, "check", -1)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r.Generated != rep.Examples[i].Generated || r.ID != rep.Examples[i].ID {
			t.Errorf("line %d differs from the report", i+1)
		}
		if r.NewTokens < 1 || r.NewTokens > 4 || (!r.Stopped && r.NewTokens != 4) {
			t.Errorf("%s: %d new tokens, stopped %v", r.ID, r.NewTokens, r.Stopped)
		}
		if r.PromptTokens > 252 {
			t.Errorf("%s: prompt of %d tokens exceeds 256 positions − 4 new tokens", r.ID, r.PromptTokens)
		}
		if got, want := r.Metrics.TextScores, metrics.ScoreText(r.Generated, r.Reference); got != want {
			t.Errorf("%s: text scores %+v, pkg/metrics %+v", r.ID, got, want)
		}
		if !sameJSON(t, r.Metrics.Therapeutic, metrics.ScoreReply(r.Generated, r.Reference, w)) ||
			!sameJSON(t, r.Metrics.ReferenceTherapeutic, metrics.ScoreTherapeutic(r.Reference, w)) {
			t.Errorf("%s: keyword measures differ from pkg/metrics", r.ID)
		}
		if r.Context != r.Prompt[len(r.Prompt)-1].Content && !r.PromptTruncated {
			t.Errorf("%s: context %q is not the last client turn", r.ID, r.Context)
		}
		if !sameJSON(t, r.Behaviour, clf.Classify(r.Generated, r.Context)) ||
			!sameJSON(t, r.ReferenceBehaviour, clf.Classify(r.Reference, r.Context)) {
			t.Errorf("%s: behaviour differs from the classifier's", r.ID)
		}
		bs, err := metrics.BERTScore(enc, []string{r.Generated}, []string{r.Reference}, metrics.BERTScoreOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// The run encodes replies in batches, this check one by one: float32
		// embeddings agree to ~1e-7 (the SIMD kernels block by shape).
		nearF32 := func(a, b float64) bool { return math.Abs(a-b) <= 1e-6 }
		if r.Metrics.BERTScore == nil || !nearF32(r.Metrics.BERTScore.F, bs.Scores[0].F) || !nearF32(r.Metrics.BERTScore.Precision, bs.Scores[0].Precision) {
			t.Errorf("%s: BERTScore %+v, pkg/metrics %+v", r.ID, r.Metrics.BERTScore, bs.Scores[0])
		}
	}

	// metrics.json: the settings, and aggregates equal to Summarize.
	var doc map[string]any
	testutil.ReadJSON(t, filepath.Join(out, MetricsFileName), &doc)
	for _, k := range []string{"name", "model", "dtype", "backend", "tokenizer", "data", "split", "examples", "examples_digest",
		"skipped", "generation", "bertscore", "mi_classifier", "quality_weights", "overall", "by_source", "timing"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("metrics.json lacks %q", k)
		}
	}
	mt := rep.Metrics
	if mt.Name != "base" || mt.Split != "test" || mt.DType != "float32" || mt.Examples != 4 || !mt.Debug || mt.Limit != 2 {
		t.Errorf("settings %+v", mt)
	}
	if mt.BERTScore == nil || mt.BERTScore.Encoder != tinyFixture+"/layer-4" || mt.BERTScore.Layer != 4 || !strings.Contains(mt.BERTScore.Note, "same encoder") {
		t.Errorf("BERTScore settings %+v", mt.BERTScore)
	}
	if !slices.Equal(mt.Generation.StopIDs, []int{1, 5}) || mt.Generation.MaxNewTokens != 4 || !mt.Generation.Greedy {
		t.Errorf("generation settings %+v, want stop ids <eos> 1 and <end_of_turn> 5", mt.Generation)
	}
	want, err := Summarize(results)
	if err != nil {
		t.Fatal(err)
	}
	if !sameJSON(t, mt.Overall, want) || !sameJSON(t, doc["overall"], want) {
		t.Errorf("overall aggregate differs from Summarize of examples.jsonl")
	}
	for _, src := range []string{data.SourceCounselChat, data.SourceAnnoMI} {
		want, err := Summarize(ofSource(results, src))
		if err != nil {
			t.Fatal(err)
		}
		if !sameJSON(t, mt.BySource[src], want) {
			t.Errorf("%s aggregate differs from Summarize", src)
		}
	}
	if mt.BySource[data.SourceAnnoMI].MITI.ReferenceGold == nil {
		t.Errorf("AnnoMI has no gold MITI summary")
	}

	// Progress: the generation stage and the BERTScore stage, completed.
	var stages []string
	for _, p := range progress {
		if p.Done == p.Total {
			stages = append(stages, p.Stage)
		}
	}
	if !slices.Equal(stages, []string{StageGenerate, StageBERTScore}) {
		t.Errorf("completed stages %v (progress %+v)", stages, progress)
	}

	var text strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"== overall ==", "== counselchat ==", "== annomi ==", "BLEU (corpus)", "BERTScore F1", "R:Q"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("text summary lacks %q:\n%s", s, text.String())
		}
	}
}

// TestRunAdapter checks that the adapter is applied: the replies are those
// of the model with the adapter loaded by pkg/lora, generated directly on
// the same prompt.
func TestRunAdapter(t *testing.T) {
	opts := tinyOptions(t, "", 1, 3)
	opts.Adapter = tinyAdapter
	opts.Sources = []string{data.SourceAnnoMI}
	opts.NoBERTScore = true
	rep, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Dir != "" || rep.Metrics.Adapter != tinyAdapter || rep.Metrics.BERTScore != nil || len(rep.Examples) != 1 {
		t.Fatalf("report %+v", rep.Metrics)
	}
	r := rep.Examples[0]
	if r.Source != data.SourceAnnoMI || r.Metrics.BERTScore != nil {
		t.Errorf("example %+v", r)
	}
	m, err := gemma3n.Load(tinyFixture, dtypes.Float32)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lora.Load(m, tinyAdapter); err != nil {
		t.Fatal(err)
	}
	tok := fixtureTokenizer(t)
	ex, err := chat.Tokenize(tok, r.Prompt, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.IDs) != r.PromptTokens {
		t.Fatalf("prompt of %d tokens, report says %d", len(ex.IDs), r.PromptTokens)
	}
	out, err := m.Generate(testutil.Backend(t), [][]int32{ex.IDs}, gemma3n.GenerateOptions{MaxNewTokens: 3, StopIDs: []int{1, 5}})
	if err != nil {
		t.Fatal(err)
	}
	ids := out[0]
	if n := len(ids); n > 0 && (ids[n-1] == 1 || ids[n-1] == 5) {
		ids = ids[:n-1]
	}
	if want := strings.TrimSpace(tok.Decode(ids, true)); r.Generated != want || r.NewTokens != len(out[0]) {
		t.Errorf("generated %q (%d tokens), direct generation with the adapter gives %q (%d)", r.Generated, r.NewTokens, want, len(out[0]))
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(t.TempDir(), "cancelled")
	opts := tinyOptions(t, out, 1, 2)
	opts.NoBERTScore = true
	if _, err := Run(ctx, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v, want context.Canceled", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a cancelled run wrote %s", out)
	}
}

func TestRunOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"split", func(o *Options) { o.Split = "dev" }, "dev"},
		{"limit", func(o *Options) { o.Limit = -1 }, "negative"},
		{"source", func(o *Options) { o.Sources = []string{"reddit"} }, "reddit"},
		{"new tokens", func(o *Options) { o.MaxNewTokens = 256 }, "no room for a prompt"},
		{"model", func(o *Options) { o.Model = filepath.Join(t.TempDir(), "missing") }, "missing"},
		{"adapter", func(o *Options) { o.Adapter = filepath.Join(t.TempDir(), "missing") }, "adapter"},
		{"data", func(o *Options) { o.Data = filepath.Join(t.TempDir(), "none.jsonl") }, "none.jsonl"},
		{"override", func(o *Options) { o.Overrides = []string{"data.seed"} }, "key=value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tinyOptions(t, "", 1, 2)
			tc.edit(&opts)
			_, err := Run(context.Background(), opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// TestRunConversationsFile evaluates conversations of a JSONL file, where
// the "split" field selects the held-out ones.
func TestRunConversationsFile(t *testing.T) {
	dir := t.TempDir()
	convs := []data.Conversation{
		{Source: "jsonl", ID: "1", Split: "test", Messages: []data.Message{{Role: data.RoleUser, Content: "I feel stuck."}, {Role: data.RoleAssistant, Content: "Stuck in what way?"}}},
		{Source: "jsonl", ID: "2", Split: "train", Messages: []data.Message{{Role: data.RoleUser, Content: "Hi."}, {Role: data.RoleAssistant, Content: "Hello."}}},
	}
	path := filepath.Join(dir, "convs.jsonl")
	if err := data.WriteJSONL(path, convs); err != nil {
		t.Fatal(err)
	}
	opts := tinyOptions(t, "", 0, 2)
	opts.Data = path
	opts.NoBERTScore = true
	rep, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Examples) != 1 || rep.Examples[0].ID != "1" || rep.Metrics.Data != path {
		t.Fatalf("examples %+v", rep.Examples)
	}
	if _, ok := rep.Metrics.BySource["jsonl"]; !ok {
		t.Errorf("no aggregate for source jsonl: %v", rep.Metrics.BySource)
	}
}
