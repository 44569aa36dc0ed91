package eval

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/sft"
)

// Paths relative to this package.
const (
	configsDir = "../../configs"
	// tinyFixture is the 6-layer tiny Gemma 3n of the reference fixtures
	// (vocabulary 512, 256 positions) with a small byte-fallback tokenizer
	// in Gemma's format; tinyAdapter a PEFT LoRA adapter for it (see
	// testdata/README.md).
	tinyFixture = "testdata/gemma3n-tiny"
	tinyAdapter = "testdata/gemma3n-tiny-lora"
)

var (
	backendOnce sync.Once
	testB       backends.Backend
	testBErr    error
)

// testBackend is one backend for the test binary ($GOMLX_BACKEND, else go).
func testBackend(t testing.TB) backends.Backend {
	t.Helper()
	backendOnce.Do(func() { testB, testBErr = sft.NewBackend("") })
	if testBErr != nil {
		t.Fatalf("backend: %v", testBErr)
	}
	return testB
}

// tinyOptions evaluate the tiny fixture on the debug subsets: limit
// examples per source, a few new tokens, float32.
func tinyOptions(t testing.TB, out string, limit, maxNew int) Options {
	return Options{
		ConfigPath: configsDir, Model: tinyFixture, DType: config.DTypeFloat32, Debug: true,
		Limit: limit, MaxNewTokens: maxNew, BatchSize: 4, Out: out,
		BackendInstance: testBackend(t), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// readLines decodes every line of a JSONL file as a generic object.
func readLines(t testing.TB, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s line %d: %v", path, len(out)+1, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// readExamples decodes examples.jsonl into the typed results.
func readExamples(t testing.TB, dir string) []ExampleResult {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, ExamplesFileName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []ExampleResult
	dec := json.NewDecoder(f)
	for dec.More() {
		var r ExampleResult
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}
