package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/backend"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/eval"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safety"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

func init() {
	register("chat", "talk with a model in the terminal, through the safety gate", chatUsage, runChat)
}

const chatUsage = "[--model M] [--adapter A] [--max-new-tokens N] [--temperature T [--top-k K] [--top-p P] [--seed S]] [--system TEXT] [--no-safety-gate] [--backend B]"

func runChat(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "chat", chatUsage,
		"Talk with a model: each line you type is a user turn, and the model's reply streams as it decodes. The\n"+
			"conversation keeps its history; /reset starts a new one, /save FILE writes it as {\"messages\": [...]}\n"+
			"(readable by 'generate --messages'), /quit ends. Every turn goes through the safety gate: a message that\n"+
			"signals a crisis gets a referral to crisis services instead of the model, and the conversation stays in\n"+
			"crisis mode until /reset; a concern gets the reply with crisis resources appended.")
	model := fs.String("model", gemma3n.MiniName, modelHelp)
	adapterDir := fs.String("adapter", "", "PEFT LoRA adapter directory to apply on top of --model")
	maxNew := fs.Int("max-new-tokens", 256, "longest reply in tokens")
	temperature := fs.Float64("temperature", 0, "sampling temperature (0: greedy)")
	topK := fs.Int("top-k", 0, "sample among the K most likely tokens (0: all)")
	topP := fs.Float64("top-p", 0, "nucleus sampling probability mass (0 or 1: all)")
	penalty := fs.Float64("repetition-penalty", 0, "penalty > 1 for tokens already in the sequence (0 or 1: none)")
	seed := fs.Uint64("seed", 0, "random seed for sampling")
	system := fs.String("system", "", "a system message that opens every conversation")
	dtypeName := fs.String("dtype", "float32", "weight and activation dtype: float32 or bfloat16")
	backendFlag := fs.String("backend", "", backendHelp)
	noGate := fs.Bool("no-safety-gate", false, noGateHelp)
	safetyConfig := fs.String("safety-config", "", safetyConfigHelp)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("chat: unexpected argument %q", fs.Arg(0))
	}
	if *model == "" {
		return errors.New("chat: --model is empty: name a model (default: the embedded mini)")
	}
	if *maxNew <= 0 {
		return errors.New("chat: --max-new-tokens must be positive")
	}
	if *temperature == 0 && (*topK != 0 || *topP != 0) {
		return errors.New("chat: --top-k and --top-p need --temperature > 0")
	}
	gate, err := newGate(ctx, *safetyConfig, *noGate)
	if err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	dtype, err := parseModelDType(*dtypeName)
	if err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	b, err := backend.New(*backendFlag)
	if err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	m, err := openModel(ctx, *model, *adapterDir, dtype)
	if err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	tok, err := tokenizer.ForModel(modelDir(*model), m.Config.VocabSize)
	if err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	if *maxNew >= m.Config.MaxPositionEmbeddings {
		return fmt.Errorf("chat: --max-new-tokens %d leaves no room for a prompt in the model's %d positions", *maxNew, m.Config.MaxPositionEmbeddings)
	}
	gen, err := m.NewGenerator(b)
	if err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	opts := gemma3n.GenerateOptions{
		MaxNewTokens: *maxNew, StopIDs: eval.StopIDs(m.Config, tok), Seed: *seed,
		SamplingOptions: gemma3n.SamplingOptions{Temperature: *temperature, TopK: *topK, TopP: *topP, RepetitionPenalty: *penalty},
	}
	respond := func(ctx context.Context, msgs []data.Message, out io.Writer) (string, error) {
		prompt, err := eval.FitPrompt(tok, msgs, m.Config.MaxPositionEmbeddings-*maxNew)
		if err != nil {
			return "", err
		}
		o := opts
		o.Seed += uint64(len(msgs)) // a new draw each turn, the same for the same conversation
		stream := newTokenStream(tok, opts.StopIDs, out)
		o.OnToken = func(_ int, id int32) bool {
			stream.add(id)
			return ctx.Err() == nil
		}
		if _, err := gen.Generate([][]int32{prompt.IDs}, o); err != nil {
			return "", err
		}
		return stream.finish(), nil
	}
	sigCtx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return chatLoop(sigCtx, ctx, gate, respond, *system)
}

// streamingResponder replies to a conversation, writing the reply to out as
// it decodes, and returns it.
type streamingResponder func(ctx context.Context, msgs []data.Message, out io.Writer) (string, error)

