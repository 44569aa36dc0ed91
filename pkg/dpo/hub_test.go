package dpo

import (
	stdcontext "context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/hub"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// TestRunResolvesHubID: --model takes a Hugging Face repo id, as train sft
// does: the model and its tokenizer come from the downloaded snapshot (a
// local fake hub here; nothing touches the network).
func TestRunResolvesHubID(t *testing.T) {
	const repo = "test-org/gemma3n-tiny"
	cache := t.TempDir()
	hubOpts := hub.Options{Endpoint: testutil.FakeHub(t, repo, tinyDir), CacheDir: cache, Token: "none"}
	cfg := smallConfig(t)
	if err := cfg.Apply("dpo.reference=base", "dpo.precompute_ref_log_probs=false"); err != nil {
		t.Fatal(err)
	}
	res, err := Run(stdcontext.Background(), Options{
		Config: cfg, Model: repo, Hub: hubOpts, RunDir: t.TempDir(), MaxSteps: 1, DType: dtypes.Float32,
		Backend: testutil.Backend(t), TrainPairs: textPairs(2, "t"), Reporting: train.Reporting{NoProgress: true, Logger: testutil.QuietLogger()},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Model != repo || res.Train.Steps != 1 {
		t.Errorf("model %q, %d steps; want %s, 1 step", res.Model, res.Train.Steps, repo)
	}
	snapshot := filepath.Join(cache, "models--test-org--gemma3n-tiny", "snapshots", testutil.FakeHubCommit)
	if _, err := os.Stat(filepath.Join(snapshot, tokenizer.TokenizerFile)); err != nil {
		t.Errorf("the snapshot was not downloaded: %v", err)
	}
	// What the policy loads is the snapshot, with its tokenizer.
	lm, _, err := loadPolicy(stdcontext.Background(), Options{Model: repo, Hub: hubOpts, DType: dtypes.Float32}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if lm.Dir != snapshot {
		t.Errorf("model directory %s, want the snapshot %s", lm.Dir, snapshot)
	}
	tok, err := loadTokenizer(Options{}, lm)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(snapshot, tokenizer.TokenizerFile); tok.Name() != want {
		t.Errorf("tokenizer %q, want the snapshot's %q", tok.Name(), want)
	}
	// Offline, an id that is not in the cache is an error that names it.
	_, _, err = loadPolicy(stdcontext.Background(), Options{Model: "test-org/absent", Hub: hub.Options{CacheDir: cache, Offline: true}}, cfg)
	if err == nil || !strings.Contains(err.Error(), "test-org/absent") {
		t.Errorf("absent repo offline: %v", err)
	}
}
