package dpo

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/chat"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// LengthPolicy bounds the tokens of a pair, as dpo.yaml's max_prompt_length
// and max_length (TRL's names).
type LengthPolicy struct {
	// MaxPromptLength bounds the prompt (from <bos> to the generation prompt
	// "<start_of_turn>model\n"): a longer prompt keeps <bos> and its last
	// MaxPromptLength−1 tokens, so the question's end and the cue to answer
	// survive. 0 means no bound.
	MaxPromptLength int
	// MaxLength bounds prompt + answer: a longer answer keeps its first
	// tokens (and then lacks its closing <end_of_turn>). 0 means no bound.
	MaxLength int
}

// LengthPolicyFromConfig takes the token budgets of dpo.yaml.
func LengthPolicyFromConfig(c config.DPO) LengthPolicy {
	return LengthPolicy{MaxPromptLength: c.MaxPromptLength, MaxLength: c.MaxLength}
}

// Validate checks that the budgets leave room for an answer.
func (l LengthPolicy) Validate() error {
	switch {
	case l.MaxPromptLength < 0 || l.MaxLength < 0:
		return fmt.Errorf("dpo: max_prompt_length %d and max_length %d must be ≥ 0", l.MaxPromptLength, l.MaxLength)
	case l.MaxPromptLength == 1:
		return errors.New("dpo: max_prompt_length 1 leaves only <bos> of the prompt; use ≥ 2 (or 0 for no bound)")
	case l.MaxLength > 0 && l.MaxPromptLength >= l.MaxLength:
		return fmt.Errorf("dpo: max_prompt_length %d must be < max_length %d to leave room for the answer", l.MaxPromptLength, l.MaxLength)
	}
	return nil
}

// EncodeStats count what EncodePairs did.
type EncodeStats struct {
	Pairs            int // input pairs
	Kept             int // pairs encoded
	Skipped          int // pairs the template rejects, or without room for an answer
	PromptsTruncated int // prompts cut to MaxPromptLength
	PromptTokensCut  int
	AnswersTruncated int // chosen or rejected answers cut to fit MaxLength
	AnswerTokensCut  int
	Tokens           int // tokens of the kept pairs, both sequences
	AnswerTokens     int // of which answer (trained) tokens
	// Errors holds the first few reasons for skipped pairs ("pair ID: ...").
	Errors []string
}

// maxStatErrors bounds EncodeStats.Errors.
const maxStatErrors = 10

// EncodePairs renders preference pairs through the chat template and
// tokenizes them: each side is the prompt (ending with the generation
// prompt) followed by the answer as the model turn with its closing
// <end_of_turn>, and the loss mask is on exactly the answer tokens. The
// length policy is applied (see LengthPolicy). Pairs that cannot be encoded
// are skipped and counted, with their reasons, in the stats; an error is
// returned only for an unusable tokenizer or policy.
func EncodePairs(tok *tokenizer.Tokenizer, pairs []data.PreferencePair, policy LengthPolicy) ([]Pair, EncodeStats, error) {
	if err := policy.Validate(); err != nil {
		return nil, EncodeStats{}, err
	}
	if tok == nil {
		return nil, EncodeStats{}, errors.New("dpo: no tokenizer")
	}
	if tok.EndOfTurn() < 0 || tok.BOS() < 0 {
		return nil, EncodeStats{}, fmt.Errorf("dpo: tokenizer %s has no <bos> or <end_of_turn>: not a Gemma chat tokenizer", tok.Name())
	}
	st := EncodeStats{Pairs: len(pairs)}
	out := make([]Pair, 0, len(pairs))
	for i, p := range pairs {
		pair, cuts, err := encodePair(tok, p, policy)
		if err != nil {
			st.Skipped++
			if len(st.Errors) < maxStatErrors {
				id := p.ID
				if id == "" {
					id = fmt.Sprint(i)
				}
				st.Errors = append(st.Errors, fmt.Sprintf("pair %s: %v", id, err))
			}
			continue
		}
		st.Kept++
		if cuts.prompt > 0 {
			st.PromptsTruncated++
			st.PromptTokensCut += cuts.prompt
		}
		for _, c := range cuts.answers {
			if c > 0 {
				st.AnswersTruncated++
				st.AnswerTokensCut += c
			}
		}
		st.Tokens += len(pair.Chosen.IDs) + len(pair.Rejected.IDs)
		st.AnswerTokens += targets(pair.Chosen) + targets(pair.Rejected)
		out = append(out, pair)
	}
	return out, st, nil
}

