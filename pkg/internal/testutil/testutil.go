// Package testutil holds the helpers that the tests of several packages
// share: the test backend, comparisons of float32 values, readers of JSON,
// JSONL, CSV and safetensors files, the paths of the repository's shipped
// files, and the one copy of the fixtures several packages test with (the
// tiny Gemma 3n model and its LoRA adapter, in testdata; see its README).
//
// It is imported only by _test.go files. To stay free of import cycles it
// imports no project package but pkg/backend and pkg/safetensors, whose own
// tests therefore do not use it.
package testutil

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/backend"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/floats"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
)

// Backend is the one backend of the test binary (backend.Shared): the one
// $GOMLX_BACKEND names, SimpleGo ("go", ops run sequentially) by default.
func Backend(tb testing.TB) compute.Backend {
	tb.Helper()
	b, err := backend.Shared()
	if err != nil {
		tb.Fatalf("backend: %v", err)
	}
	return b
}

// QuietLogger discards every record.
func QuietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// MaxAbsDiff is floats.MaxAbsDiff: +Inf on a length mismatch or a NaN.
func MaxAbsDiff(a, b []float32) float64 { return floats.MaxAbsDiff(a, b) }

// MaxAbsDiffByName is the largest MaxAbsDiff between the tensors of the
// same name in a and b (as ReadFloat32Tensors returns them). The test fails
// when a is empty or when the two do not hold the same names and sizes.
func MaxAbsDiffByName(tb testing.TB, a, b map[string][]float32) float64 {
	tb.Helper()
	if len(a) != len(b) || len(a) == 0 {
		tb.Fatalf("%d and %d tensors", len(a), len(b))
	}
	worst := 0.0
	for name, x := range a {
		y, ok := b[name]
		if !ok || len(x) != len(y) {
			tb.Fatalf("tensor %s missing or of another size in the second set", name)
		}
		worst = max(worst, MaxAbsDiff(x, y))
	}
	return worst
}

// Mean is the arithmetic mean of xs (NaN for none).
func Mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// ReadFloat32Tensors reads every tensor of a safetensors file (an adapter's
// adapter_model.safetensors, say) as float32, by name. The test fails when
// the file holds none.
func ReadFloat32Tensors(tb testing.TB, path string) map[string][]float32 {
	tb.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	out := map[string][]float32{}
	for _, name := range f.Names() {
		x, err := f.Tensor(name, dtypes.Float32)
		if err != nil {
			tb.Fatal(err)
		}
		out[name] = tensors.MustCopyFlatData[float32](x)
	}
	if len(out) == 0 {
		tb.Fatalf("%s holds no tensors", path)
	}
	return out
}

// Snapshot copies the float32 values of the named variables of store
// ("/scope/name" paths); the test fails when one is missing.
func Snapshot(tb testing.TB, store *model.Store, keys ...string) map[string][]float32 {
	tb.Helper()
	out := map[string][]float32{}
	for _, key := range keys {
		v := store.GetVariable(key)
		if v == nil {
			tb.Fatalf("variable %s missing", key)
		}
		value, err := v.Value()
		if err != nil {
			tb.Fatal(err)
		}
		flat, err := tensors.CopyFlatData[float32](value)
		if err != nil {
			tb.Fatal(err)
		}
		out[key] = flat
	}
	return out
}

// ReadJSON decodes the JSON file at path into v.
func ReadJSON(tb testing.TB, path string, v any) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
}

// ReadJSONL decodes every line of a JSONL file (lines of up to 16 MiB);
// the test fails on a line that is not one JSON value of type T.
func ReadJSONL[T any](tb testing.TB, path string) []T {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			tb.Fatalf("%s line %d: %v: %s", path, len(out)+1, err, sc.Bytes())
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return out
}

// ReadCSV calls fn for every row of the CSV file at path after its header,
// with the column index of each header name. The test is skipped when the
// file cannot be opened (the shipped corpora may be absent from a copy of
// the repository) and fails on a malformed file.
func ReadCSV(tb testing.TB, path string, fn func(col map[string]int, row []string)) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Skipf("data not available: %v", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for {
		row, err := r.Read()
		if err == io.EOF {
			return
		}
		if err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		fn(col, row)
	}
}

