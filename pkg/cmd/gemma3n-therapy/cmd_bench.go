package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/gomlx/compute"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/backend"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/bench"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
)

func init() {
	register("bench train", "time LoRA fine-tuning steps of a random-weight model", benchTrainUsage, runBenchTrain)
	register("bench generate", "time greedy decoding of a random-weight model", benchGenerateUsage, runBenchGenerate)
	register("bench parity", "compare the backend with the Hugging Face reference fixture", benchParityUsage, runBenchParity)
	register("bench numerics", "compare bfloat16 and float32 training losses", benchNumericsUsage, runBenchNumerics)
	register("bench matmul", "time one matrix product: the backend's own FLOP/s", benchMatMulUsage, runBenchMatMul)
}

const (
	sizeUsage          = "[--preset e2b|tiny] [--layers N --hidden D --intermediate F --heads H --kv-heads K --head-dim d --vocab V ...]"
	benchTrainUsage    = sizeUsage + " [--batch 2] [--seq 2048] [--steps 10] [--warmup 2] [--dtype bfloat16|float32] [--lora-r 64 --lora-alpha 128] [--attention fused|eager] [--gradient-checkpointing] [--backend B] [--json]"
	benchGenerateUsage = sizeUsage + " [--prompt-len 256] [--new-tokens 64] [--runs 1] [--dtype bfloat16|float32] [--backend B] [--json]"
	benchParityUsage   = "[--fixture DIR] [--compare-simplego=true] [--backend B] [--json]"
	benchMatMulUsage   = "[--m 1024 --k 1024 --n 1024] [--dtype bfloat16|float32] [--runs 5] [--backend B] [--json]"
	benchNumericsUsage = sizeUsage + " [--steps 20] [--batch 2] [--seq 1024] [--lr 1e-3] [--tolerance 0.02] [--backend B] [--json]"
)

// sizeFlags registers the model-size flags on fs.
func sizeFlags(fs *flag.FlagSet) *bench.ModelSize {
	s := &bench.ModelSize{}
	fs.StringVar(&s.Preset, "preset", bench.DefaultPreset, "architecture preset: e2b (Gemma 3n E2B text model) or tiny")
	for _, f := range []struct {
		p          *int
		name, help string
	}{
		{&s.Layers, "layers", "decoder layers (0: the preset's)"},
		{&s.Hidden, "hidden", "hidden size"},
		{&s.Intermediate, "intermediate", "MLP width of every layer"},
		{&s.Heads, "heads", "query heads"},
		{&s.KVHeads, "kv-heads", "key/value heads"},
		{&s.HeadDim, "head-dim", "head dimension"},
		{&s.Vocab, "vocab", "vocabulary size"},
		{&s.PLEVocab, "ple-vocab", "rows of the per-layer-embedding table (default min(preset's, --vocab))"},
		{&s.PLEDim, "ple-dim", "per-layer-embedding width"},
		{&s.SlidingWindow, "sliding-window", "sliding attention window"},
		{&s.LaurelRank, "laurel-rank", "LAuReL rank"},
		{&s.KVShared, "kv-shared", "KV-shared layers (-1: none; 0: the preset's share)"},
	} {
		fs.IntVar(f.p, f.name, 0, f.help)
	}
	return s
}

// benchCommon are the flags every bench command has.
type benchCommon struct {
	backend    *string
	asJSON     *bool
	quiet      *bool
	cpuProfile *string
}

func commonFlags(fs *flag.FlagSet) benchCommon {
	return benchCommon{
		backend:    fs.String("backend", "", backendHelp),
		asJSON:     fs.Bool("json", false, "print one JSON object"),
		quiet:      fs.Bool("quiet", false, "no progress lines on stderr (weights, compilation, every step)"),
		cpuProfile: fs.String("cpuprofile", "", "write a Go CPU profile of the whole benchmark to FILE (go tool pprof)"),
	}
}

// startProfile starts the CPU profile requested with --cpuprofile; the
// returned function stops it.
func (c benchCommon) startProfile() (stop func(), err error) {
	if *c.cpuProfile == "" {
		return func() {}, nil
	}
	f, err := os.Create(*c.cpuProfile)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// progress returns the logger of a benchmark's phases: stderr, with the
// time of day, so a slow phase shows while it runs.
func (c benchCommon) progress(ctx *runContext) *slog.Logger {
	if *c.quiet {
		return nil
	}
	return slog.New(slog.NewTextHandler(ctx.stderr, nil))
}

// parseBench parses args and rejects positional arguments.
func parseBench(fs *flag.FlagSet, name string, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench %s: unexpected argument %q", name, fs.Arg(0))
	}
	return nil
}

// openBenchBackend creates the backend and returns it with its configuration string.
func openBenchBackend(name, flagValue string) (compute.Backend, string, error) {
	b, err := backend.New(flagValue)
	if err != nil {
		return nil, "", fmt.Errorf("bench %s: %w", name, err)
	}
	return b, backend.Resolve(flagValue), nil
}

// textReport is what every bench report can do besides JSON.
type textReport interface {
	WriteText(w io.Writer) error
}

