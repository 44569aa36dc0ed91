package chat

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

// Example is a tokenized conversation ready for training.
type Example struct {
	IDs []int32 // starting with <bos>
	// LossMask[i] is true where IDs[i] is to be learned: the content of the
	// model turns and their closing <end_of_turn> (so the model learns to
	// stop); false on <bos>, the user turns and the turn headers.
	LossMask []bool
	// Text is the rendered conversation the ids encode (for a truncated
	// example, the decoded ids).
	Text string

	Index        int  // of the conversation in the input of BuildExamples
	DroppedTurns int  // oldest user+model turn pairs left out to fit MaxSeqLen
	Truncated    bool // the final model turn was cut to fit MaxSeqLen
}

// Trainable returns the number of tokens the loss is computed on.
func (e *Example) Trainable() int {
	n := 0
	for _, m := range e.LossMask {
		if m {
			n++
		}
	}
	return n
}

// Options control how conversations become training examples.
type Options struct {
	// MaxSeqLen bounds the number of tokens of an example; 0 means no
	// bound. Oldest turns are dropped first (whole user+model pairs; the
	// system message stays), then the final model turn is truncated.
	MaxSeqLen int
	// OnlyFinalTurn puts the loss on the final model turn only (for
	// windows cut from a longer session, whose earlier counsellor turns
	// are context, not targets).
	OnlyFinalTurn bool
}

// ErrNoTrainableToken is returned for a conversation whose prompt alone
// fills MaxSeqLen, so that not one token of the answer would be learned.
var ErrNoTrainableToken = errors.New("the prompt alone fills max_seq_length: no trainable token left")

// encoder tokenizes the pieces of the template. The text between special
// tokens is encoded piece by piece; this equals encoding the whole rendered
// string because Gemma matches the special tokens and "\n" as added tokens
// before BPE (so the text splits at each of them anyway), and trimmed
// contents cannot start or end with a newline that would join them.
type encoder struct {
	tok             *tokenizer.Tokenizer
	bos, start, end int32
	modelHead       []int32 // "model\n"
	newline         []int32 // "\n"
}

func newEncoder(tok *tokenizer.Tokenizer) (*encoder, error) {
	e := &encoder{tok: tok, bos: tok.BOS(), start: tok.StartOfTurn(), end: tok.EndOfTurn()}
	for name, id := range map[string]int32{BOS: e.bos, StartOfTurn: e.start, EndOfTurn: e.end} {
		if id < 0 {
			return nil, fmt.Errorf("tokenizer %s has no %s token: not a Gemma chat tokenizer", tok.Name(), name)
		}
	}
	e.modelHead = tok.Encode(ModelRole + "\n")
	e.newline = tok.Encode("\n")
	return e, nil
}

// encodedTurn is a turn's ids, split where the loss may begin.
type encodedTurn struct {
	head []int32 // <start_of_turn>, role, "\n" (and, for a user turn, all of it)
	body []int32 // model content and <end_of_turn>: the trainable part
	tail []int32 // "\n"
}

func (t encodedTurn) len() int { return len(t.head) + len(t.body) + len(t.tail) }

func (e *encoder) encodeTurn(t turn, prefix string) encodedTurn {
	if t.role == UserRole {
		head := append([]int32{e.start}, e.tok.Encode(UserRole+"\n"+prefix+t.body)...)
		return encodedTurn{head: append(head, e.end), tail: e.newline}
	}
	head := append([]int32{e.start}, e.modelHead...)
	body := append(e.tok.Encode(t.body), e.end)
	return encodedTurn{head: head, body: body, tail: e.newline}
}

// assemble concatenates turns after <bos>; trainable says which model turns
// carry the loss.
func (e *encoder) assemble(turns []encodedTurn, trainable func(i int) bool, genPrompt bool) ([]int32, []bool) {
	n := 1
	for _, t := range turns {
		n += t.len()
	}
	if genPrompt {
		n += 1 + len(e.modelHead)
	}
	ids := make([]int32, 0, n)
	mask := make([]bool, 0, n)
	add := func(part []int32, on bool) {
		ids = append(ids, part...)
		for range part {
			mask = append(mask, on)
		}
	}
	add([]int32{e.bos}, false)
	for i, t := range turns {
		add(t.head, false)
		add(t.body, trainable(i))
		add(t.tail, false)
	}
	if genPrompt {
		add([]int32{e.start}, false)
		add(e.modelHead, false)
	}
	return ids, mask
}

// Tokenize renders and tokenizes a conversation without any length limit:
// the loss mask covers every model turn. The conversation may end with
// either role; addGenerationPrompt appends "<start_of_turn>model\n"
// (not trainable).
func Tokenize(tok *tokenizer.Tokenizer, messages []data.Message, addGenerationPrompt bool) (Example, error) {
	c, err := parse(messages)
	if err != nil {
		return Example{}, err
	}
	e, err := newEncoder(tok)
	if err != nil {
		return Example{}, err
	}
	turns := make([]encodedTurn, len(c.turns))
	for i, t := range c.turns {
		turns[i] = e.encodeTurn(t, c.prefixFor(i, 0))
	}
	ids, mask := e.assemble(turns, func(int) bool { return true }, addGenerationPrompt)
	return Example{IDs: ids, LossMask: mask, Text: c.render(0, addGenerationPrompt)}, nil
}

// prefixFor returns the system prefix if turn i is the first one rendered.
func (c conversation) prefixFor(i, first int) string {
	if i == first {
		return c.systemPrefix
	}
	return ""
}

