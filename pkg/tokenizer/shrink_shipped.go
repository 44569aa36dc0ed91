package tokenizer

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
)

// TinyCorpus returns the texts the tiny tokenizer is fitted to: every
// CounselChat conversation (a question and one answer, so a question counts
// once per answer, as in training) and every AnnoMI transcript as merged
// turns, each turn in Gemma's turn markup so that the role names and the
// control tokens count too. (The markup is written here rather than by
// package chat, which imports this package.)
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

// ShrinkShipped derives a tokenizer of vocabSize ids from the embedded
// Gemma 3 tokenizer, fitted to the shipped corpus (TinyCorpus) found in
// dataDir (or by data.FindDataDir's rules when dataDir is empty). With
// vocabSize TinyVocabSize it makes exactly the embedded tiny tokenizer.
func ShrinkShipped(dataDir string, vocabSize int) (*Shrunk, error) {
	corpus, err := data.LoadCorpus(dataDir)
	if err != nil {
		return nil, err
	}
	s, err := Shrink(defaultTokenizerJSON, defaultConfigJSON, TinyCorpus(corpus), vocabSize)
	if err != nil {
		return nil, err
	}
	// Gemma's notice (its first paragraph: the rest describes the
	// unmodified files) and what was changed.
	gemmaTerms, _, _ := strings.Cut(defaultNotice, "\n\n")
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

// WriteDir writes the tokenizer into dir (created if needed) as
// tokenizer.json, tokenizer_config.json (when present) and NOTICE (when
// present); with compress the JSON files are gzip-compressed and named
// *.json.gz, which Load reads as well. Each file is written atomically.
func (s *Shrunk) WriteDir(dir string, compress bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	files := []struct {
		name string
		data []byte
		gz   bool
	}{
		{TokenizerFile, s.TokenizerJSON, compress},
		{TokenizerConfigFile, s.ConfigJSON, compress},
		{"NOTICE", []byte(s.Notice), false},
	}
	for _, f := range files {
		if len(f.data) == 0 {
			continue
		}
		name, content := f.name, f.data
		if f.gz {
			name += ".gz"
			var err error
			if content, err = gzipBytes(content); err != nil {
				return fmt.Errorf("tokenizer: compressing %s: %w", name, err)
			}
		}
		if err := atomicfile.WriteBytes(filepath.Join(dir, name), content); err != nil {
			return fmt.Errorf("tokenizer: %w", err)
		}
	}
	return nil
}

// gzipBytes compresses data with no name or time in the header, so that
// the same input gives the same file.
func gzipBytes(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
