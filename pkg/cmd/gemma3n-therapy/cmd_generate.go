package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/backend"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/chat"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/utf8check"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safety"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

func init() {
	register("generate", "continue token ids with a model (greedy or sampled)", generateUsage, runGenerate)
}

const generateUsage = "[--model DIR|mini|tiny] [--adapter DIR] (--ids FILE.json | --prompt TEXT | --messages FILE.json) --max-new-tokens N [--greedy | --temperature T [--top-k K] [--top-p P] [--seed S]] [--repetition-penalty R] [--backend CONFIG] [--no-safety-gate]"

func runGenerate(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "generate", generateUsage,
		"Continue each row of {\"input_ids\": [[...], ...]} (rows may differ in length; they are decoded as one\n"+
			"left-padded batch) and print {\"ids\": [[prompt + continuation], ...]}. Decoding stops at the model's\n"+
			"end-of-sequence ids (kept in the output) or after --max-new-tokens.\n\n"+
			"With --prompt (one client message) or --messages (a JSON list of {\"role\",\"content\"} messages, or\n"+
			"{\"messages\": [...]}), the conversation is rendered through the Gemma chat template with the\n"+
			"generation prompt and the decoded reply is printed instead, through the safety gate: a message that\n"+
			"signals a crisis gets a referral to crisis services instead of the model, a concern gets the reply with\n"+
			"crisis resources appended (package safety; resources in configs/safety.yaml).")
	df := addDecodeFlags(fs)
	idsPath := fs.String("ids", "", "JSON file {\"input_ids\": [[...], ...]}")
	promptText := fs.String("prompt", "", "a client message to reply to, through the chat template")
	messagesPath := fs.String("messages", "", "JSON file with the conversation to continue, through the chat template")
	maxNew := fs.Int("max-new-tokens", 0, "maximum number of tokens to generate per row (required)")
	minNew := fs.Int("min-new-tokens", 0, "suppress the stop ids for this many tokens")
	greedy := fs.Bool("greedy", false, "greedy decoding (the default when --temperature is 0)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("generate: unexpected argument %q", fs.Arg(0))
	}
	inputs := 0
	for _, v := range []string{*idsPath, *promptText, *messagesPath} {
		if v != "" {
			inputs++
		}
	}
	if *df.model == "" || inputs != 1 {
		return errors.New("generate: a --model (default: the embedded mini) and exactly one of --ids, --prompt or --messages are required")
	}
	if *maxNew <= 0 {
		return errors.New("generate: --max-new-tokens must be positive")
	}
	if *greedy && (*df.temperature != 0 || *df.topK != 0 || *df.topP != 0) {
		return errors.New("generate: --greedy excludes --temperature, --top-k and --top-p")
	}
	if err := df.checkSampling("generate"); err != nil {
		return err
	}
	b, m, err := df.load(ctx)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	var prompts [][]int32
	var tok *tokenizer.Tokenizer
	var decision safety.Decision
	if *idsPath != "" {
		if prompts, err = readInputIDs(*idsPath, m.Config.VocabSize, false); err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		if err := checkContext(m.Config, "input_ids", prompts, *maxNew); err != nil {
			return fmt.Errorf("generate: %s: %w", *idsPath, err)
		}
	} else {
		msgs := []data.Message{{Role: data.RoleUser, Content: *promptText}}
		if *messagesPath != "" {
			if msgs, err = readMessages(*messagesPath); err != nil {
				return fmt.Errorf("generate: %w", err)
			}
		}
		gate, err := newGate(ctx, *df.safetyConfig, *df.noGate)
		if err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		if decision = gate.Check(msgs); !decision.CallModel() {
			_, err = fmt.Fprintln(ctx.stdout, decision.Referral)
			return err
		}
		if tok, err = tokenizer.ForModel(modelDir(*df.model), m.Config.VocabSize); err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		ex, err := chat.Tokenize(tok, msgs, true)
		if err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		prompts = [][]int32{ex.IDs}
		if err := checkContext(m.Config, "the prompt", prompts, *maxNew); err != nil {
			return fmt.Errorf("generate: %w", err)
		}
	}
	// Ctrl-C, SIGTERM or SIGHUP stop the decoding after the current token;
	// nothing is printed then (the output is whole or absent).
	runCtx, stop := stopContext()
	defer stop()
	generated := 0
	out, err := m.Generate(b, prompts, gemma3n.GenerateOptions{
		MaxNewTokens:    *maxNew,
		MinNewTokens:    *minNew,
		SamplingOptions: df.sampling(),
		Seed:            *df.seed,
		OnToken: func(row int, _ int32) bool {
			if row == 0 {
				generated++
			}
			return runCtx.Err() == nil
		},
	})
	var nonFinite *gemma3n.NonFiniteLogitsError
	if errors.As(err, &nonFinite) {
		return fmt.Errorf("generate: %w; %s", err, nonFiniteCause(b, m, prompts[nonFinite.Row:nonFinite.Row+1]))
	}
	if err != nil {
		return signalled(runCtx, "generate", fmt.Errorf("generate: %w", err))
	}
	if sig := stoppedBy(runCtx); sig != nil {
		return &signalError{sig: sig, msg: fmt.Sprintf("generate: stopped by %s after %d of at most %d new tokens; nothing was printed", signalName(sig), generated, *maxNew)}
	}
	if tok != nil {
		_, err = fmt.Fprintln(ctx.stdout, decision.Finish(strings.TrimSpace(tok.Decode(out[0], true))))
		return err
	}
	rows := make([][]int32, len(prompts))
	for i := range prompts {
		rows[i] = slices.Concat(prompts[i], out[i])
	}
	data, err := json.Marshal(map[string][][]int32{"ids": rows})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(ctx.stdout, "%s\n", data)
	return err
}

