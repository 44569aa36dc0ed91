package sft

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/chat"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// Values of Options.Data that name the shipped corpora; anything else is a
// JSONL file of conversations.
const (
	DataCounselChat = data.SourceCounselChat
	DataAnnoMI      = data.SourceAnnoMI
	DataBoth        = "both"
)

// splits holds the conversations trained on and evaluated on.
type splits struct {
	train, validation []data.Conversation
}

// loadConversations returns the train and validation conversations that
// opts.Data (or opts.Conversations) names, with the debug subset applied
// when debug is set.
func loadConversations(opts *Options, cfg *config.All) (splits, error) {
	if opts.Conversations != nil {
		return splitConversations("Options.Conversations", opts.Conversations, cfg, opts.Debug)
	}
	switch opts.Data {
	case "":
		return splits{}, errors.New("no training data: want counselchat, annomi, both, corpus or a JSONL file of conversations")
	case DataCounselChat, DataAnnoMI, DataBoth:
		return corpusConversations(opts.Data, cfg, opts.Debug)
	case DataCorpus:
		return pretrainConversations(cfg, opts.Debug)
	}
	info, err := os.Stat(opts.Data)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !strings.ContainsAny(opts.Data, `/\.`) {
			return splits{}, fmt.Errorf("unknown data %q: want counselchat, annomi, both, corpus or a JSONL file of conversations", opts.Data)
		}
		return splits{}, err
	}
	if info.IsDir() {
		return splits{}, fmt.Errorf("data %s is a directory: want counselchat, annomi, both, corpus or a JSONL file of conversations", opts.Data)
	}
	convs, err := data.LoadConversations(opts.Data)
	if err != nil {
		return splits{}, err
	}
	return splitConversations(opts.Data, convs, cfg, opts.Debug)
}

// corpusConversations loads the shipped corpora at the paths of data.yaml and
// prepares them with its splits, quality filter, windows and debug sizes.
func corpusConversations(which string, cfg *config.All, debug bool) (splits, error) {
	prepared, err := stage.PrepareShipped(cfg, debug)
	if err != nil {
		return splits{}, err
	}
	source := which
	if which == DataBoth {
		source = data.All
	}
	var s splits
	if s.train, err = prepared.Conversations(source, string(data.SplitTrain)); err != nil {
		return splits{}, err
	}
	if s.validation, err = prepared.Conversations(source, string(data.SplitValidation)); err != nil {
		return splits{}, err
	}
	return s, nil
}

// splitConversations splits conversations read from a file (named by name
// in errors) by their "split" field; when none has one, whole groups (or
// single conversations without a group) are assigned to the splits of
// data.yaml with its seed. The test split is never used here. With debug,
// each source keeps its first groups, as for the shipped corpora.
func splitConversations(name string, convs []data.Conversation, cfg *config.All, debug bool) (splits, error) {
	if len(convs) == 0 {
		return splits{}, fmt.Errorf("%s: no conversations", name)
	}
	labelled := 0
	for i := range convs {
		if convs[i].Split != "" {
			labelled++
		}
	}
	bySplit := map[data.Split][]data.Conversation{}
	switch labelled {
	case len(convs):
		for i, c := range convs {
			sp, err := data.ParseSplit(c.Split)
			if err != nil {
				return splits{}, fmt.Errorf("%s: conversation %d (id %q): %w", name, i+1, c.ID, err)
			}
			bySplit[sp] = append(bySplit[sp], c)
		}
	case 0:
		group := func(c data.Conversation) string {
			if c.Group != "" {
				return c.Source + "/" + c.Group
			}
			return c.Source + "/id/" + c.ID
		}
		groups := make([]string, len(convs))
		for i, c := range convs {
			groups[i] = group(c)
		}
		d := cfg.Data
		ratios := stage.SplitRatios(cfg)
		as, err := data.AssignSplits(groups, nil, ratios, uint64(d.Seed))
		if err != nil {
			return splits{}, fmt.Errorf("%s: %w", name, err)
		}
		for _, c := range convs {
			sp := as[group(c)]
			c.Split = string(sp)
			bySplit[sp] = append(bySplit[sp], c)
		}
	default:
		for i, c := range convs {
			if c.Split == "" {
				return splits{}, fmt.Errorf(`%s: conversation %d (id %q) has no "split" while %d others have one: label all or none`, name, i+1, c.ID, labelled)
			}
		}
	}
	s := splits{train: bySplit[data.SplitTrain], validation: bySplit[data.SplitValidation]}
	if debug {
		sizes := stage.DebugSizes(cfg)
		s.train, s.validation = firstGroupsPerSource(s.train, sizes), firstGroupsPerSource(s.validation, sizes)
	}
	if len(s.train) == 0 {
		return splits{}, fmt.Errorf("%s: no conversation in the train split", name)
	}
	return s, nil
}

