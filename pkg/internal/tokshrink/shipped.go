package tokshrink

import (
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

// TinyCorpus returns the texts the tiny tokenizer is fitted to: every
// CounselChat conversation (a question and one answer, so a question counts
// once per answer, as in training) and every AnnoMI transcript as merged
// turns, each turn in Gemma's turn markup so that the role names and the
// control tokens count too. (The markup is written out here: this function alone
// fixes the corpus, and with it the tiny tokenizer.)
func TinyCorpus(c *data.Corpus) []string {
	var texts []string
	var b strings.Builder
	turn := func(role, text string) {
		b.WriteString("<start_of_turn>")
		b.WriteString(role)
		b.WriteString("\n")
		b.WriteString(text)
		b.WriteString("<end_of_turn>\n")
	}
	for _, conv := range data.CounselChatConversations(c.CounselChat) {
		b.Reset()
		for _, m := range conv.Messages {
			turn(chatRole(m.Role), m.Content)
		}
		texts = append(texts, b.String())
	}
	for i := range c.AnnoMI.Transcripts {
		b.Reset()
		for _, t := range c.AnnoMI.Transcripts[i].Turns() {
			role := "user"
			if t.Speaker == data.SpeakerTherapist {
				role = "model"
			}
			turn(role, strings.TrimSpace(t.Text))
		}
		texts = append(texts, b.String())
	}
	return texts
}

// chatRole is the Gemma turn name of a message role.
func chatRole(role string) string {
	if role == data.RoleAssistant {
		return "model"
	}
	return role
}

// Shipped derives a tokenizer of vocabSize ids from the embedded Gemma 3
// tokenizer, fitted to the shipped corpus (TinyCorpus) found in dataDir
// (or by data.FindDataDir's rules when dataDir is empty). With vocabSize
// tokenizer.TinyVocabSize it makes exactly the embedded tiny tokenizer.
func Shipped(dataDir string, vocabSize int) (*Shrunk, error) {
	corpus, err := data.LoadCorpus(dataDir)
	if err != nil {
		return nil, err
	}
	gemma, err := tokenizer.DefaultFiles()
	if err != nil {
		return nil, err
	}
	s, err := Shrink(gemma.TokenizerJSON, gemma.ConfigJSON, TinyCorpus(corpus), vocabSize)
	if err != nil {
		return nil, err
	}
	// Gemma's notice (its first paragraph: the rest describes the
	// unmodified files) and what was changed.
	gemmaTerms, _, _ := strings.Cut(gemma.Notice, "\n\n")
	s.Notice = gemmaTerms + "\n\n" + derivedNotice
	return s, nil
}

const derivedNotice = `The tokenizer files in this folder are derived from Google's Gemma 3
tokenizer (Google's tokenizer.json of google/gemma-3-4b-it, embedded in
pkg/tokenizer/assets): they keep a subset of its vocabulary and merges,
selected by frequency on the CounselChat and AnnoMI corpora, under new ids.
They were made with "gemma3n-therapy tokenizer-shrink". The Gemma Terms of
Use apply to them.
`
