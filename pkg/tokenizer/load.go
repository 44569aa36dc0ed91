package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"
)

// MaxVocabSize bounds token ids (Gemma uses 262,400), so that a corrupt
// file cannot ask for gigabytes of tables.
const MaxVocabSize = 1 << 24

// addedTokenJSON is one entry of tokenizer.json's "added_tokens".
type addedTokenJSON struct {
	ID         *int64  `json:"id"`
	Content    *string `json:"content"`
	SingleWord bool    `json:"single_word"`
	LStrip     bool    `json:"lstrip"`
	RStrip     bool    `json:"rstrip"`
	Normalized bool    `json:"normalized"`
	Special    bool    `json:"special"`
}

// parseTokenizerJSON builds a Tokenizer from the bytes of a tokenizer.json.
func parseTokenizerJSON(name string, data []byte) (*Tokenizer, error) {
	s := &jsonScanner{name: name, data: data}
	var (
		addedRaw, normRaw, preRaw, decRaw []byte
		model                             *bpeModel
		vocab                             *vocabulary
		sawModel                          bool
	)
	err := s.eachMember(func(key []byte) error {
		var err error
		switch string(key) {
		case "added_tokens":
			addedRaw, err = s.skipValue()
		case "normalizer":
			normRaw, err = s.skipValue()
		case "pre_tokenizer":
			preRaw, err = s.skipValue()
		case "decoder":
			decRaw, err = s.skipValue()
		case "model":
			sawModel = true
			model, vocab, err = parseModel(s)
		default: // version, truncation, padding, post_processor
			_, err = s.skipValue()
		}
		return err
	})
	if err == nil {
		err = s.expectEnd()
	}
	if err != nil {
		return nil, err
	}
	if !sawModel {
		return nil, fmt.Errorf("%s: no \"model\" section", name)
	}

	t := &Tokenizer{name: name, model: model}
	if t.normalizers, err = parseNormalizer(normRaw); err != nil {
		return nil, fmt.Errorf("%s: normalizer: %w", name, err)
	}
	if t.preTokenizers, err = parsePreTokenizer(preRaw); err != nil {
		return nil, fmt.Errorf("%s: pre_tokenizer: %w", name, err)
	}
	if t.decoders, err = parseDecoder(decRaw); err != nil {
		return nil, fmt.Errorf("%s: decoder: %w", name, err)
	}
	t.hasDecoderStep = len(bytes.TrimSpace(decRaw)) > 0 && string(bytes.TrimSpace(decRaw)) != "null"

	var added []addedTokenJSON
	if len(addedRaw) > 0 {
		if err := json.Unmarshal(addedRaw, &added); err != nil {
			return nil, fmt.Errorf("%s: added_tokens: %w", name, err)
		}
	}
	t.model.finish(vocab)
	if err := t.buildVocabulary(vocab, added); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}

	t.bos = t.idOf("<bos>")
	t.eos = t.idOf("<eos>")
	t.pad = t.idOf("<pad>")
	t.unk = t.model.unk
	t.startOfTurn = t.idOf("<start_of_turn>")
	t.endOfTurn = t.idOf("<end_of_turn>")
	t.addBOS = t.bos >= 0
	return t, nil
}

// vocabulary is the model's token → id table as read from the file, its
// token texts held in one string to spare a quarter million allocations.
type vocabulary struct {
	index *tokenIndex
	byID  []string // id → token; "" for holes
	maxID int32
}

func (v *vocabulary) lookup(b []byte) (int32, bool)       { return v.index.lookup(b) }
func (v *vocabulary) lookupString(s string) (int32, bool) { return v.index.lookupString(s) }

