package tokenizer

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
)

// corpusTexts reads the shipped corpus (testutil.ShippedTexts).
func corpusTexts(tb testing.TB) []string { return testutil.ShippedTexts(tb) }

func corpusSize(texts []string) (bytes int64) {
	for _, s := range texts {
		bytes += int64(len(s))
	}
	return bytes
}

// The benchmarks loop over b.N rather than b.Loop: with b.Loop the first
// entry of -cpu runs before the testing package sets GOMAXPROCS.

// BenchmarkEncodeCorpus encodes the whole shipped corpus on one goroutine.
func BenchmarkEncodeCorpus(b *testing.B) {
	benchmarkCorpus(b, func(tok *Tokenizer, texts []string) (tokens int) {
		for _, s := range texts {
			tokens += len(tok.Encode(s))
		}
		return tokens
	})
}

// BenchmarkEncodeCorpusBatch encodes the corpus with EncodeBatch on all
// GOMAXPROCS cores (run with -cpu 1,2,... to see the scaling).
func BenchmarkEncodeCorpusBatch(b *testing.B) {
	benchmarkCorpus(b, func(tok *Tokenizer, texts []string) (tokens int) {
		for _, ids := range tok.EncodeBatch(texts) {
			tokens += len(ids)
		}
		return tokens
	})
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "cores")
}

// benchmarkCorpus runs encode, which returns the number of tokens it
// produced, over the shipped corpus b.N times and reports the throughput.
func benchmarkCorpus(b *testing.B, encode func(tok *Tokenizer, texts []string) int) {
	tok := defaultTokenizer(b)
	texts := corpusTexts(b)
	b.SetBytes(corpusSize(texts))
	b.ResetTimer()
	tokens := 0
	for range b.N {
		tokens += encode(tok, texts)
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkLoad loads a model directory holding the plain 33 MB
// tokenizer.json and tokenizer_config.json, as a checkpoint ships them.
func BenchmarkLoad(b *testing.B) {
	dir := b.TempDir()
	for name, gz := range map[string][]byte{TokenizerFile: defaultTokenizerJSON, TokenizerConfigFile: defaultConfigJSON} {
		data, err := maybeGunzip(name, gz)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			b.Fatal(err)
		}
		if name == TokenizerFile {
			b.SetBytes(int64(len(data)))
		}
	}
	b.ResetTimer()
	for range b.N {
		if _, err := Load(dir); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadCompressed is the cost of Default on first use: gunzip and
// parse both embedded files.
func BenchmarkLoadCompressed(b *testing.B) {
	for range b.N {
		if _, err := Parse("tokenizer.json.gz", defaultTokenizerJSON, defaultConfigJSON); err != nil {
			b.Fatal(err)
		}
	}
}
