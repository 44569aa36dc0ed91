package gemma3n

import (
	"slices"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
)

// TestGreedyParity reproduces the fixture's HF greedy continuation: 16 new
// tokens with EOS (id 1, the config's only stop id) suppressed throughout
// (HF generate with min_new_tokens=16).
func TestGreedyParity(t *testing.T) {
	m := loadTiny(t)
	ref := openReference(t)
	prompt := ref.ids(t, "generate_prompt")
	want := ref.ids(t, "generate_greedy")
	got, err := m.Generate(testutil.Backend(t), prompt, GenerateOptions{MaxNewTokens: 16, MinNewTokens: 16})
	if err != nil {
		t.Fatal(err)
	}
	full := slices.Concat(prompt[0], got[0])
	if !slices.Equal(full, want[0]) {
		t.Errorf("greedy continuation:\n got  %v\n want %v", full, want[0])
	}
}

// TestCachedMatchesNoCache checks that KV-cached decoding (the default)
// gives the same tokens as recomputing the whole sequence at every step,
// for ragged batches crossing the sliding window and a bucket boundary.
func TestCachedMatchesNoCache(t *testing.T) {
	m := loadTiny(t)
	ids := openReference(t).ids(t, "input_ids")
	gen, err := m.NewGenerator(testutil.Backend(t))
	if err != nil {
		t.Fatal(err)
	}
	prompts := [][]int32{ids[0][:3], ids[1], ids[0][5:16]}
	for _, opts := range []GenerateOptions{
		{MaxNewTokens: 14, MinNewTokens: 14, Bucket: 8},
		{MaxNewTokens: 10, MinNewTokens: 10, Bucket: 16, Seed: 5,
			SamplingOptions: SamplingOptions{Temperature: 1, TopK: 40, RepetitionPenalty: 1.1}},
	} {
		cached, err := gen.Generate(prompts, opts)
		if err != nil {
			t.Fatal(err)
		}
		opts.NoCache = true
		full, err := gen.Generate(prompts, opts)
		if err != nil {
			t.Fatal(err)
		}
		for i := range prompts {
			if !slices.Equal(cached[i], full[i]) {
				t.Errorf("prompt %d (%+v): cached %v, no cache %v", i, opts.SamplingOptions, cached[i], full[i])
			}
		}
	}
}

// TestGenerateBatchedMatchesSingle checks that left padding and the
// attention mask make a batched generation equal to per-prompt runs.
func TestGenerateBatchedMatchesSingle(t *testing.T) {
	m := loadTiny(t)
	ref := openReference(t)
	ids := ref.ids(t, "input_ids")
	prompts := [][]int32{ids[0][:5], ids[1][:13], ids[0][3:12]}
	opts := GenerateOptions{MaxNewTokens: 6, MinNewTokens: 6, Bucket: 8}
	gen, err := m.NewGenerator(testutil.Backend(t))
	if err != nil {
		t.Fatal(err)
	}
	batched, err := gen.Generate(prompts, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range prompts {
		single, err := gen.Generate([][]int32{p}, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(batched[i], single[0]) {
			t.Errorf("prompt %d: batched %v, alone %v", i, batched[i], single[0])
		}
	}
}

func TestGenerateStopsAndSamples(t *testing.T) {
	m := loadTiny(t)
	ref := openReference(t)
	prompt := ref.ids(t, "generate_prompt")
	gen, err := m.NewGenerator(testutil.Backend(t))
	if err != nil {
		t.Fatal(err)
	}
	greedy, err := gen.Generate(prompt, GenerateOptions{MaxNewTokens: 16, MinNewTokens: 16})
	if err != nil {
		t.Fatal(err)
	}
	// Stopping: declare the 4th greedy token a stop id.
	stopID := int(greedy[0][3])
	first := slices.Index(greedy[0], int32(stopID))
	got, err := gen.Generate(prompt, GenerateOptions{MaxNewTokens: 16, StopIDs: []int{stopID}})
	if err != nil {
		t.Fatal(err)
	}
	if want := greedy[0][:first+1]; !slices.Equal(got[0], want) {
		t.Errorf("stop on %d: got %v, want %v", stopID, got[0], want)
	}
	// Sampling is reproducible by seed and differs from greedy at a high temperature.
	opts := GenerateOptions{MaxNewTokens: 12, MinNewTokens: 12, Seed: 7,
		SamplingOptions: SamplingOptions{Temperature: 5, TopK: 50, TopP: 0.95, RepetitionPenalty: 1.3}}
	a, err := gen.Generate(prompt, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := gen.Generate(prompt, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a[0], b[0]) {
		t.Errorf("same seed, different samples: %v vs %v", a[0], b[0])
	}
	if slices.Equal(a[0], greedy[0][:12]) {
		t.Errorf("sampling at temperature 5 reproduced greedy decoding %v", a[0])
	}
}

func TestGenerateRejectsBadInput(t *testing.T) {
	m := loadTiny(t)
	b := testutil.Backend(t)
	cases := map[string]struct {
		prompts [][]int32
		opts    GenerateOptions
	}{
		"no prompts":      {nil, GenerateOptions{MaxNewTokens: 1}},
		"empty prompt":    {[][]int32{{}}, GenerateOptions{MaxNewTokens: 1}},
		"zero new tokens": {[][]int32{{2}}, GenerateOptions{}},
		"id too large":    {[][]int32{{2, 512}}, GenerateOptions{MaxNewTokens: 1}},
		"negative id":     {[][]int32{{-1}}, GenerateOptions{MaxNewTokens: 1}},
		"too long":        {[][]int32{{2}}, GenerateOptions{MaxNewTokens: 1000}},
		"bad top-p":       {[][]int32{{2}}, GenerateOptions{MaxNewTokens: 1, SamplingOptions: SamplingOptions{TopP: 2}}},
	}
	for name, c := range cases {
		if _, err := m.Generate(b, c.prompts, c.opts); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