// firstGroupsPerSource keeps, per source, the first groups: AnnoMI keeps
// AnnoMITranscripts, every other source CounselChatQuestions.
func firstGroupsPerSource(convs []data.Conversation, sizes data.DebugSizes) []data.Conversation {
	var out []data.Conversation
	for _, src := range sourcesOf(convs) {
		n := sizes.CounselChatQuestions
		if src == data.SourceAnnoMI {
			n = sizes.AnnoMITranscripts
		}
		out = append(out, data.FirstGroups(ofSource(convs, src), n)...)
	}
	return out
}

// sourcesOf lists the sources of convs: counselchat, annomi, then the others
// in order of first appearance.
func sourcesOf(convs []data.Conversation) []string {
	var out []string
	for _, known := range []string{data.SourceCounselChat, data.SourceAnnoMI} {
		if slices.ContainsFunc(convs, func(c data.Conversation) bool { return c.Source == known }) {
			out = append(out, known)
		}
	}
	for _, c := range convs {
		if !slices.Contains(out, c.Source) {
			out = append(out, c.Source)
		}
	}
	return out
}

func ofSource(convs []data.Conversation, source string) []data.Conversation {
	var out []data.Conversation
	for _, c := range convs {
		if c.Source == source {
			out = append(out, c)
		}
	}
	return out
}

// OnlyFinalTurn reports whether conversations of a source are trained on
// their final assistant turn only: AnnoMI windows are cut from longer
// sessions, so their earlier counsellor turns are context, not targets.
func OnlyFinalTurn(source string) bool { return source == data.SourceAnnoMI }

// SourceSummary describes the examples built from one source and split.
type SourceSummary struct {
	Source           string   `json:"source"`
	Split            string   `json:"split"`
	Conversations    int      `json:"conversations"`
	OnlyFinalTurn    bool     `json:"only_final_turn"`
	Examples         int      `json:"examples"`
	WithDroppedTurns int      `json:"with_dropped_turns"` // examples that lost their oldest turns to max_seq_length
	DroppedTurns     int      `json:"dropped_turns"`      // user+assistant pairs dropped in all
	Truncated        int      `json:"truncated"`          // examples whose final answer was cut
	SkippedTooLong   int      `json:"skipped_too_long"`   // prompts that alone fill max_seq_length
	SkippedInvalid   int      `json:"skipped_invalid"`    // conversations the chat template rejects
	SkippedVocab     int      `json:"skipped_vocab"`      // examples with token ids outside the model's vocabulary
	Tokens           int      `json:"tokens"`
	TrainableTokens  int      `json:"trainable_tokens"`
	Errors           []string `json:"errors,omitempty"` // the first reasons for skipped conversations
}

// BatchSummary describes how one set of examples is batched.
type BatchSummary struct {
	BatchSize    int         `json:"batch_size"`
	Batches      int         `json:"batches"`
	Examples     int         `json:"examples"`
	Dropped      int         `json:"dropped"` // examples without a target token
	Tokens       int         `json:"tokens"`
	Targets      int         `json:"targets"`
	BucketCounts map[int]int `json:"bucket_counts"` // examples per padded length
	Rows         int         `json:"rows"`          // rows per epoch: fewer than Examples with packing
}

// DataSummary is data_summary.json: what the run trains and evaluates on.
type DataSummary struct {
	Data         string                  `json:"data"`
	Debug        bool                    `json:"debug"`
	LossOn       string                  `json:"loss_on"` // of the training examples (Options.LossOn); eval sets: assistant
	Tokenizer    string                  `json:"tokenizer"`
	MaxSeqLength int                     `json:"max_seq_length"`
	Buckets      []int                   `json:"buckets"`
	Sources      []SourceSummary         `json:"sources"`
	Train        BatchSummary            `json:"train"`
	Eval         map[string]BatchSummary `json:"eval"` // by eval set name (the source)
}