// NewExample turns a conversation that ends with the model's (assistant's)
// turn into a training example, applying the length policy of opts. It
// returns ErrNoTrainableToken (wrapped) when no answer token fits.
func NewExample(tok *tokenizer.Tokenizer, messages []data.Message, opts Options) (Example, error) {
	e, err := newEncoder(tok)
	if err != nil {
		return Example{}, err
	}
	return e.example(messages, opts)
}

func (e *encoder) example(messages []data.Message, opts Options) (Example, error) {
	c, err := parse(messages)
	if err != nil {
		return Example{}, err
	}
	last := len(c.turns) - 1
	if c.turns[last].role != ModelRole {
		return Example{}, fmt.Errorf("message %d: a training conversation must end with an assistant message", c.turns[last].index)
	}
	turns := make([]encodedTurn, len(c.turns))
	for i, t := range c.turns {
		turns[i] = e.encodeTurn(t, "")
	}

	// Drop the oldest user+model pairs until the rest fits. The final "\n"
	// is not counted: it is cut before anything else.
	first := 0
	if opts.MaxSeqLen > 0 {
		suffix := 0 // tokens of turns after the candidate first user turn
		for i := 1; i <= last; i++ {
			suffix += turns[i].len()
		}
		for {
			head := turns[first]
			if c.systemPrefix != "" {
				head = e.encodeTurn(c.turns[first], c.systemPrefix)
			}
			if 1+head.len()+suffix-len(e.newline) <= opts.MaxSeqLen || first+2 > last {
				turns[first] = head
				break
			}
			suffix -= turns[first+1].len() + turns[first+2].len()
			first += 2
		}
	} else if c.systemPrefix != "" {
		turns[0] = e.encodeTurn(c.turns[0], c.systemPrefix)
	}

	kept := turns[first:]
	trainable := func(i int) bool { return !opts.OnlyFinalTurn || first+i == last }
	ids, mask := e.assemble(kept, trainable, false)
	ex := Example{IDs: ids, LossMask: mask, DroppedTurns: first / 2, Text: c.render(first, false)}
	if opts.MaxSeqLen > 0 && len(ids) > opts.MaxSeqLen {
		for _, m := range mask[opts.MaxSeqLen:] {
			ex.Truncated = ex.Truncated || m
		}
		ex.IDs, ex.LossMask = ids[:opts.MaxSeqLen], mask[:opts.MaxSeqLen]
		if ex.Truncated {
			ex.Text = e.tok.Decode(ex.IDs, false)
		} else {
			// Only the final newline, after the last <end_of_turn>, was cut.
			ex.Text = strings.TrimSuffix(ex.Text, "\n")
		}
	}
	if ex.Trainable() == 0 {
		final := kept[len(kept)-1]
		prompt := len(ids) - len(final.body) - len(final.tail)
		return Example{}, fmt.Errorf("%w (%d prompt tokens, max %d)", ErrNoTrainableToken, prompt, opts.MaxSeqLen)
	}
	return ex, nil
}

// Stats count what BuildExamples did.
type Stats struct {
	Conversations    int // input conversations
	Kept             int // examples produced
	WithDroppedTurns int // examples that lost their oldest turns to MaxSeqLen
	DroppedTurns     int // user+model pairs dropped in all
	Truncated        int // examples whose final model turn was cut
	SkippedTooLong   int // conversations whose prompt alone fills MaxSeqLen
	SkippedInvalid   int // conversations the template rejects
	Tokens           int // tokens of the kept examples
	TrainableTokens  int // of which carry the loss
	// Errors holds the first few reasons for skipped conversations,
	// "conversation N: ...".
	Errors []string
}

// maxStatErrors bounds Stats.Errors.
const maxStatErrors = 10

// BuildExamples converts conversations into training examples on all
// cores. Examples come in the order of the input (skipped conversations
// leave no gap; Example.Index tells where each came from).
func BuildExamples(tok *tokenizer.Tokenizer, conversations [][]data.Message, opts Options) ([]Example, Stats, error) {
	e, err := newEncoder(tok)
	if err != nil {
		return nil, Stats{}, err
	}
	type result struct {
		ex  Example
		err error
	}
	results := make([]result, len(conversations))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, min(runtime.GOMAXPROCS(0), len(conversations))) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(conversations) {
					return
				}
				ex, err := e.example(conversations[i], opts)
				ex.Index = i
				results[i] = result{ex, err}
			}
		})
	}
	wg.Wait()

	st := Stats{Conversations: len(conversations)}
	examples := make([]Example, 0, len(conversations))
	for i, r := range results {
		if r.err != nil {
			if errors.Is(r.err, ErrNoTrainableToken) {
				st.SkippedTooLong++
			} else {
				st.SkippedInvalid++
			}
			if len(st.Errors) < maxStatErrors {
				st.Errors = append(st.Errors, fmt.Sprintf("conversation %d: %v", i+1, r.err))
			}
			continue
		}
		ex := r.ex
		st.Kept++
		st.Tokens += len(ex.IDs)
		st.TrainableTokens += ex.Trainable()
		if ex.DroppedTurns > 0 {
			st.WithDroppedTurns++
			st.DroppedTurns += ex.DroppedTurns
		}
		if ex.Truncated {
			st.Truncated++
		}
		examples = append(examples, ex)
	}
	return examples, st, nil
}