func printReport(w io.Writer, asJSON bool, r textReport) error {
	if !asJSON {
		return r.WriteText(w)
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", data)
	return err
}

func runBenchTrain(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "bench train", benchTrainUsage,
		"Build the Gemma 3n text model (E2B by default) with random weights on the device, install LoRA adapters\n"+
			"(q/k/v/o) and time AdamW steps of supervised fine-tuning on random tokens. Reports tokens/s, the step\n"+
			"time (median, min, max of the measured steps), the first step (compilation), peak device memory and\n"+
			"parameter counts.")
	size := sizeFlags(fs)
	def := bench.DefaultTrainOptions()
	batch := fs.Int("batch", def.Batch, "rows per step")
	seq := fs.Int("seq", def.Seq, "tokens per row")
	steps := fs.Int("steps", def.Steps, "measured steps")
	warmup := fs.Int("warmup", def.Warmup, "unmeasured steps first (≥ 1: the first compiles)")
	dtype := fs.String("dtype", "bfloat16", "weights and activations: bfloat16 or float32")
	loraR := fs.Int("lora-r", def.LoRA.R, "LoRA rank")
	loraAlpha := fs.Float64("lora-alpha", def.LoRA.Alpha, "LoRA alpha")
	targets := fs.String("lora-targets", strings.Join(def.LoRA.Targets, ","), "comma-separated LoRA target modules")
	lr := fs.Float64("lr", def.LearningRate, "AdamW learning rate")
	seed := fs.Uint64("seed", def.Seed, "seed of the weights, adapters and data")
	attn := fs.String("attention", string(gemma3n.AttentionFused), "attention kernel: fused (where it applies: flash attention on xla:cuda) or eager")
	remat := fs.Bool("gradient-checkpointing", false, "recompute every decoder layer in the backward pass (less memory)")
	common := commonFlags(fs)
	if err := parseBench(fs, "train", args); err != nil {
		return err
	}
	if *attn != string(gemma3n.AttentionFused) && *attn != string(gemma3n.AttentionEager) {
		return fmt.Errorf("bench train: --attention %q: want fused or eager", *attn)
	}
	opts := def
	opts.Size, opts.Batch, opts.Seq, opts.Steps, opts.Warmup = *size, *batch, *seq, *steps, *warmup
	opts.LoRA = bench.LoRAOptions{R: *loraR, Alpha: *loraAlpha, Targets: splitList(*targets)}
	opts.LearningRate, opts.Seed = *lr, *seed
	opts.Attention, opts.GradientCheckpointing = gemma3n.AttentionKernel(*attn), *remat
	var err error
	if opts.DType, err = stage.ParseDType(*dtype); err != nil {
		return err
	}
	b, name, err := openBenchBackend("train", *common.backend)
	if err != nil {
		return err
	}
	stop, err := common.startProfile()
	if err != nil {
		return fmt.Errorf("bench train: %w", err)
	}
	defer stop()
	opts.Progress = common.progress(ctx)
	r, err := bench.Train(b, name, opts)
	if err != nil {
		return err
	}
	return printReport(ctx.stdout, *common.asJSON, r)
}

func runBenchGenerate(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "bench generate", benchGenerateUsage,
		"Build the Gemma 3n text model (E2B by default) with random weights on the device and time greedy decoding\n"+
			"at batch 1 after a random prompt, with the model's generator (one untimed run compiles the graphs first).")
	size := sizeFlags(fs)
	def := bench.DefaultGenerateOptions()
	promptLen := fs.Int("prompt-len", def.PromptLen, "prompt tokens")
	newTokens := fs.Int("new-tokens", def.NewTokens, "tokens to generate (never stops early)")
	runs := fs.Int("runs", def.Runs, "timed runs")
	dtype := fs.String("dtype", "bfloat16", "weights and activations: bfloat16 or float32")
	seed := fs.Uint64("seed", def.Seed, "seed of the weights and the prompt")
	common := commonFlags(fs)
	if err := parseBench(fs, "generate", args); err != nil {
		return err
	}
	opts := def
	opts.Size, opts.PromptLen, opts.NewTokens, opts.Runs, opts.Seed = *size, *promptLen, *newTokens, *runs, *seed
	var err error
	if opts.DType, err = stage.ParseDType(*dtype); err != nil {
		return err
	}
	b, name, err := openBenchBackend("generate", *common.backend)
	if err != nil {
		return err
	}
	stop, err := common.startProfile()
	if err != nil {
		return fmt.Errorf("bench generate: %w", err)
	}
	defer stop()
	opts.Progress = common.progress(ctx)
	r, err := bench.Generate(b, name, opts)
	if err != nil {
		return err
	}
	return printReport(ctx.stdout, *common.asJSON, r)
}

