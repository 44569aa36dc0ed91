package gemma3n

import (
	"os"
	"testing"
	"time"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
)

// BenchmarkFixtureForward times one float32 forward pass of the 6-layer
// fixture model on its [2, 24] reference input (graph compiled once).
func BenchmarkFixtureForward(b *testing.B) {
	m := loadTiny(b)
	ids := openReference(b).ids(b, "input_ids")
	benchForward(b, m, ids)
}

// BenchmarkTinyPresetForward times a forward pass of the tiny preset
// (8192-token vocabulary) on [1, 64] tokens.
func BenchmarkTinyPresetForward(b *testing.B) {
	cfg, _ := Preset("tiny")
	m, err := NewRandom(cfg, dtypes.Float32, 0)
	if err != nil {
		b.Fatal(err)
	}
	ids := [][]int32{make([]int32, 64)}
	for i := range ids[0] {
		ids[0][i] = int32(1000 + 37*i)
	}
	benchForward(b, m, ids)
}

// BenchmarkTinyPresetInit times NewRandom for the tiny preset.
func BenchmarkTinyPresetInit(b *testing.B) {
	cfg, _ := Preset("tiny")
	for b.Loop() {
		if _, err := NewRandom(cfg, dtypes.Float32, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func benchForward(b *testing.B, m *Model, ids [][]int32) {
	exec, err := model.NewExec(testutil.Backend(b), m.Store, func(scope *model.Scope, ids *Node) *Node {
		return m.Logits(scope, ids, nil, nil)
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := exec.Exec(ids); err != nil { // compile
		b.Fatal(err)
	}
	for b.Loop() {
		out, err := exec.Exec(ids)
		if err != nil {
			b.Fatal(err)
		}
		out[0].FinalizeAll()
	}
}

// BenchmarkGenerateTinyPreset times greedy decoding of 32 new tokens after
// a 64-token prompt with the tiny preset (per generation; see tokens/s).
func BenchmarkGenerateTinyPreset(b *testing.B) {
	cfg, _ := Preset("tiny")
	m, err := NewRandom(cfg, dtypes.Float32, 0)
	if err != nil {
		b.Fatal(err)
	}
	prompt := make([]int32, 64)
	for i := range prompt {
		prompt[i] = int32(1000 + 37*i)
	}
	for _, noCache := range []bool{false, true} {
		name := "cache"
		if noCache {
			name = "nocache"
		}
		b.Run(name, func(b *testing.B) {
			gen, err := m.NewGenerator(testutil.Backend(b))
			if err != nil {
				b.Fatal(err)
			}
			opts := GenerateOptions{MaxNewTokens: 32, MinNewTokens: 32, NoCache: noCache}
			if _, err := gen.Generate([][]int32{prompt}, opts); err != nil { // compile
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := gen.Generate([][]int32{prompt}, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(32*b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkE2BGenerate times KV-cached greedy decoding of the real E2B
// shape (random bfloat16 weights, batch 1, 256-token prompt, 128 new
// tokens), the GPU target (≥ 100 new tokens/s on an H100). It needs
// about 9 GB for the weights and runs only with GEMMA3N_BENCH_E2B=1, e.g.
//
//	GEMMA3N_BENCH_E2B=1 GOMLX_BACKEND=xla:/path/xla_cuda_plugin.so \
//	  go test ./pkg/gemma3n -run '^$' -bench E2BGenerate -benchtime 3x
func BenchmarkE2BGenerate(b *testing.B) {
	if os.Getenv("GEMMA3N_BENCH_E2B") == "" {
		b.Skip("set GEMMA3N_BENCH_E2B=1 (needs ~9 GB and an accelerator to be useful)")
	}
	m, err := NewRandom(E2BConfig(), dtypes.BFloat16, 0)
	if err != nil {
		b.Fatal(err)
	}
	prompt := make([]int32, 256)
	for i := range prompt {
		prompt[i] = int32(3 + (7919*i)%262000)
	}
	gen, err := m.NewGenerator(testutil.Backend(b))
	if err != nil {
		b.Fatal(err)
	}
	opts := GenerateOptions{MaxNewTokens: 128, MinNewTokens: 128, Bucket: 128}
	start := time.Now()
	if _, err := gen.Generate([][]int32{prompt}, opts); err != nil { // compile
		b.Fatal(err)
	}
	b.Logf("first generation (compiles prefill and decode): %s", time.Since(start))
	for b.Loop() {
		if _, err := gen.Generate([][]int32{prompt}, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(128*b.N)/b.Elapsed().Seconds(), "tokens/s")
}