// parseModelDType maps a --dtype flag to the model dtype (stage.ParseDType).
func parseModelDType(name string) (dtypes.DType, error) {
	d, err := stage.ParseDType(name)
	if err != nil {
		return dtypes.InvalidDType, fmt.Errorf("--%w", err)
	}
	return d, nil
}

// openModel opens a checkpoint directory or preset straight onto backend b
// (progress lines on stderr while it loads) and applies a PEFT adapter when
// one is given, reporting the adapter's warnings on stderr.
func openModel(ctx *runContext, b compute.Backend, model, adapterDir string, dtype dtypes.DType) (*gemma3n.Model, error) {
	progress := gemma3n.LogProgress(slog.New(slog.NewTextHandler(ctx.stderr, nil)), "loading "+model)
	m, err := gemma3n.OpenWith(model, dtype, gemma3n.WeightOptions{Backend: b, Progress: progress})
	if err != nil {
		return nil, err
	}
	if b.HasSharedBuffers() {
		backend.BoundHeapGrowth(m.Config.NumParameters() * int64(dtype.Size()))
	}
	if adapterDir != "" {
		a, err := lora.Load(m, adapterDir)
		if err != nil {
			return nil, err
		}
		for _, w := range a.Warnings() {
			fmt.Fprintln(ctx.stderr, "warning:", w)
		}
	}
	return m, nil
}

// modelDir is the directory of a --model argument, or "" for a preset.
func modelDir(model string) string {
	if gemma3n.IsPreset(model) {
		if st, err := os.Stat(model); err != nil || !st.IsDir() {
			return ""
		}
	}
	return model
}

// readMessages reads a conversation: a JSON list of messages or an object
// {"messages": [...]}.
func readMessages(path string) ([]data.Message, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if i := utf8check.FirstInvalid(raw); i >= 0 {
		line := bytes.Count(raw[:i], []byte("\n")) + 1
		return nil, fmt.Errorf("%s:%d: %w", path, line, utf8check.Line(raw[bytes.LastIndexByte(raw[:i], '\n')+1:]))
	}
	var msgs []data.Message
	if err := json.Unmarshal(raw, &msgs); err != nil {
		var obj struct {
			Messages []data.Message `json:"messages"`
		}
		if err2 := json.Unmarshal(raw, &obj); err2 != nil || obj.Messages == nil {
			return nil, fmt.Errorf("%s: want a JSON list of {\"role\",\"content\"} messages or {\"messages\": [...]}: %v", path, err)
		}
		msgs = obj.Messages
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("%s: no messages", path)
	}
	return msgs, nil
}
