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

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/chat"
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
	df := addDecodeFlags(fs)
	maxNew := fs.Int("max-new-tokens", 256, "longest reply in tokens")
	system := fs.String("system", "", "a system message that opens every conversation")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("chat: unexpected argument %q", fs.Arg(0))
	}
	if *df.model == "" {
		return errors.New("chat: --model is empty: name a model (default: the embedded mini)")
	}
	if *maxNew <= 0 {
		return errors.New("chat: --max-new-tokens must be positive")
	}
	if err := df.checkSampling("chat"); err != nil {
		return err
	}
	gate, err := newGate(ctx, *df.safetyConfig, *df.noGate)
	if err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	b, m, err := df.load(ctx)
	if err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	tok, err := tokenizer.ForModel(modelDir(*df.model), m.Config.VocabSize)
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
		MaxNewTokens: *maxNew, StopIDs: eval.StopIDs(m.Config, tok), Seed: *df.seed, SamplingOptions: df.sampling(),
	}
	respond := func(ctx context.Context, msgs []data.Message, out io.Writer) (string, error) {
		budget := m.Config.MaxPositionEmbeddings - *maxNew
		prompt, err := eval.FitPrompt(tok, msgs, budget)
		if err != nil || prompt.Truncated {
			// The newest turn (or the system message) does not fit whole:
			// refuse it rather than answer a message cut short.
			least := msgs[len(msgs)-1:] // what must fit: the system message, if any, and the newest turn
			if msgs[0].Role == data.RoleSystem && len(msgs) > 1 {
				least = []data.Message{msgs[0], msgs[len(msgs)-1]}
			}
			n := 0
			if ex, terr := chat.Tokenize(tok, least, true); terr == nil {
				n = len(ex.IDs)
			}
			return "", &contextError{what: "your message (with the chat template and any system message)", tokens: n, newTok: *maxNew, limit: m.Config.MaxPositionEmbeddings}
		}
		if prompt.DroppedTurns > 0 {
			fmt.Fprintf(out, "(the oldest %d exchange(s) no longer fit in the model's context of %d positions and are left out of what it sees)\n",
				prompt.DroppedTurns, m.Config.MaxPositionEmbeddings)
		}
		o := opts
		o.Seed += uint64(len(msgs)) // a new draw each turn, the same for the same conversation
		stream := newTokenStream(tok, opts.StopIDs, out)
		o.OnToken = func(_ int, id int32) bool {
			stream.add(id)
			return ctx.Err() == nil
		}
		if _, err := gen.Generate([][]int32{prompt.IDs}, o); err != nil {
			var nonFinite *gemma3n.NonFiniteLogitsError
			if errors.As(err, &nonFinite) {
				return "", fmt.Errorf("%w; %s", err, nonFiniteCause(b, m, [][]int32{prompt.IDs}))
			}
			return "", err
		}
		return stream.finish(), nil
	}
	// Ctrl-C during a reply stops the reply and returns to the prompt;
	// Ctrl-C at the prompt, SIGTERM and SIGHUP end the conversation.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, stopSignals...)
	defer signal.Stop(sigs)
	return chatLoop(sigs, ctx, gate, respond, *system)
}

// streamingResponder replies to a conversation, writing the reply to out as
// it decodes, and returns it. It stops early, returning the reply so far,
// when ctx is cancelled.
type streamingResponder func(ctx context.Context, msgs []data.Message, out io.Writer) (string, error)

// chatCommands are shown by /help and after the banner.
const chatCommands = "Commands: /reset (new conversation), /save FILE (write it as JSON), /quit."

// chatLoop runs the conversation: it reads one user turn per line of
// ctx.stdin, answers it through the gate and handles the slash commands.
// It ends at /quit or at the end of the input, or with a *signalError on
// a stop signal from sigs: SIGINT during a reply only stops that reply
// (what was shown of it stays in the history) and returns to the prompt.
func chatLoop(sigs <-chan os.Signal, ctx *runContext, gate *safety.Gate, respond streamingResponder, system string) error {
	fmt.Fprintf(ctx.stdout, "%s\n%s\n", safety.Disclaimer, chatCommands)
	newHistory := func() []data.Message {
		if system == "" {
			return nil
		}
		return []data.Message{{Role: data.RoleSystem, Content: system}}
	}
	history := newHistory()
	type input struct {
		line string
		ok   bool
		err  error
	}
	// The input is read in its own goroutine, so that a signal ends the
	// conversation while it waits for a line.
	lines := make(chan input, 1)
	next := make(chan struct{}, 1)
	go func() {
		in := bufio.NewScanner(ctx.stdin)
		in.Buffer(make([]byte, 64*1024), 1<<20)
		for range next {
			ok := in.Scan()
			lines <- input{in.Text(), ok, in.Err()}
			if !ok {
				return
			}
		}
	}()
	defer close(next)
	stopped := func(sig os.Signal) error {
		fmt.Fprintln(ctx.stdout)
		return &signalError{sig: sig, msg: "chat: stopped by " + signalName(sig)}
	}
	for {
		fmt.Fprint(ctx.stdout, "\n> ")
		next <- struct{}{}
		var in input
		select {
		case in = <-lines:
		case sig := <-sigs:
			return stopped(sig)
		}
		if !in.ok {
			fmt.Fprintln(ctx.stdout)
			return in.err
		}
		line := strings.TrimSpace(in.line)
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
		turn, sig, err := chatTurn(sigs, gate, history, func(c context.Context, msgs []data.Message) (string, error) {
			return respond(c, msgs, ctx.stdout)
		})
		var tooLong *contextError
		if errors.As(err, &tooLong) {
			fmt.Fprintf(ctx.stdout, "(not sent: %v)\n", tooLong)
			history = history[:len(history)-1]
			if sig != nil && sig != os.Interrupt {
				return stopped(sig)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("chat: %w", err)
		}
		if sig != nil && turn.ModelReply == "" {
			history = history[:len(history)-1] // nothing was said: as if the turn had not been sent
		} else {
			switch {
			case !turn.ModelCalled:
				fmt.Fprintln(ctx.stdout, turn.Reply)
			case turn.Resources != "":
				fmt.Fprintf(ctx.stdout, "\n\n%s\n", turn.Resources)
			default:
				fmt.Fprintln(ctx.stdout)
			}
			history = append(history, data.Message{Role: data.RoleAssistant, Content: turn.Reply})
		}
		switch {
		case sig == os.Interrupt:
			fmt.Fprintln(ctx.stdout, "(reply stopped)")
		case sig != nil:
			return stopped(sig)
		}
	}
}

// chatTurn answers one turn through the gate. A stop signal from sigs
// during the reply cancels it; the signal is returned with the reply so far.
func chatTurn(sigs <-chan os.Signal, gate *safety.Gate, history []data.Message, respond safety.Responder) (safety.Turn, os.Signal, error) {
	turnCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sig os.Signal
	done, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case sig = <-sigs:
			cancel()
		case <-done:
		}
	}()
	turn, err := gate.Reply(turnCtx, history, respond)
	close(done)
	<-watched
	return turn, sig, err
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
