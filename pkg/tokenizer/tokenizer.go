// Package tokenizer is a pure-Go implementation of the Gemma family's
// Hugging Face tokenizer: it reads a tokenizer.json (BPE with byte fallback,
// added and special tokens, normalizer, pre-tokenizer and decoder) and
// encodes text to exactly the ids the reference `tokenizers` library gives.
//
// Google's Gemma 3 tokenizer ships embedded (compressed, with its NOTICE,
// under assets/), so Default works offline; real runs load the tokenizer
// files that come with the checkpoint with Load.
//
// Encoding is built for throughput: the text between added tokens is cut at
// word boundaries that no BPE merge can cross (computed from the merges at
// load time), each word is encoded with a priority-queue BPE over a linked
// list of symbols, and words are cached per worker. A Tokenizer is safe for
// concurrent use.
package tokenizer

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Tokenizer encodes text to token ids and decodes ids back to text.
type Tokenizer struct {
	name string // where it was loaded from, for messages

	tokens   []string         // id → token text; "" for ids that name no token
	special  []bool           // id → whether it is a special added token
	vocab    *tokenIndex      // model vocabulary: token text → id
	addedIDs map[string]int32 // added tokens: text → id (they take precedence)

	model          *bpeModel
	added          *addedVocab
	normalizers    []normalizer
	preTokenizers  []splitter
	decoders       []decoder
	hasDecoderStep bool // a decoder section was present (else tokens are joined with spaces)

	bos, eos, pad, unk     int32
	startOfTurn, endOfTurn int32
	addBOS                 bool
	chatTemplate           string

	workspaces sync.Pool // *workspace

	noCache bool // for tests: encode every chunk afresh
}

// File names inside a model directory.
const (
	TokenizerFile       = "tokenizer.json"
	TokenizerConfigFile = "tokenizer_config.json"
)