// pairCuts are the tokens a pair lost to the length policy.
type pairCuts struct {
	prompt  int
	answers [2]int
}

func encodePair(tok *tokenizer.Tokenizer, p data.PreferencePair, policy LengthPolicy) (Pair, pairCuts, error) {
	var cuts pairCuts
	if len(p.Prompt) == 0 || p.Prompt[len(p.Prompt)-1].Role != data.RoleUser {
		return Pair{}, cuts, errors.New("the prompt must end with a user message")
	}
	prompt, err := chat.Tokenize(tok, p.Prompt, true)
	if err != nil {
		return Pair{}, cuts, fmt.Errorf("prompt: %w", err)
	}
	var answers [2][]int32
	for k, text := range []string{p.Chosen, p.Rejected} {
		side := [2]string{"chosen", "rejected"}[k]
		if strings.TrimSpace(text) == "" {
			return Pair{}, cuts, fmt.Errorf("the %s answer is empty", side)
		}
		if answers[k], err = answerIDs(tok, p.Prompt, prompt.IDs, text); err != nil {
			return Pair{}, cuts, fmt.Errorf("%s answer: %w", side, err)
		}
	}

	promptIDs := prompt.IDs
	if policy.MaxPromptLength > 0 && len(promptIDs) > policy.MaxPromptLength {
		cuts.prompt = len(promptIDs) - policy.MaxPromptLength
		promptIDs = append([]int32{promptIDs[0]}, promptIDs[len(promptIDs)-(policy.MaxPromptLength-1):]...)
	}
	if policy.MaxLength > 0 {
		budget := policy.MaxLength - len(promptIDs)
		if budget < 1 {
			return Pair{}, cuts, fmt.Errorf("the prompt's %d tokens leave no room for an answer within max_length %d", len(promptIDs), policy.MaxLength)
		}
		for k := range answers {
			if len(answers[k]) > budget {
				cuts.answers[k] = len(answers[k]) - budget
				answers[k] = answers[k][:budget]
			}
		}
	}
	return Pair{Chosen: sequence(promptIDs, answers[0]), Rejected: sequence(promptIDs, answers[1])}, cuts, nil
}

// answerIDs tokenizes the conversation prompt + answer with the template
// and returns the ids of the answer's model turn, from its first token to
// its closing <end_of_turn>. Tokenizing the whole conversation (rather than
// the answer alone) gives exactly the ids the template gives in SFT.
func answerIDs(tok *tokenizer.Tokenizer, prompt []data.Message, promptIDs []int32, answer string) ([]int32, error) {
	messages := append(slices.Clip(prompt), data.Message{Role: data.RoleAssistant, Content: answer})
	full, err := chat.Tokenize(tok, messages, false)
	if err != nil {
		return nil, err
	}
	if len(full.IDs) <= len(promptIDs) || !slices.Equal(full.IDs[:len(promptIDs)], promptIDs) {
		return nil, errors.New("the rendered conversation does not start with the rendered prompt")
	}
	ids := full.IDs[len(promptIDs):]
	// The turn's own <end_of_turn> is the last one (the text may spell the
	// token too); only the template's "\n" follows it.
	end := len(ids) - 1
	for end >= 0 && ids[end] != tok.EndOfTurn() {
		end--
	}
	if end < 0 {
		return nil, errors.New("the model turn has no <end_of_turn>")
	}
	return slices.Clone(ids[:end+1]), nil
}

// sequence joins prompt and answer ids, with the loss mask on the answer.
func sequence(prompt, answer []int32) train.Example {
	ids := make([]int32, 0, len(prompt)+len(answer))
	ids = append(append(ids, prompt...), answer...)
	mask := make([]bool, len(ids))
	for i := len(prompt); i < len(ids); i++ {
		mask[i] = true
	}
	return train.Example{IDs: ids, LossMask: mask}
}