// chatCommands are shown by /help and after the banner.
const chatCommands = "Commands: /reset (new conversation), /save FILE (write it as JSON), /quit."

// chatLoop runs the conversation: it reads one user turn per line of
// ctx.stdin, answers it through the gate and handles the slash commands.
// It ends at /quit or at the end of the input.
func chatLoop(sig context.Context, ctx *runContext, gate *safety.Gate, respond streamingResponder, system string) error {
	fmt.Fprintf(ctx.stdout, "%s\n%s\n", safety.Disclaimer, chatCommands)
	newHistory := func() []data.Message {
		if system == "" {
			return nil
		}
		return []data.Message{{Role: data.RoleSystem, Content: system}}
	}
	history := newHistory()
	in := bufio.NewScanner(ctx.stdin)
	in.Buffer(make([]byte, 64*1024), 1<<20)
	for {
		fmt.Fprint(ctx.stdout, "\n> ")
		if !in.Scan() {
			fmt.Fprintln(ctx.stdout)
			return in.Err()
		}
		line := strings.TrimSpace(in.Text())
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "/") {
			cmd, arg, _ := strings.Cut(line, " ")
			switch cmd {
			case "/quit", "/exit":
				return nil
			case "/reset":
				history = newHistory()
				fmt.Fprintln(ctx.stdout, "(new conversation)")
			case "/save":
				if err := saveConversation(strings.TrimSpace(arg), history); err != nil {
					fmt.Fprintf(ctx.stdout, "(not saved: %v)\n", err)
				} else {
					fmt.Fprintf(ctx.stdout, "(saved %d messages to %s)\n", len(history), strings.TrimSpace(arg))
				}
			case "/help":
				fmt.Fprintln(ctx.stdout, chatCommands)
			default:
				fmt.Fprintf(ctx.stdout, "(unknown command %s) %s\n", cmd, chatCommands)
			}
			continue
		}
		history = append(history, data.Message{Role: data.RoleUser, Content: line})
		turn, err := gate.Reply(sig, history, func(c context.Context, msgs []data.Message) (string, error) {
			return respond(c, msgs, ctx.stdout)
		})
		if err != nil {
			return fmt.Errorf("chat: %w", err)
		}
		switch {
		case !turn.ModelCalled:
			fmt.Fprintln(ctx.stdout, turn.Reply)
		case turn.Resources != "":
			fmt.Fprintf(ctx.stdout, "\n\n%s\n", turn.Resources)
		default:
			fmt.Fprintln(ctx.stdout)
		}
		history = append(history, data.Message{Role: data.RoleAssistant, Content: turn.Reply})
		if sig.Err() != nil {
			return sig.Err()
		}
	}
}

// saveConversation writes the history as {"messages": [...]}, atomically.
func saveConversation(path string, history []data.Message) error {
	if path == "" {
		return errors.New("give a file name: /save FILE")
	}
	msgs := history
	if msgs == nil {
		msgs = []data.Message{}
	}
	raw, err := json.MarshalIndent(map[string][]data.Message{"messages": msgs}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, append(raw, '\n'))
}

// tokenStream prints a reply as its tokens decode. Decoding token by token
// can split a character or a word piece, so it decodes everything so far
// and prints what is new once the text only grows.
type tokenStream struct {
	tok     *tokenizer.Tokenizer
	stop    []int
	out     io.Writer
	ids     []int32
	printed string
}

func newTokenStream(tok *tokenizer.Tokenizer, stop []int, out io.Writer) *tokenStream {
	return &tokenStream{tok: tok, stop: stop, out: out}
}

func (s *tokenStream) add(id int32) {
	if slices.Contains(s.stop, int(id)) {
		return
	}
	s.ids = append(s.ids, id)
	s.flush(false)
}

func (s *tokenStream) flush(final bool) {
	text := strings.TrimLeft(s.tok.Decode(s.ids, true), " \n")
	if !final {
		// Hold back a trailing replacement character: the rest of a
		// multi-byte character may follow.
		text = strings.TrimRight(text, "\uFFFD")
	}
	if strings.HasPrefix(text, s.printed) && len(text) > len(s.printed) {
		fmt.Fprint(s.out, text[len(s.printed):])
		s.printed = text
	}
}

// finish prints what is left and returns the whole reply.
func (s *tokenStream) finish() string {
	s.flush(true)
	return strings.TrimSpace(s.tok.Decode(s.ids, true))
}