// Load reads a tokenizer. path is either a model directory holding
// tokenizer.json (and optionally tokenizer_config.json, for the bos, eos and
// pad tokens and the chat template), or a tokenizer.json file itself, in
// which case a tokenizer_config.json beside it is read too when present.
// Either file may be gzip-compressed (a ".gz" name is also tried in a
// directory).
func Load(path string) (*Tokenizer, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	dir, tokPath := path, ""
	if info.IsDir() {
		tokPath, err = findFile(dir, TokenizerFile)
		if err != nil {
			return nil, err
		}
	} else {
		dir, tokPath = filepath.Dir(path), path
	}
	tokData, err := readMaybeGzip(tokPath)
	if err != nil {
		return nil, err
	}
	var cfgData []byte
	cfgName := ""
	base := strings.TrimSuffix(filepath.Base(tokPath), ".gz")
	if info.IsDir() || base == TokenizerFile {
		cfgPath, err := findFile(dir, TokenizerConfigFile)
		switch {
		case err == nil:
			if cfgData, err = readMaybeGzip(cfgPath); err != nil {
				return nil, err
			}
			cfgName = cfgPath
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
	}
	return parseNamed(tokPath, tokData, cfgName, cfgData)
}

// Parse builds a tokenizer from the contents of a tokenizer.json and,
// optionally (nil), a tokenizer_config.json. Both may be gzip-compressed.
// name is used in error messages.
func Parse(name string, tokenizerJSON, configJSON []byte) (*Tokenizer, error) {
	cfgName := ""
	if configJSON != nil {
		cfgName = name + " (" + TokenizerConfigFile + ")"
	}
	return parseNamed(name, tokenizerJSON, cfgName, configJSON)
}

func parseNamed(name string, tokData []byte, cfgName string, cfgData []byte) (*Tokenizer, error) {
	var err error
	if tokData, err = maybeGunzip(name, tokData); err != nil {
		return nil, err
	}
	t, err := parseTokenizerJSON(name, tokData)
	if err != nil {
		return nil, err
	}
	if cfgData != nil {
		if cfgData, err = maybeGunzip(cfgName, cfgData); err != nil {
			return nil, err
		}
		if err := t.applyConfig(cfgName, cfgData); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// findFile returns dir/name, or dir/name.gz when only that exists.
func findFile(dir, name string) (string, error) {
	for _, candidate := range []string{name, name + ".gz"} {
		p := filepath.Join(dir, candidate)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("tokenizer: %w", err)
		}
	}
	return "", fmt.Errorf("tokenizer: no %s in %s: %w", name, dir, fs.ErrNotExist)
}

func readMaybeGzip(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return maybeGunzip(path, data)
}

// maybeGunzip decompresses data if it starts with the gzip magic number.
func maybeGunzip(name string, data []byte) ([]byte, error) {
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		return data, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// The gzip trailer holds the uncompressed size (mod 2³²): a good
	// capacity hint that saves the repeated growth of io.ReadAll.
	size := 0
	if len(data) >= 18 {
		size = int(binary.LittleEndian.Uint32(data[len(data)-4:]))
	}
	buf := bytes.NewBuffer(make([]byte, 0, min(size, 1<<30)+bytes.MinRead))
	if _, err := io.Copy(buf, zr); err != nil {
		return nil, fmt.Errorf("%s: decompressing: %w", name, err)
	}
	if err := zr.Close(); err != nil {
		return nil, fmt.Errorf("%s: decompressing: %w", name, err)
	}
	return buf.Bytes(), nil
}

// Name says where the tokenizer was loaded from.
func (t *Tokenizer) Name() string { return t.name }

// VocabSize is the size of the id space: one more than the largest id of
// the vocabulary or of an added token (262,145 for Gemma 3).
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// TokenToID returns the id of a token given by its text as it appears in
// the vocabulary ("▁the", "<start_of_turn>", "<0x0A>").
func (t *Tokenizer) TokenToID(token string) (int32, bool) {
	if id, ok := t.addedIDs[token]; ok {
		return id, true
	}
	return t.vocab.lookupString(token)
}

// IDToToken returns the vocabulary text of id, or "" if id names no token.
func (t *Tokenizer) IDToToken(id int32) string {
	if id < 0 || int(id) >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// IsSpecial reports whether id is a special token (one that Decode skips
// when asked to).
func (t *Tokenizer) IsSpecial(id int32) bool {
	return id >= 0 && int(id) < len(t.special) && t.special[id]
}

// BOS returns the id of the beginning-of-sequence token, or -1 if none.
func (t *Tokenizer) BOS() int32 { return t.bos }

// EOS returns the id of the end-of-sequence token named by
// tokenizer_config.json (<end_of_turn> for instruction-tuned Gemma), or of
// <eos> without a config; -1 if none.
func (t *Tokenizer) EOS() int32 { return t.eos }

// PAD returns the id of the padding token, or -1 if none.
func (t *Tokenizer) PAD() int32 { return t.pad }

// UNK returns the id of the unknown token, or -1 if none.
func (t *Tokenizer) UNK() int32 { return t.unk }

// StartOfTurn returns the id of <start_of_turn>, or -1 if none.
func (t *Tokenizer) StartOfTurn() int32 { return t.startOfTurn }

// EndOfTurn returns the id of <end_of_turn>, or -1 if none.
func (t *Tokenizer) EndOfTurn() int32 { return t.endOfTurn }

// AddsBOS reports whether the model expects <bos> in front of every
// sequence (add_bos_token of tokenizer_config.json; true without one when
// the vocabulary has a BOS token).
func (t *Tokenizer) AddsBOS() bool { return t.addBOS }

// ChatTemplate returns the Jinja chat template of tokenizer_config.json, or
// "" if there was none. (Package chat implements Gemma's template in Go.)
func (t *Tokenizer) ChatTemplate() string { return t.chatTemplate }

// idOf returns the id of token, or -1.
func (t *Tokenizer) idOf(token string) int32 {
	if id, ok := t.TokenToID(token); ok {
		return id
	}
	return -1
}