// examples is the tokenized data of a run.
type examples struct {
	train []train.Example
	eval  map[string][]train.Example // validation examples by source
	order []string                   // eval set names, in source order
}

// buildExamples tokenizes the conversations source by source (so that each
// source gets its loss-mask policy) and records the counts in sum.
func buildExamples(tok *tokenizer.Tokenizer, vocabSize int, s splits, maxSeqLen int, sum *DataSummary) (examples, error) {
	ex := examples{eval: map[string][]train.Example{}}
	for _, part := range []struct {
		split string
		convs []data.Conversation
	}{{string(data.SplitTrain), s.train}, {string(data.SplitValidation), s.validation}} {
		for _, src := range sourcesOf(part.convs) {
			convs := ofSource(part.convs, src)
			messages := make([][]data.Message, len(convs))
			for i, c := range convs {
				messages[i] = c.Messages
			}
			built, st, err := chat.BuildExamples(tok, messages, chat.Options{MaxSeqLen: maxSeqLen, OnlyFinalTurn: OnlyFinalTurn(src)})
			if err != nil {
				return ex, err
			}
			ss := SourceSummary{
				Source: src, Split: part.split, Conversations: len(convs), OnlyFinalTurn: OnlyFinalTurn(src),
				Examples: st.Kept, WithDroppedTurns: st.WithDroppedTurns, DroppedTurns: st.DroppedTurns,
				Truncated: st.Truncated, SkippedTooLong: st.SkippedTooLong, SkippedInvalid: st.SkippedInvalid,
				Tokens: st.Tokens, TrainableTokens: st.TrainableTokens, Errors: st.Errors,
			}
			converted := make([]train.Example, 0, len(built))
			for _, e := range built {
				if i := slices.IndexFunc(e.IDs, func(id int32) bool { return id < 0 || int(id) >= vocabSize }); i >= 0 {
					ss.SkippedVocab++
					ss.Examples--
					ss.Tokens -= len(e.IDs)
					ss.TrainableTokens -= e.Trainable()
					if len(ss.Errors) < maxErrors {
						ss.Errors = append(ss.Errors, fmt.Sprintf("conversation %d (id %q): token %d (id %d) is outside the model's vocabulary of %d ids",
							e.Index, convs[e.Index].ID, i, e.IDs[i], vocabSize))
					}
					continue
				}
				converted = append(converted, train.Example{IDs: e.IDs, LossMask: e.LossMask})
			}
			sum.Sources = append(sum.Sources, ss)
			if part.split == string(data.SplitTrain) {
				ex.train = append(ex.train, converted...)
			} else if len(converted) > 0 {
				ex.eval[src] = converted
				ex.order = append(ex.order, src)
			}
		}
	}
	if len(ex.train) == 0 {
		return ex, fmt.Errorf("no training example left after tokenization (max_seq_length %d): %s", maxSeqLen, firstErrors(sum.Sources))
	}
	return ex, nil
}

// maxErrors bounds SourceSummary.Errors.
const maxErrors = 10

func firstErrors(sources []SourceSummary) string {
	for _, s := range sources {
		if len(s.Errors) > 0 {
			return s.Errors[0]
		}
	}
	return "no conversations"
}

// batchSummary describes a source built by train.NewLMSource.
func batchSummary(src *train.LMSource) BatchSummary {
	st := src.Stats()
	return BatchSummary{
		BatchSize: src.Config().BatchSize, Batches: src.NumBatches(), Examples: st.Examples, Dropped: st.Dropped,
		Tokens: st.Tokens, Targets: st.Targets, BucketCounts: st.BucketCounts, Rows: st.Rows,
	}
}

// Buckets returns the padded lengths of a run with the given max_seq_length:
// powers of two from 32 (or max/8 when larger, so that at most four shapes
// are compiled per batch size) up to the maximum.
func Buckets(maxSeqLen int) []int {
	return train.PowerOfTwoBuckets(max(32, maxSeqLen/8), maxSeqLen)
}

// dataLabel names the data of a run in summaries.
func dataLabel(opts *Options) string {
	if opts.Conversations != nil {
		return "conversations"
	}
	if opts.Data == DataCounselChat || opts.Data == DataAnnoMI || opts.Data == DataBoth || opts.Data == DataCorpus {
		return opts.Data
	}
	if abs, err := filepath.Abs(opts.Data); err == nil {
		return abs
	}
	return opts.Data
}
