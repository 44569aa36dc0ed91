package bench

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
)

func TestGenerateTiny(t *testing.T) {
	opts := DefaultGenerateOptions()
	opts.Size, opts.PromptLen, opts.NewTokens, opts.Runs = tinySize, 20, 6, 2
	opts.DType = dtypes.Float32
	r, err := Generate(testBackend(t), "go", opts)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case r.Kind != "generate" || r.Batch != 1 || r.PromptLen != 20 || r.NewTokens != 6 || r.DType != "float32":
		t.Errorf("header %+v", r)
	case !r.KVCache:
		t.Error("kv_cache false, but the benchmark decodes with the Generator's KV cache")
	case r.Run.N != 2 || r.PrefillSeconds <= 0 || r.PrefillSeconds >= r.Run.Max:
		t.Errorf("timing: run %+v, prefill %v", r.Run, r.PrefillSeconds)
	case r.TokensPerSecond <= 0 || r.DecodeTokensPerSecond <= 0 || r.FirstRunSeconds <= 0:
		t.Errorf("speeds %v, %v, first run %v", r.TokensPerSecond, r.DecodeTokensPerSecond, r.FirstRunSeconds)
	}
	var buf bytes.Buffer
	if err := r.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "KV cache: true") || !strings.Contains(buf.String(), "new tokens/s") {
		t.Errorf("text report:\n%s", buf.String())
	}
}

func TestGenerateErrors(t *testing.T) {
	opts := DefaultGenerateOptions()
	opts.Size = tinySize
	for _, change := range []func(*GenerateOptions){
		func(o *GenerateOptions) { o.NewTokens = 1 },
		func(o *GenerateOptions) { o.PromptLen = 0 },
		func(o *GenerateOptions) { o.Runs = 0 },
		func(o *GenerateOptions) { o.DType = dtypes.Int32 },
		func(o *GenerateOptions) { o.PromptLen = 5000 }, // beyond max_position_embeddings 4096
	} {
		o := opts
		change(&o)
		if _, err := Generate(testBackend(t), "go", o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

func TestRandomPrompt(t *testing.T) {
	p := randomPrompt(1000, 50, 1)
	for _, id := range p {
		if id < 3 || id >= 50 {
			t.Fatalf("id %d outside [3, 50)", id)
		}
	}
	if q := randomPrompt(1000, 50, 1); !slices.Equal(p, q) {
		t.Error("not deterministic")
	}
}