// Shipped corpora, relative to the repository's root (see RepoPath).
const (
	CounselChatCSV  = "datasets/counselchat/20220401_counsel_chat.csv"
	AnnoMISimpleCSV = "datasets/annomi/AnnoMI-simple.csv"
)

// ShippedTexts reads the texts of the shipped corpora: CounselChat
// questions (title and text, once per question) and answers, and AnnoMI
// utterances. The test is skipped when they are absent.
func ShippedTexts(tb testing.TB) []string {
	tb.Helper()
	var texts []string
	seenQuestion := map[string]bool{}
	ReadCSV(tb, RepoPath(tb, CounselChatCSV), func(col map[string]int, row []string) {
		if q := row[col["questionID"]]; !seenQuestion[q] {
			seenQuestion[q] = true
			texts = append(texts, row[col["questionTitle"]], row[col["questionText"]])
		}
		texts = append(texts, row[col["answerText"]])
	})
	ReadCSV(tb, RepoPath(tb, AnnoMISimpleCSV), func(col map[string]int, row []string) {
		texts = append(texts, row[col["utterance_text"]])
	})
	return texts
}

const modulePath = "github.com/gemma3n-therapy/gemma3n-therapy"

var (
	rootOnce sync.Once
	root     string
	rootErr  error
)

// The shared fixtures, in this package's testdata folder.
const (
	fixturesDir        = "pkg/internal/testutil/testdata"
	tinyModelFixture   = "gemma3n-tiny"
	tinyAdapterFixture = "gemma3n-tiny-lora"
)

// Fixture joins elem to the folder of the shared fixtures
// (pkg/internal/testutil/testdata).
func Fixture(tb testing.TB, elem ...string) string {
	tb.Helper()
	return RepoPath(tb, append([]string{fixturesDir}, elem...)...)
}

// TinyModel is the directory of the tiny Gemma 3n test model: 6 layers,
// vocabulary 512, random float32 weights saved by transformers, with
// transformers' reference outputs (reference.safetensors) and a small
// Gemma-format tokenizer (tokenizer.json). It is a package-level value for
// the tests' constants, so it panics when the repository's root cannot be
// found.
func TinyModel() string { return mustFixture(tinyModelFixture) }

// TinyAdapter is the directory of a PEFT LoRA adapter for TinyModel (r=4,
// alpha=8, q/k/v/o) with PEFT's reference outputs (reference.safetensors).
func TinyAdapter() string { return mustFixture(tinyAdapterFixture) }

func mustFixture(name string) string {
	rootOnce.Do(func() { root, rootErr = findRoot() })
	if rootErr != nil {
		panic(rootErr)
	}
	return filepath.Join(root, fixturesDir, name)
}

// RepoPath joins elem to the root of the repository: the closest folder at
// or above the working directory (a test's package folder) whose go.mod
// declares this module.
func RepoPath(tb testing.TB, elem ...string) string {
	tb.Helper()
	rootOnce.Do(func() { root, rootErr = findRoot() })
	if rootErr != nil {
		tb.Fatal(rootErr)
	}
	return filepath.Join(append([]string{root}, elem...)...)
}

func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && declaresModule(b) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testutil: no go.mod of " + modulePath + " at or above the working directory")
		}
		dir = parent
	}
}

// declaresModule reports whether a go.mod's module line names modulePath.
func declaresModule(gomod []byte) bool {
	for line := range strings.Lines(string(gomod)) {
		if fields := strings.Fields(line); len(fields) == 2 && fields[0] == "module" {
			return fields[1] == modulePath
		}
	}
	return false
}

// DirFiles is every file under dir with its content, keyed by path: a
// snapshot to compare before and after a command that must write nothing.
func DirFiles(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		files[path] = string(data)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

// ChangedFiles lists, sorted, the paths added, changed or removed from one
// DirFiles snapshot to the next.
func ChangedFiles(before, after map[string]string) []string {
	var out []string
	for path, data := range after {
		if old, ok := before[path]; !ok || old != data {
			out = append(out, path)
		}
	}
	for path := range before {
		if _, ok := after[path]; !ok {
			out = append(out, path)
		}
	}
	slices.Sort(out)
	return out
}

// WantFiles reports an error for each of names (paths relative to dir)
// that does not exist.
func WantFiles(tb testing.TB, dir string, names ...string) {
	tb.Helper()
	for _, name := range names {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			tb.Error(err)
		}
	}
}
