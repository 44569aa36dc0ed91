package eval

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/metrics"
)

func loadFixture(t testing.TB) *gemma3n.Model {
	t.Helper()
	m, err := gemma3n.Load(tinyFixture, dtypes.Float32)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// hiddenOf runs m on ids alone (no padding) and returns the active AltUp
// stream of hidden state layer, [T][D].
func hiddenOf(t *testing.T, m *gemma3n.Model, ids []int32, layer int) [][]float32 {
	t.Helper()
	// The logits are returned too: SimpleGo fails on an executable whose
	// outputs all precede some of its parameter (weight) nodes.
	exec, err := model.NewExec(testutil.Backend(t), m.Store, func(scope *model.Scope, ids *Node) (*Node, *Node) {
		logits, hidden := m.HiddenStates(scope, ids, nil, nil)
		return logits, hidden[layer]
	})
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	out, err := exec.Exec([][]int32{ids})
	if err != nil {
		t.Fatal(err)
	}
	return out[1].Value().([][][][]float32)[m.Config.AltUpActiveIdx][0]
}

// relDiff is maxDiff relative to the largest |b|: hidden states are large
// (tens), and float32 sums over a padded batch and over one row may differ
// in their last bits (the SIMD kernels block by shape).
func relDiff(a, b [][]float32) float64 {
	scale := 0.0
	for _, row := range b {
		for _, v := range row {
			scale = max(scale, math.Abs(float64(v)))
		}
	}
	return maxDiff(a, b) / max(scale, 1)
}

func maxDiff(a, b [][]float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return math.Inf(1)
		}
		for j := range a[i] {
			d = max(d, math.Abs(float64(a[i][j]-b[i][j])))
		}
	}
	return d
}

func TestHiddenEncoder(t *testing.T) {
	m := loadFixture(t)
	tok := fixtureTokenizer(t)
	enc, err := NewHiddenEncoder(testutil.Backend(t), m, tok, "tiny-fixture", -1)
	if err != nil {
		t.Fatal(err)
	}
	if enc.Layer() != 4 || enc.Name() != "tiny-fixture/layer-4" {
		t.Errorf("layer %d name %q, want 4 and tiny-fixture/layer-4", enc.Layer(), enc.Name())
	}
	texts := []string{"Hello there, how are you feeling today?", "ok", "", strings.Repeat("long text ", 6)}
	embs, toks, err := enc.Encode(texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		ids := tok.EncodeWithBOS(text)
		if len(toks[i]) != len(ids)-1 || len(embs[i]) != len(ids)-1 {
			t.Fatalf("text %d: %d tokens and %d vectors, want %d (no <bos>)", i, len(toks[i]), len(embs[i]), len(ids)-1)
		}
		for j, id := range ids[1:] {
			if toks[i][j] != tok.IDToToken(id) {
				t.Errorf("text %d token %d = %q, want %q", i, j, toks[i][j], tok.IDToToken(id))
			}
		}
		if len(ids) == 1 {
			continue
		}
		// Padded in a batch or alone, the states are the same.
		want := hiddenOf(t, m, ids, 4)[1:]
		if d := relDiff(embs[i], want); d > 5e-5 {
			t.Errorf("text %d: states differ from the unpadded forward pass by %g (relative)", i, d)
		}
	}

	// An adapter on the model does not change the encoder (it reads the
	// base model), though it changes the model's own hidden states.
	withAdapter := loadFixture(t)
	if _, err := lora.Load(withAdapter, tinyAdapter); err != nil {
		t.Fatal(err)
	}
	ids := tok.EncodeWithBOS(texts[0])
	if d := maxDiff(hiddenOf(t, withAdapter, ids, 4), hiddenOf(t, m, ids, 4)); d < 1e-4 {
		t.Fatalf("the test adapter does not change layer 4 (max difference %g)", d)
	}
	encA, err := NewHiddenEncoder(testutil.Backend(t), withAdapter, tok, "tiny-fixture", -1)
	if err != nil {
		t.Fatal(err)
	}
	embsA, _, err := encA.Encode(texts[:1])
	if err != nil {
		t.Fatal(err)
	}
	if d := relDiff(embsA[0], embs[0]); d > 1e-5 {
		t.Errorf("encoder of the adapted model differs from the base encoder by %g (relative)", d)
	}

	// BERTScore of a text against itself is 1 (greedy matching finds each
	// token's own state).
	bs, err := metrics.BERTScore(enc, texts[:2], texts[:2], metrics.BERTScoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if bs.Layer != 4 || bs.Encoder != enc.Name() || math.Abs(bs.Mean.F-1) > 1e-6 {
		t.Errorf("self BERTScore %+v, want F = 1 from layer 4", bs)
	}

	enc.MaxTokens = 4
	_, toks, err = enc.Encode(texts[:1])
	if err != nil || len(toks[0]) != 3 {
		t.Errorf("MaxTokens 4: %d tokens (%v), want 3", len(toks[0]), err)
	}

	if _, err := NewHiddenEncoder(testutil.Backend(t), m, tok, "x", 7); err == nil || !strings.Contains(err.Error(), "0..6") {
		t.Errorf("layer 7 of 6: %v", err)
	}
}

// BenchmarkHiddenEncoder measures BERTScore's encoder on the tiny fixture:
// eight replies of about 40 tokens per Encode call.
func BenchmarkHiddenEncoder(b *testing.B) {
	m, err := gemma3n.Load(tinyFixture, dtypes.Float32)
	if err != nil {
		b.Fatal(err)
	}
	enc, err := NewHiddenEncoder(testutil.Backend(b), m, fixtureTokenizer(b), "tiny-fixture", -1)
	if err != nil {
		b.Fatal(err)
	}
	texts := make([]string, 8)
	for i := range texts {
		texts[i] = strings.Repeat("It sounds like ", i%3+1) + "you feel stuck."
	}
	if _, _, err := enc.Encode(texts); err != nil { // compile outside the timing
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := enc.Encode(texts); err != nil {
			b.Fatal(err)
		}
	}
}