func runBenchParity(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "bench parity", benchParityUsage,
		"Run the float32 tiny Gemma 3n fixture (saved by Hugging Face transformers) on the backend and compare logits,\n"+
			"loss, hidden states, loss gradients and the greedy continuation with the reference outputs; on a backend\n"+
			"other than SimpleGo, also compare with SimpleGo. Exits non-zero when a check fails.")
	fixture := fs.String("fixture", bench.DefaultFixture, "fixture directory (config.json, model.safetensors, "+bench.ReferenceFile+")")
	compare := fs.Bool("compare-simplego", true, "also compare with the SimpleGo backend (when another backend is tested)")
	common := commonFlags(fs)
	if err := parseBench(fs, "parity", args); err != nil {
		return err
	}
	b, name, err := openBenchBackend("parity", *common.backend)
	if err != nil {
		return err
	}
	stop, err := common.startProfile()
	if err != nil {
		return fmt.Errorf("bench parity: %w", err)
	}
	defer stop()
	var simpleGo compute.Backend
	if base, _, _ := strings.Cut(name, ":"); *compare && base != "go" && base != "simplego" {
		if simpleGo, err = backend.New("go"); err != nil {
			return fmt.Errorf("bench parity: %w", err)
		}
	}
	r, err := bench.Parity(b, name, *fixture, simpleGo)
	if err != nil {
		return err
	}
	if err := printReport(ctx.stdout, *common.asJSON, r); err != nil {
		return err
	}
	if !r.OK {
		return fmt.Errorf("bench parity: %d check(s) failed: %s", len(r.Failed()), strings.Join(r.Failed(), "; "))
	}
	return nil
}

func runBenchNumerics(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "bench numerics", benchNumericsUsage,
		"Train LoRA adapters of the random-weight model (E2B by default) twice from the same seed, in float32 and in\n"+
			"bfloat16, on one fixed batch of learnable (repeating) tokens, and compare the losses after the last step.\n"+
			"Exits non-zero when they differ by more than the tolerance.")
	size := sizeFlags(fs)
	def := bench.DefaultNumericsOptions()
	steps := fs.Int("steps", def.Warmup+def.Steps, "optimizer steps in all")
	batch := fs.Int("batch", def.Batch, "rows of the fixed batch")
	seq := fs.Int("seq", def.Seq, "tokens per row")
	loraR := fs.Int("lora-r", def.LoRA.R, "LoRA rank")
	loraAlpha := fs.Float64("lora-alpha", def.LoRA.Alpha, "LoRA alpha")
	lr := fs.Float64("lr", def.LearningRate, "AdamW learning rate")
	data := fs.String("data", def.Data, "fixed batch: repeat (learnable) or random")
	tolerance := fs.Float64("tolerance", bench.DefaultNumericsTolerance, "largest accepted relative difference of the final losses")
	seed := fs.Uint64("seed", def.Seed, "seed of the weights, adapters and data")
	common := commonFlags(fs)
	if err := parseBench(fs, "numerics", args); err != nil {
		return err
	}
	if *steps < 2 {
		return errors.New("bench numerics: --steps must be ≥ 2")
	}
	opts := def
	opts.Size, opts.Batch, opts.Seq, opts.Warmup, opts.Steps = *size, *batch, *seq, 1, *steps-1
	opts.LoRA.R, opts.LoRA.Alpha, opts.LearningRate, opts.Data, opts.Seed = *loraR, *loraAlpha, *lr, *data, *seed
	b, name, err := openBenchBackend("numerics", *common.backend)
	if err != nil {
		return err
	}
	stop, err := common.startProfile()
	if err != nil {
		return fmt.Errorf("bench numerics: %w", err)
	}
	defer stop()
	opts.Progress = common.progress(ctx)
	r, err := bench.Numerics(b, name, opts, *tolerance)
	if err != nil {
		return err
	}
	if err := printReport(ctx.stdout, *common.asJSON, r); err != nil {
		return err
	}
	if !r.OK {
		return fmt.Errorf("bench numerics: bfloat16 and float32 losses differ by %.3g%% (tolerance %.3g%%)", 100*r.RelDiff, 100*r.Tolerance)
	}
	return nil
}

// splitList splits a comma-separated flag value, dropping empty entries.
func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func runBenchMatMul(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "bench matmul", benchMatMulUsage,
		"Time the product [M, K] × [K, N] on the backend and report GFLOP/s: the ceiling for the model\n"+
			"FLOP/s that bench train reports.")
	def := bench.DefaultMatMulOptions()
	m := fs.Int("m", def.M, "rows of the left operand")
	k := fs.Int("k", def.K, "contracted dimension")
	n := fs.Int("n", def.N, "columns of the right operand")
	runs := fs.Int("runs", def.Runs, "timed runs (after one that compiles)")
	dtype := fs.String("dtype", "bfloat16", "bfloat16 or float32")
	common := commonFlags(fs)
	if err := parseBench(fs, "matmul", args); err != nil {
		return err
	}
	opts := bench.MatMulOptions{M: *m, K: *k, N: *n, Runs: *runs}
	var err error
	if opts.DType, err = stage.ParseDType(*dtype); err != nil {
		return err
	}
	b, name, err := openBenchBackend("matmul", *common.backend)
	if err != nil {
		return err
	}
	stop, err := common.startProfile()
	if err != nil {
		return fmt.Errorf("bench matmul: %w", err)
	}
	defer stop()
	r, err := bench.MatMulRate(b, name, opts)
	if err != nil {
		return err
	}
	return printReport(ctx.stdout, *common.asJSON, r)
}
