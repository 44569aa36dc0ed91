package export

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/hub"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil/modeltest"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

// The llama.cpp checks run the CPU build of llama.cpp that the npm package
// node-llama-cpp ships, through testdata/llamacpp/llama.mjs. `make test`
// installs the package (make llamacpp-deps) and sets GGUF_REQUIRE_LLAMA=1,
// which turns a missing node or package into a failure; elsewhere the
// checks are skipped with a message saying how to run them.
const (
	llamaDir        = "testdata/llamacpp"
	envRequireLlama = "GGUF_REQUIRE_LLAMA"
	// envAllTypes=1 also checks f16, bf16 and f32 with silenced GELU inputs
	// (the evidence that the f32 differences are llama.cpp's GELU table);
	// by default the suite checks the issue's two: f32 and q8_0.
	envAllTypes = "GGUF_ALL_TYPES"
)

// llamaScript returns the path of the driver script, or skips (fails when
// GGUF_REQUIRE_LLAMA=1) when node or node-llama-cpp is missing.
func llamaScript(t *testing.T) string {
	t.Helper()
	why := ""
	if _, err := exec.LookPath("node"); err != nil {
		why = "node is not on the PATH"
	} else if _, err := os.Stat(filepath.Join(llamaDir, "node_modules", "node-llama-cpp", "package.json")); err != nil {
		why = "node-llama-cpp is not installed in " + llamaDir + " (make llamacpp-deps, or: cd " + llamaDir + " && npm ci --omit=optional --ignore-scripts)"
	}
	if why != "" {
		if os.Getenv(envRequireLlama) == "1" {
			t.Fatalf("llama.cpp check required (%s=1) but %s", envRequireLlama, why)
		}
		t.Skipf("llama.cpp check skipped: %s", why)
	}
	abs, err := filepath.Abs(filepath.Join(llamaDir, "llama.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// llamaRequest is what llama.mjs reads; llamaResponse what it writes.
type llamaRequest struct {
	Model        string   `json:"model"`
	VocabOnly    bool     `json:"vocabOnly,omitempty"`
	Threads      int      `json:"threads,omitempty"`
	Vocab        int      `json:"vocab,omitempty"`
	Tokens       []int32  `json:"tokens,omitempty"`
	Greedy       int      `json:"greedy,omitempty"`
	Texts        []string `json:"texts,omitempty"`
	SpecialTexts []string `json:"specialTexts,omitempty"`
}

type llamaResponse struct {
	Tokenized        [][]int32 `json:"tokenized"`
	TokenizedSpecial [][]int32 `json:"tokenizedSpecial"`
	Greedy           []int32   `json:"greedy"`
	Positions        int       `json:"positions"`
	Vocab            int       `json:"vocab"`
	// LogProbs holds Positions rows of Vocab log-probabilities: one per
	// evaluated token, then one per greedy token but the last.
	LogProbs []float32 `json:"-"`
}

// runLlama runs llama.mjs on a request.
func runLlama(t *testing.T, script string, req llamaRequest) *llamaResponse {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "request.json"), filepath.Join(dir, "response.json")
	if err := atomicfile.WriteJSON(in, req); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", script, in, out)
	cmd.Dir = filepath.Dir(script)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("llama.cpp: %v\n%s", err, msg)
	}
	var resp llamaResponse
	if err := atomicfile.ReadJSON(out, &resp); err != nil {
		t.Fatal(err)
	}
	if raw, err := os.ReadFile(out + ".f32"); err == nil {
		resp.LogProbs = make([]float32, len(raw)/4)
		decodeFloat32s(resp.LogProbs, raw)
	}
	return &resp
}

// writeTestModel writes a random model of config cfg as a checkpoint
// directory, with weights at scales where llama.cpp's own rounding stays
// small while every tensor still moves the logits (which span several
// units): embeddings N(0, 0.1²), linear layers N(0, 0.25/in), norm weights
// and AltUp output scales 1 ± 0.2, AltUp coefficients N(0, 0.1²); the q/k
// norms at 0.5 ± 0.1, so that attention is not needlessly sharp; the norms
// after the MLP and after the per-layer input at 0.05 ± 0.01. The last
// matters because llama.cpp's CPU backend computes GELU through a float16
// table (GGML_GELU_FP16 in ggml-cpu/vec.h), about 5e-4 relative error per
// activation, and its Gaussian top-k uses the unbiased standard
// deviation: at full weight these paths alone put about 0.02 between the
// logits (measured); at 0.05 they still change the logits by far more than
// the tolerance (see TestGGUFInLlamaCpp), so their tensors are checked too.
// With silenceGELU the MLP gates and the per-layer input gates are zero:
// every GELU input is 0, exact in both implementations.
func writeTestModel(t *testing.T, cfg *gemma3n.Config, seed uint64, silenceGELU bool) string {
	t.Helper()
	dir := t.TempDir()
	var entries []safetensors.Entry
	for _, spec := range cfg.Weights() {
		n := 1
		for _, d := range spec.Shape {
			n *= d
		}
		h := fnv.New64a()
		h.Write([]byte(spec.Name))
		rng := rand.New(rand.NewPCG(seed, h.Sum64()))
		around := func(c float64) func() float64 { return func() float64 { return c * (1 + 0.2*rng.NormFloat64()) } }
		var draw func() float64
		switch name := spec.Name; {
		case strings.HasSuffix(name, "q_norm.weight") || strings.HasSuffix(name, "k_norm.weight"):
			draw = around(0.5)
		case strings.HasSuffix(name, "post_feedforward_layernorm.weight") || strings.HasSuffix(name, "post_per_layer_input_norm.weight"):
			draw = around(0.05)
		case strings.HasSuffix(name, "norm.weight") || strings.HasSuffix(name, "correct_output_scale"):
			draw = around(1)
		case strings.Contains(name, "embed_tokens") || strings.Contains(name, "_coefs"):
			draw = func() float64 { return 0.1 * rng.NormFloat64() }
		default:
			scale := 0.5 / math.Sqrt(float64(spec.Shape[len(spec.Shape)-1]))
			draw = func() float64 { return scale * rng.NormFloat64() }
		}
		vals := make([]float32, n)
		silenced := silenceGELU && (strings.HasSuffix(spec.Name, "gate_proj.weight") || strings.HasSuffix(spec.Name, "per_layer_input_gate.weight"))
		for i := range vals {
			if !silenced {
				vals[i] = float32(draw())
			}
		}
		data := make([]byte, 4*n)
		encodeFloat32s(data, vals)
		entries = append(entries, safetensors.Entry{Name: "model." + spec.Name, DType: safetensors.F32, Shape: spec.Shape, Data: data})
	}
	if err := safetensors.Write(filepath.Join(dir, safetensors.SingleFileName), entries, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.WriteJSON(filepath.Join(dir, gemma3n.ConfigFileName), cfg); err != nil {
		t.Fatal(err)
	}
	if err := writeGenerationConfig(cfg, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := writeEmbeddedTokenizer(dir, cfg.VocabSize); err != nil {
		t.Fatal(err)
	}
	return dir
}

// logSoftmax is log p of float32 logits, in float64.
func logSoftmax(logits []float32) []float64 {
	m := math.Inf(-1)
	for _, v := range logits {
		m = math.Max(m, float64(v))
	}
	var s float64
	for _, v := range logits {
		s += math.Exp(float64(v) - m)
	}
	lse := m + math.Log(s)
	out := make([]float64, len(logits))
	for i, v := range logits {
		out[i] = float64(v) - lse
	}
	return out
}

// maxLogitDiff compares rows of this project's logits with llama.cpp's
// log-probabilities: llama.cpp's logits are recovered as log p + this
// project's log-sum-exp of the row, so the difference is that of the
// log-probabilities.
func maxLogitDiff(ours [][]float32, theirs []float32, vocab int) float64 {
	worst := 0.0
	for r, row := range ours {
		lp := logSoftmax(row)
		for i, v := range lp {
			d := math.Abs(float64(theirs[r*vocab+i]) - v)
			if math.IsNaN(d) {
				return math.Inf(1)
			}
			worst = math.Max(worst, d)
		}
	}
	return worst
}

// testSequence is the fixed token sequence of the llama.cpp check: a chat
// prompt through the tiny tokenizer, then ids spread over the vocabulary
// (including the last 256, which have no per-layer embedding row of their
// own), longer than the sliding window.
func testSequence(t *testing.T, vocab int) []int32 {
	t.Helper()
	tok, err := tokenizer.Tiny()
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.EncodeWithBOS("<start_of_turn>user\nI keep putting off calling my sister and I feel awful about it.<end_of_turn>\n<start_of_turn>model\n")
	for i := range 12 {
		ids = append(ids, int32((977*i+31)%vocab))
	}
	return append(ids, int32(vocab-1), int32(vocab-200), 7, 106)
}

// ourRun is this project's side of the llama.cpp check on one model: the
// greedy continuation of the test sequence and the logits at every
// position of the sequence and of the continuation but its last token.
type ourRun struct {
	ids, greedy []int32
	rows        [][]float32
}

func runOurs(t *testing.T, dir string, ids []int32, greedy int) *ourRun {
	t.Helper()
	m, err := gemma3n.Load(dir, dtypes.Float32)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := m.Generate(testutil.Backend(t), [][]int32{ids}, gemma3n.GenerateOptions{MaxNewTokens: greedy, StopIDs: []int{}})
	if err != nil {
		t.Fatal(err)
	}
	full := append(append([]int32(nil), ids...), gen[0][:greedy-1]...)
	logits := modeltest.Logits(t, m, full)
	v := m.Config.VocabSize
	r := &ourRun{ids: ids, greedy: gen[0], rows: make([][]float32, len(full))}
	for i := range r.rows {
		r.rows[i] = logits[i*v : (i+1)*v]
	}
	return r
}

// TestGGUFInLlamaCpp exports the E2B-shaped tiny-e2b model (random weights,
// fixed seed) in every type, runs it in llama.cpp and compares: the logits
// of a fixed token sequence and of 16 greedy tokens, and those tokens.
//
// Measured with node-llama-cpp 3.21.1 (CPU), max |Δlogit| over the 38
// tokens and 16 greedy steps: f32 4.5e-4; f32 with the GELU inputs
// silenced (exact in both implementations) 9.2e-6, which leaves llama.cpp's
// float16 GELU table as the source of the rest; f16 5.2e-3; bf16 0.057;
// q8_0 0.17 — all with the 16 greedy tokens identical. The bounds below
// are those with margin; only f32 requires identical greedy tokens.
func TestGGUFInLlamaCpp(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: exports and runs a 30-layer model in llama.cpp")
	}
	script := llamaScript(t)
	cfg, err := gemma3n.Preset("tiny-e2b")
	if err != nil {
		t.Fatal(err)
	}
	if issues := LlamaCppIssues(cfg); len(issues) > 0 {
		t.Fatalf("tiny-e2b does not fit llama.cpp: %v", issues)
	}
	const greedy = 16
	ids := testSequence(t, cfg.VocabSize)
	fullDir := writeTestModel(t, cfg, 7, false)
	full := runOurs(t, fullDir, ids, greedy)
	type check struct {
		name      string
		run       *ourRun
		dir, typ  string
		tol       float64 // max |Δlogit|
		sameTurns bool    // greedy tokens must be identical
	}
	checks := []check{
		{"f32", full, fullDir, "f32", 1e-3, true},
		{"q8_0", full, fullDir, "q8_0", 0.5, false},
	}
	if os.Getenv(envAllTypes) == "1" {
		silentDir := writeTestModel(t, cfg, 7, true)
		silent := runOurs(t, silentDir, ids, greedy)
		// The GELU paths must matter: silencing them moves the logits by far
		// more than the f32 tolerance (compared on the sequence itself).
		var moved float64
		for i := range ids {
			moved = math.Max(moved, testutil.MaxAbsDiff(full.rows[i], silent.rows[i]))
		}
		if moved < 0.05 {
			t.Fatalf("the MLP and per-layer paths move the logits by only %g: the check would not see their tensors", moved)
		}
		checks = append(checks,
			check{"f32 silenced GELU", silent, silentDir, "f32", 1e-4, true},
			check{"f16", full, fullDir, "f16", 0.02, false},
			check{"bf16", full, fullDir, "bf16", 0.2, false})
	}
	for _, tc := range checks {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "model.gguf")
			res, err := ExportGGUF(t.Context(), GGUFOptions{Model: tc.dir, Out: out, Type: tc.typ, Logger: testutil.QuietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			resp := runLlama(t, script, llamaRequest{Model: out, Tokens: ids, Greedy: greedy, Vocab: cfg.VocabSize})
			if resp.Positions != len(tc.run.rows) || resp.Vocab != cfg.VocabSize || len(resp.LogProbs) != len(tc.run.rows)*cfg.VocabSize {
				t.Fatalf("llama.cpp returned %d positions of %d (want %d of %d)", resp.Positions, resp.Vocab, len(tc.run.rows), cfg.VocabSize)
			}
			same := fmt.Sprint(resp.Greedy) == fmt.Sprint(tc.run.greedy)
			// Past the first differing greedy token the two evaluate
			// different sequences: compare up to it.
			n := len(ids)
			for n < len(tc.run.rows) && resp.Greedy[n-len(ids)] == tc.run.greedy[n-len(ids)] {
				n++
			}
			d := maxLogitDiff(tc.run.rows[:n], resp.LogProbs, cfg.VocabSize)
			t.Logf("%s (%d tensors %v, %.1f MB): max |Δlogit| %.3g over %d positions; greedy tokens identical: %v",
				tc.name, res.Tensors, res.TensorTypes, float64(res.Bytes)/1e6, d, n, same)
			if !(d <= tc.tol) {
				t.Errorf("max |Δlogit| %g, want ≤ %g", d, tc.tol)
			}
			if tc.sameTurns && !same {
				t.Errorf("greedy tokens differ:\nllama.cpp %v\nthis      %v", resp.Greedy, tc.run.greedy)
			}
		})
	}
}

// corpusTexts are the texts of the tokenizer check: every CounselChat
// question (as the user turn the project builds from it) and answer, and
// every AnnoMI utterance.
func corpusTexts(t *testing.T) (names []string, sets [][]string) {
	t.Helper()
	corpus, err := data.LoadCorpus("")
	if err != nil {
		t.Fatal(err)
	}
	var questions, answers, utterances []string
	for i := range corpus.CounselChat.Questions {
		q := &corpus.CounselChat.Questions[i]
		questions = append(questions, q.Prompt())
		for _, a := range q.Answers {
			answers = append(answers, a.Text)
		}
	}
	for _, tr := range corpus.AnnoMI.Transcripts {
		for _, u := range tr.Utterances {
			utterances = append(utterances, u.Text)
		}
	}
	return []string{"CounselChat questions", "CounselChat answers", "AnnoMI utterances"}, [][]string{questions, answers, utterances}
}

// TestGGUFTokenizerInLlamaCpp checks that llama.cpp's tokenizer on the
// exported vocabulary gives this project's ids on every shipped text, for
// the tiny tokenizer (tiny-e2b) and Gemma's (E2B, a vocabulary-only file),
// and that the chat template's special tokens parse to their ids.
//
// Measured with node-llama-cpp 3.21.1: no mismatch on the 940 CounselChat
// questions, their 2,749 answers and the 9,699 AnnoMI utterances, with
// either tokenizer.
func TestGGUFTokenizerInLlamaCpp(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: tokenizes the shipped corpora in llama.cpp")
	}
	script := llamaScript(t)
	names, sets := corpusTexts(t)
	special := []string{
		"<start_of_turn>user\nI feel stuck.<end_of_turn>\n<start_of_turn>model\n",
		"<start_of_turn>user\nTabs\tand  spaces   and\n\n\nnewlines<end_of_turn>\n",
	}
	for _, model := range []string{"tiny-e2b", "e2b"} {
		t.Run(model, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "vocab.gguf")
			if _, err := ExportGGUF(t.Context(), GGUFOptions{Model: model, Out: out, VocabOnly: true, Logger: testutil.QuietLogger()}); err != nil {
				t.Fatal(err)
			}
			base, err := ResolveBase(t.Context(), model, hub.Options{})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := base.Tokenizer()
			if err != nil {
				t.Fatal(err)
			}
			var all []string
			for _, s := range sets {
				all = append(all, s...)
			}
			resp := runLlama(t, script, llamaRequest{Model: out, VocabOnly: true, Texts: all, SpecialTexts: special})
			if len(resp.Tokenized) != len(all) || len(resp.TokenizedSpecial) != len(special) {
				t.Fatalf("llama.cpp tokenized %d of %d texts", len(resp.Tokenized), len(all))
			}
			k := 0
			for si, set := range sets {
				mismatches := 0
				for _, text := range set {
					want, got := tok.Encode(text), resp.Tokenized[k]
					k++
					if fmt.Sprint(want) != fmt.Sprint(got) {
						if mismatches < 3 {
							t.Errorf("%s: %q\nllama.cpp %v\nthis      %v", names[si], truncate(text, 80), got, want)
						}
						mismatches++
					}
				}
				t.Logf("%s: %d of %d texts tokenized differently", names[si], mismatches, len(set))
			}
			for i, text := range special {
				want := tok.Encode(text) // added tokens, special ones included, are matched in the text
				if fmt.Sprint(want) != fmt.Sprint(resp.TokenizedSpecial[i]) {
					t.Errorf("special %q:\nllama.cpp %v\nthis      %v", text, resp.TokenizedSpecial[i], want)
				}
			}
		})
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