// parseModel reads the "model" object.
func parseModel(s *jsonScanner) (*bpeModel, *vocabulary, error) {
	m := newBPEModel()
	var (
		vocab     *vocabulary
		merges    *mergeTexts // resolved once the vocabulary is known
		modelType string
		unkToken  string
		hasUnk    bool
		modelPos  = s.pos
	)
	err := s.eachMember(func(key []byte) error {
		var err error
		switch k := string(key); k {
		case "type":
			modelType, err = s.readString()
		case "vocab":
			vocab, err = parseVocab(s)
		case "merges":
			merges, err = scanMerges(s)
		case "unk_token":
			if !s.readNull() {
				unkToken, err = s.readString()
				hasUnk = true
			}
		case "fuse_unk", "byte_fallback", "ignore_merges":
			var v bool
			v, err = readBool(s, k)
			switch k {
			case "fuse_unk":
				m.fuseUnk = v
			case "byte_fallback":
				m.byteFallback = v
			default:
				m.ignoreMerges = v
			}
		case "dropout":
			if !s.readNull() {
				raw, err := s.skipValue()
				if err != nil {
					return err
				}
				if v := strings.TrimSpace(string(raw)); v != "0" && v != "0.0" {
					return fmt.Errorf("%s: model.dropout %s is not supported: encoding must be deterministic", s.name, v)
				}
			}
		case "continuing_subword_prefix", "end_of_word_suffix":
			if !s.readNull() {
				v, err := s.readString()
				if err != nil {
					return err
				}
				if v != "" {
					return fmt.Errorf("%s: model.%s %q is not supported", s.name, k, v)
				}
			}
		default:
			_, err = s.skipValue()
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	switch {
	case modelType == "":
		return nil, nil, s.errorAt(modelPos, "model has no \"type\" (want \"BPE\")")
	case modelType != "BPE":
		return nil, nil, s.errorAt(modelPos, "model type %q is not supported (want \"BPE\")", modelType)
	case vocab == nil:
		return nil, nil, s.errorAt(modelPos, "model has no \"vocab\"")
	}
	if merges != nil {
		if err := m.resolve(s, merges, vocab); err != nil {
			return nil, nil, err
		}
	}
	m.unk = -1
	if hasUnk {
		id, ok := vocab.lookupString(unkToken)
		if !ok {
			return nil, nil, fmt.Errorf("%s: model.unk_token %q is not in the vocabulary", s.name, unkToken)
		}
		m.unk = id
	}
	return m, vocab, nil
}

func readBool(s *jsonScanner, key string) (bool, error) {
	if s.readNull() {
		return false, nil
	}
	raw, err := s.skipValue()
	if err != nil {
		return false, err
	}
	switch string(raw) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%s: model.%s: want true or false, found %.20s", s.name, key, raw)
}

// parseVocab reads the "vocab" object {token: id, ...}.
func parseVocab(s *jsonScanner) (*vocabulary, error) {
	type entry struct {
		start, end int // of the token text in arena
		id         int32
	}
	// Capacity guesses from the document size spare most regrowth copies
	// (Gemma: 33 MB, 262k entries, 2 MB of token text).
	var (
		arena         = make([]byte, 0, len(s.data)/16)
		entries       = make([]entry, 0, len(s.data)/128)
		maxID   int32 = -1
	)
	err := s.eachMember(func(key []byte) error {
		start := len(arena)
		arena = append(arena, key...)
		keyEnd := len(arena)
		idPos := s.pos
		id, err := s.readInt()
		if err != nil {
			return err
		}
		if id < 0 || id >= MaxVocabSize {
			return s.errorAt(idPos, "model.vocab: id %d of %q is out of range [0, %d)", id, arena[start:keyEnd], MaxVocabSize)
		}
		entries = append(entries, entry{start, keyEnd, int32(id)})
		maxID = max(maxID, int32(id))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%s: model.vocab is empty", s.name)
	}
	text := string(arena)
	v := &vocabulary{index: newTokenIndex(text, len(entries)), byID: make([]string, maxID+1), maxID: maxID}
	for _, e := range entries {
		tok := text[e.start:e.end]
		if tok == "" {
			return nil, fmt.Errorf("%s: model.vocab: empty token for id %d", s.name, e.id)
		}
		if old := v.byID[e.id]; old != "" {
			return nil, fmt.Errorf("%s: model.vocab: id %d is given to both %q and %q", s.name, e.id, old, tok)
		}
		if _, fresh := v.index.insert(uint32(e.start), uint32(e.end-e.start), e.id); !fresh {
			return nil, fmt.Errorf("%s: model.vocab: token %q appears twice", s.name, tok)
		}
		v.byID[e.id] = tok
	}
	return v, nil
}

// mergeTexts holds the merges as read in one sequential pass over the
// file: the byte ranges of their two parts. Looking the parts up in the
// vocabulary, the costly half, then runs on all cores (resolve).
type mergeTexts struct {
	data  []byte   // the document
	extra []byte   // unescaped parts that could not alias data
	parts []uint32 // per merge: offset and length of left, then right; offsets ≥ len(data) are in extra
	elems []uint32 // per merge: its offset in data, for error messages
}

// part returns part j (0 left, 1 right) of merge i.
func (mt *mergeTexts) part(i, j int) []byte {
	off, n := mt.parts[4*i+2*j], mt.parts[4*i+2*j+1]
	if int(off) >= len(mt.data) {
		off -= uint32(len(mt.data))
		return mt.extra[off : off+n]
	}
	return mt.data[off : off+n]
}

// add records b as the next part. b was read from a string whose raw
// (escaped) text is data[rawStart:rawEnd]: when the two have the same
// length there was no escape and b is that very text.
func (mt *mergeTexts) add(b []byte, rawStart, rawEnd int) {
	if rawEnd-rawStart == len(b) {
		mt.parts = append(mt.parts, uint32(rawStart), uint32(len(b)))
		return
	}
	mt.parts = append(mt.parts, uint32(len(mt.data)+len(mt.extra)), uint32(len(b)))
	mt.extra = append(mt.extra, b...)
}

// scanMerges reads the "merges" array: ["a", "b"] pairs (tokenizers ≥
// 0.20) or "a b" strings (older files).
func scanMerges(s *jsonScanner) (*mergeTexts, error) {
	if len(s.data) >= math.MaxUint32/2 {
		return nil, fmt.Errorf("%s: file too large (%d bytes)", s.name, len(s.data))
	}
	mt := &mergeTexts{
		data:  s.data,
		parts: make([]uint32, 0, len(s.data)/16),
		elems: make([]uint32, 0, len(s.data)/64),
	}
	err := s.eachElement(func(i int) error {
		elemPos := s.pos
		mt.elems = append(mt.elems, uint32(elemPos))
		switch s.peek() {
		case '[':
			n := 0
			err := s.eachElement(func(j int) error {
				s.skipSpace()
				quote := s.pos
				b, err := s.readStringBytes()
				if err != nil {
					return err
				}
				if j < 2 {
					mt.add(b, quote+1, s.pos-1)
				}
				n++
				return nil
			})
			if err != nil {
				return err
			}
			if n != 2 {
				return s.errorAt(elemPos, "model.merges[%d]: want two tokens, found %d", i, n)
			}
		case '"':
			quote := s.pos
			b, err := s.readStringBytes()
			if err != nil {
				return err
			}
			a, c, found := bytes.Cut(b, []byte{' '})
			if !found || bytes.IndexByte(c, ' ') >= 0 {
				return s.errorAt(elemPos, "model.merges[%d]: %q is not two tokens separated by one space", i, b)
			}
			if raw := s.data[quote+1 : s.pos-1]; len(raw) == len(b) {
				mt.add(a, quote+1, quote+1+len(a))
				mt.add(c, quote+2+len(a), s.pos-1)
			} else {
				mt.add(a, 0, -1) // escaped: copy
				mt.add(c, 0, -1)
			}
		default:
			return s.errorf("model.merges[%d]: want a pair of tokens, found %s", i, s.describeNext())
		}
		return nil
	})
	return mt, err
}

// resolve looks up the merges' tokens and results in the vocabulary, in
// parallel, and stores them in the model. The rank of a merge is its index.
func (m *bpeModel) resolve(s *jsonScanner, mt *mergeTexts, vocab *vocabulary) error {
	n := len(mt.elems)
	m.pendingMerges = make([]mergeEntry, n)
	const perWorker = 1 << 15
	workers := max(1, min(runtime.GOMAXPROCS(0), n/perWorker))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var concat []byte
			for i := w * n / workers; i < (w+1)*n/workers; i++ {
				a, b := mt.part(i, 0), mt.part(i, 1)
				left, okA := vocab.lookup(a)
				right, okB := vocab.lookup(b)
				concat = append(append(concat[:0], a...), b...)
				merged, okM := vocab.lookup(concat)
				if !okA || !okB || !okM {
					what := a
					switch {
					case !okA:
					case !okB:
						what = b
					default:
						errs[w] = s.errorAt(int(mt.elems[i]), "model.merges[%d]: merged token %q is not in the vocabulary", i, concat)
						return
					}
					errs[w] = s.errorAt(int(mt.elems[i]), "model.merges[%d]: token %q is not in the vocabulary", i, what)
					return
				}
				m.pendingMerges[i] = mergeEntry{left, right, int32(i), merged}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...) // at most the first error of each range
}

// buildVocabulary joins the model vocabulary and the added tokens into the
// id tables and the added-token matcher.
func (t *Tokenizer) buildVocabulary(v *vocabulary, added []addedTokenJSON) error {
	maxID := v.maxID
	for i, a := range added {
		if a.ID == nil || a.Content == nil {
			return fmt.Errorf("added_tokens[%d]: want \"id\" and \"content\"", i)
		}
		if *a.ID < 0 || *a.ID >= MaxVocabSize {
			return fmt.Errorf("added_tokens[%d]: id %d is out of range [0, %d)", i, *a.ID, MaxVocabSize)
		}
		if *a.Content == "" {
			return fmt.Errorf("added_tokens[%d]: empty content", i)
		}
		if !utf8.ValidString(*a.Content) {
			return fmt.Errorf("added_tokens[%d]: content is not valid UTF-8", i)
		}
		maxID = max(maxID, int32(*a.ID))
	}
	t.tokens = make([]string, maxID+1)
	copy(t.tokens, v.byID)
	t.special = make([]bool, maxID+1)
	t.vocab = v.index
	t.addedIDs = make(map[string]int32, len(added))
	t.added = &addedVocab{}
	for i, a := range added {
		id := int32(*a.ID)
		if old := t.tokens[id]; old != "" && old != *a.Content {
			return fmt.Errorf("added_tokens[%d]: id %d is %q in the vocabulary, not %q", i, id, old, *a.Content)
		}
		t.tokens[id] = *a.Content
		t.special[id] = a.Special
		t.addedIDs[*a.Content] = id
		t.added.add(addedToken{
			content: *a.Content, id: id, special: a.Special,
			singleWord: a.SingleWord, lstrip: a.LStrip, rstrip: a.RStrip, normalized: a.Normalized,
		})
	}
	return nil
}

// configJSON holds the fields of tokenizer_config.json this package uses.
type configJSON struct {
	BOS          json.RawMessage `json:"bos_token"`
	EOS          json.RawMessage `json:"eos_token"`
	PAD          json.RawMessage `json:"pad_token"`
	UNK          json.RawMessage `json:"unk_token"`
	AddBOS       *bool           `json:"add_bos_token"`
	ChatTemplate json.RawMessage `json:"chat_template"`
}

// applyConfig reads tokenizer_config.json: it names the bos, eos, pad and
// unk tokens and carries the chat template.
func (t *Tokenizer) applyConfig(name string, data []byte) error {
	var cfg configJSON
	if err := json.Unmarshal(data, &cfg); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	for _, f := range []struct {
		key string
		raw json.RawMessage
		dst *int32
	}{
		{"bos_token", cfg.BOS, &t.bos},
		{"eos_token", cfg.EOS, &t.eos},
		{"pad_token", cfg.PAD, &t.pad},
		{"unk_token", cfg.UNK, &t.unk},
	} {
		tok, present, err := configToken(f.raw)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", name, f.key, err)
		}
		if !present {
			continue
		}
		id, ok := t.TokenToID(tok)
		if !ok {
			return fmt.Errorf("%s: %s %q is not in the vocabulary", name, f.key, tok)
		}
		*f.dst = id
	}
	if cfg.AddBOS != nil {
		t.addBOS = *cfg.AddBOS && t.bos >= 0
	}
	template, err := ParseChatTemplate(cfg.ChatTemplate)
	if err != nil {
		return fmt.Errorf("%s: chat_template: %w", name, err)
	}
	t.chatTemplate = template
	return nil
}

// configToken reads a special-token field: a string, an AddedToken object
// {"content": ...}, or null.
func configToken(raw json.RawMessage) (tok string, present bool, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false, nil
	}
	if err := json.Unmarshal(raw, &tok); err == nil {
		return tok, true, nil
	}
	var obj struct {
		Content *string `json:"content"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.Content == nil {
		return "", false, fmt.Errorf("want a string or an object with \"content\", found %.40s", raw)
	}
	return *obj.Content, true, nil
}

// ParseChatTemplate reads the chat_template value of a
// tokenizer_config.json: a string, or a list of named templates (the one
// named "default", else the first); null or absent is "".
func ParseChatTemplate(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var named []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if err := json.Unmarshal(raw, &named); err != nil {
		return "", fmt.Errorf("want a string or a list of {name, template}")
	}
	for _, n := range named {
		if n.Name == "default" {
			return n.Template, nil
		}
	}
	if len(named) > 0 {
		return named[0].Template, nil
	}
	return "", nil
}
