package eval

import (
	"path/filepath"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
)

// configsDir is the shipped configuration, relative to this package.
const configsDir = "../../configs"

// tinyFixture is the 6-layer tiny Gemma 3n of the shared fixtures
// (vocabulary 512, 256 positions) with a small byte-fallback tokenizer in
// Gemma's format; tinyAdapter a PEFT LoRA adapter for it (see
// pkg/internal/testutil/testdata/README.md).
var (
	tinyFixture = testutil.TinyModel()
	tinyAdapter = testutil.TinyAdapter()
)

// tinyOptions evaluate the tiny fixture on the debug subsets: limit
// examples per source, a few new tokens, float32.
func tinyOptions(t testing.TB, out string, limit, maxNew int) Options {
	return Options{
		ConfigOptions: stage.ConfigOptions{ConfigPath: configsDir, Model: tinyFixture, DType: config.DTypeFloat32, Debug: true},
		Limit:         limit, MaxNewTokens: maxNew, BatchSize: 4, Out: out,
		BackendInstance: testutil.Backend(t), Logger: testutil.QuietLogger(),
	}
}

// readExamples decodes examples.jsonl into the typed results.
func readExamples(t testing.TB, dir string) []ExampleResult {
	t.Helper()
	return testutil.ReadJSONL[ExampleResult](t, filepath.Join(dir, ExamplesFileName))
}
