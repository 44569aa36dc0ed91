package bench

import (
	"fmt"
	"io"
	"strings"
)

// WriteText prints the report for people.
func (r *TrainReport) WriteText(w io.Writer) error {
	p := &printer{w: w}
	p.line("bench train: %s, %s", r.Backend, r.Device)
	p.model(r.Model, r.DType)
	p.line("LoRA:          r=%d alpha=%g on %s (%d modules)", r.LoRA.R, r.LoRA.Alpha, strings.Join(r.LoRA.Targets, ","), r.LoRAModules)
	p.line("attention:     %s; gradient checkpointing %t", r.Attention, r.GradientCheckpointing)
	p.line("parameters:    %s total, %s trainable (%.2f%%)", groupDigits(r.ParamsTotal), groupDigits(r.ParamsTrainable), 100*float64(r.ParamsTrainable)/float64(max(1, r.ParamsTotal)))
	p.line("batch:         %d × %d tokens = %d tokens/step; %d warm-up + %d measured steps", r.Batch, r.Seq, r.TokensPerStep, r.Warmup, r.Steps)
	p.line("init:          %.2f s (random weights drawn where the backend keeps them)", r.InitSeconds)
	p.line("first step:    %.2f s (compile ≈ %.2f s); %d graphs compiled", r.FirstStepSeconds, r.CompileSeconds, r.Compilations)
	p.line("step time:     median %.4f s, min %.4f s, max %.4f s, mean %.4f s (n=%d)", r.Step.Median, r.Step.Min, r.Step.Max, r.Step.Mean, r.Step.N)
	p.line("throughput:    %.1f tokens/s; %s of model FLOPs (≈ %.2f GFLOP per token, see TrainFLOPsPerToken)",
		r.TokensPerSecond, flopRate(r.ModelTFLOPsPerSecond*1e12), r.FLOPsPerToken/1e9)
	if n := len(r.Losses); n > 0 {
		p.line("loss:          %.4f (first step) → %.4f (last step)", r.Losses[0], r.Losses[n-1])
	}
	p.memory(r.Memory)
	if m := r.MemoryAfterInit; m.DeviceKnown {
		p.line("after init:    device peak %s, %s in use (the weights)", gib(m.DevicePeakBytes), gib(m.DeviceInUseBytes))
	}
	return p.err
}

// WriteText prints the report for people.
func (r *GenerateReport) WriteText(w io.Writer) error {
	p := &printer{w: w}
	p.line("bench generate: %s, %s", r.Backend, r.Device)
	p.model(r.Model, r.DType)
	p.line("decode:        greedy, batch %d, prompt %d tokens, %d new tokens, %d timed run(s), KV cache: %t, length bucket %d",
		r.Batch, r.PromptLen, r.NewTokens, r.Runs, r.KVCache, r.Bucket)
	p.line("init:          %.2f s (random weights drawn where the backend keeps them)", r.InitSeconds)
	p.line("first run:     %.2f s (compiles the prefill and decode graphs)", r.FirstRunSeconds)
	p.line("run time:      median %.3f s (min %.3f s, max %.3f s); prefill (first token) %.3f s", r.Run.Median, r.Run.Min, r.Run.Max, r.PrefillSeconds)
	p.line("throughput:    %.2f new tokens/s overall, %.2f tokens/s after the first token", r.TokensPerSecond, r.DecodeTokensPerSecond)
	p.memory(r.Memory)
	return p.err
}

// WriteText prints the report for people.
func (r *ParityReport) WriteText(w io.Writer) error {
	p := &printer{w: w}
	p.line("bench parity: %s, %s, fixture %s", r.Backend, r.Device, r.Fixture)
	for _, c := range append(append([]ParityCheck(nil), r.Checks...), r.SimpleGo...) {
		verdict := "ok"
		if !c.OK {
			verdict = "FAIL"
		}
		p.line("  %-4s %-58s %-14s %.3g (tolerance %.3g)", verdict, c.Name, c.Metric, c.Value, c.Tolerance)
	}
	if r.OK {
		p.line("parity: all %d checks pass", len(r.Checks)+len(r.SimpleGo))
	} else {
		p.line("parity: FAILED: %s", strings.Join(r.Failed(), "; "))
	}
	return p.err
}

// WriteText prints the report for people.
func (r *NumericsReport) WriteText(w io.Writer) error {
	p := &printer{w: w}
	p.line("bench numerics: %s, %s", r.Backend, r.Device)
	p.model(r.Model, "float32 and bfloat16")
	p.line("training:      %d steps on one fixed batch of %d × %d %s tokens, lr %g", r.Steps, r.Batch, r.Seq, r.Data, r.LR)
	for _, run := range []NumericsRun{r.Float32, r.BFloat16} {
		first := 0.0
		if len(run.Losses) > 0 {
			first = run.Losses[0]
		}
		p.line("%-9s      loss %.5f (step 1) → %.5f after %d steps (%.1f s)", run.DType+":", first, run.FinalLoss, r.Steps, run.Seconds)
	}
	verdict := "ok"
	if !r.OK {
		verdict = "FAIL"
	}
	p.line("relative difference of the final losses: %.3g%% (tolerance %.3g%%): %s", 100*r.RelDiff, 100*r.Tolerance, verdict)
	p.memory(r.Memory)
	return p.err
}

// printer writes lines and keeps the first error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) line(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format+"\n", args...)
	}
}

func (p *printer) model(m ModelSummary, dtype string) {
	p.line("model:         %s-shaped, %s: %d layers (%d full attention, %d KV-shared), hidden %d, MLP %d, heads %d/%d×%d, vocab %d, PLE %d×%d; %s base parameters",
		m.Preset, dtype, m.Layers, m.FullAttnLayers, m.KVShared, m.Hidden, m.Intermediate, m.Heads, m.KVHeads, m.HeadDim,
		m.Vocab, m.PLEVocab, m.PLEDim, groupDigits(m.Params))
}

func (p *printer) memory(m Memory) {
	if m.DeviceKnown {
		limit := ""
		if m.DeviceLimitBytes > 0 {
			limit = fmt.Sprintf(" of %s", gib(m.DeviceLimitBytes))
		}
		p.line("device memory: peak %s in use%s (now %s)", gib(m.DevicePeakBytes), limit, gib(m.DeviceInUseBytes))
	} else {
		p.line("device memory: unknown (%s)", m.DeviceNote)
	}
	if m.HostPeakRSS > 0 {
		p.line("host memory:   peak RSS %s", gib(m.HostPeakRSS))
	}
}

func gib(bytes int64) string { return fmt.Sprintf("%.2f GiB", float64(bytes)/(1<<30)) }

// groupDigits writes n with thousands separators: 4,460,000,000.
func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// flopRate prints a FLOP/s rate in TFLOP/s, or GFLOP/s below one TFLOP/s
// (CPU backends).
func flopRate(perSecond float64) string {
	if perSecond >= 1e12 {
		return fmt.Sprintf("%.1f TFLOP/s", perSecond/1e12)
	}
	return fmt.Sprintf("%.1f GFLOP/s", perSecond/1e9)
}
