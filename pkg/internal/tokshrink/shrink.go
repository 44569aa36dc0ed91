// Package tokshrink derives a compact tokenizer from a larger one, fitted
// to a corpus: the generator of the embedded tiny tokenizer
// (pkg/tokenizer/assets/tiny, remade by "go generate ./pkg/tokenizer"
// through the command's tokenizer-shrink). It sits above the runtime
// tokenizer, which it reads through its exported inspection methods
// (Entries, Merges, TraceBPE), and above pkg/data, whose corpora it fits
// the tiny tokenizer to.
package tokshrink

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

// Shrunk is a compact tokenizer derived from a larger one by Shrink: its
// files (tokenizer.json; tokenizer_config.json, nil when the base had
// none; the notice whose terms cover what is derived from the base) and
// how it compresses the corpus.
type Shrunk struct {
	tokenizer.Files
	Stats Stats
}

// Stats describe a shrunk tokenizer and how it compresses the corpus
// it was fitted to, next to the base tokenizer.
type Stats struct {
	BaseVocabSize int `json:"base_vocab_size"` // ids of the base
	VocabSize     int `json:"vocab_size"`      // ids of the compact tokenizer
	BaseMerges    int `json:"base_merges"`
	Merges        int `json:"merges"`
	Fixed         int `json:"fixed"` // leading ids kept in place (control, added and byte tokens)

	CorpusTexts int   `json:"corpus_texts"`
	CorpusChars int64 `json:"corpus_chars"` // characters (code points) of the corpus
	BaseTokens  int64 `json:"base_tokens"`  // corpus tokens with the base tokenizer
	Tokens      int64 `json:"tokens"`       // corpus tokens with the compact tokenizer
	// IdenticalTexts counts corpus texts that the compact tokenizer cuts
	// exactly as the base does.
	IdenticalTexts int `json:"identical_texts"`
}

// BaseTokensPerChar is the base tokenizer's tokens per character of the corpus.
func (s Stats) BaseTokensPerChar() float64 { return ratio(s.BaseTokens, s.CorpusChars) }

// TokensPerChar is the compact tokenizer's tokens per character of the corpus.
func (s Stats) TokensPerChar() float64 { return ratio(s.Tokens, s.CorpusChars) }

// TokenRatio is how many tokens the compact tokenizer needs for each token
// of the base on the corpus (1 or more).
func (s Stats) TokenRatio() float64 { return ratio(s.Tokens, s.BaseTokens) }

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Shrink derives a tokenizer of at most vocabSize ids from a base
// tokenizer.json (and, optionally, its tokenizer_config.json; nil if none;
// either may be gzip-compressed), fitted to corpus. The result encodes any
// text (byte fallback covers what the smaller vocabulary lacks), decodes
// back to it, and keeps the base's normalizer, pre-tokenizer, decoder and
// chat template. What is kept:
//
//   - the leading block of ids that are all added or byte-fallback tokens,
//     in place (Gemma: ids 0–493, from <pad> to <0xFF>, which holds <bos>=2,
//     <start_of_turn>=105, <end_of_turn>=106 and "\n"=107);
//   - every byte-fallback token <0x00>…<0xFF>, the unknown token, the
//     tokens tokenizer_config.json names (bos, eos, pad, boi, image, ...),
//     the added tokens its chat template writes, and those the
//     post-processor inserts; these come right after the leading block;
//   - then the tokens the base tokenizer emits most often on corpus, most
//     frequent first, each together with everything BPE builds it from:
//     its characters and every intermediate token of the base's merges on
//     its text. A merge is kept when its two parts and its result are
//     kept, in the base's order, so every kept token is reachable and any
//     word whose base tokens are all kept is cut exactly as by the base;
//   - when the corpus does not fill vocabSize, the base's remaining tokens
//     in id order (which for Gemma is SentencePiece score order).
//
// The output is deterministic: the same inputs give the same bytes.
func Shrink(tokenizerJSON, configJSON []byte, corpus []string, vocabSize int) (*Shrunk, error) {
	const name = "base " + tokenizer.TokenizerFile
	tokData, err := gunzip(name, tokenizerJSON)
	if err != nil {
		return nil, err
	}
	base, err := tokenizer.Parse(name, tokData, nil)
	if err != nil {
		return nil, err
	}
	var cfg *baseConfig
	if configJSON != nil {
		const cfgName = "base " + tokenizer.TokenizerConfigFile
		cfgData, err := gunzip(cfgName, configJSON)
		if err != nil {
			return nil, err
		}
		if cfg, err = readBaseConfig(cfgName, cfgData); err != nil {
			return nil, err
		}
	}
	doc, err := readBaseDocument(name, tokData)
	if err != nil {
		return nil, err
	}

	sh := newShrinker(base)
	required, err := sh.requiredTokens(cfg, doc)
	if err != nil {
		return nil, err
	}
	counts := make([]int64, base.VocabSize())
	encoded := base.EncodeBatch(corpus)
	for _, ids := range encoded {
		for _, id := range ids {
			counts[id]++
		}
	}
	if err := sh.selectTokens(required, counts, vocabSize); err != nil {
		return nil, err
	}

	out := &Shrunk{}
	if out.TokenizerJSON, err = sh.writeTokenizer(doc); err != nil {
		return nil, err
	}
	if cfg != nil {
		if out.ConfigJSON, err = sh.writeConfig(cfg); err != nil {
			return nil, err
		}
	}
	small, err := tokenizer.Parse("shrunk "+tokenizer.TokenizerFile, out.TokenizerJSON, out.ConfigJSON)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: shrink produced an unreadable file: %w", err)
	}
	out.Stats = sh.stats(small, corpus, encoded)
	return out, nil
}

// gunzip decompresses data if it starts with the gzip magic number.
func gunzip(name string, data []byte) ([]byte, error) {
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		return data, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err == nil {
		data, err = io.ReadAll(zr)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return data, nil
}

// shrinker holds the base tokenizer and the selection being made from it.
type shrinker struct {
	base    *tokenizer.Tokenizer
	tokens  []string          // base id → token text
	entries []tokenizer.Entry // base id → what the base says of it

	inVocab []bool  // base id is in the model vocabulary
	added   []bool  // base id is an added token
	fixed   int     // ids [0, fixed) keep their place
	kept    []bool  // base id is kept
	newID   []int32 // base id → compact id, -1 when dropped
	order   []int32 // compact id → base id
	stamp   []int32 // scratch for deduplicating dependencies
	stampOf int32
	merges  []tokenizer.Merge // kept merges in base rank order, base ids
}

func newShrinker(base *tokenizer.Tokenizer) *shrinker {
	n := base.VocabSize()
	sh := &shrinker{base: base, tokens: make([]string, n), entries: base.Entries(),
		inVocab: make([]bool, n), added: make([]bool, n),
		kept: make([]bool, n), newID: make([]int32, n), stamp: make([]int32, n)}
	for id := range n {
		tok := base.IDToToken(int32(id))
		sh.tokens[id] = tok
		if tok == "" {
			continue
		}
		e := sh.entries[id]
		sh.inVocab[id] = e.InModel
		sh.added[id] = e.Added && e.Text == tok
	}
	for sh.fixed < n && (sh.added[sh.fixed] || sh.entries[sh.fixed].Byte) {
		sh.fixed++
	}
	return sh
}

// requiredTokens lists the base ids that must be kept whatever the corpus
// says, beyond the fixed leading block.
func (sh *shrinker) requiredTokens(cfg *baseConfig, doc *baseDocument) ([]int32, error) {
	b := sh.base
	var req []int32
	for id, e := range sh.entries {
		if e.Byte || e.Unknown {
			req = append(req, int32(id))
		}
	}
	need := func(what, tok string) error {
		id, ok := b.TokenToID(tok)
		if !ok {
			return fmt.Errorf("tokenizer: shrink: %s names %q, which the base tokenizer lacks", what, tok)
		}
		req = append(req, id)
		return nil
	}
	if cfg != nil {
		for _, ref := range cfg.tokenRefs {
			if err := need(tokenizer.TokenizerConfigFile+" "+ref.key, ref.token); err != nil {
				return nil, err
			}
		}
		// The template writes some added tokens literally (Gemma:
		// <start_of_turn>, <end_of_turn>, <start_of_image>): they must
		// still be one id each.
		if cfg.template != "" {
			for id, e := range sh.entries {
				if e.Added && strings.Contains(cfg.template, e.Text) {
					req = append(req, int32(id))
				}
			}
		}
	}
	for _, tok := range doc.postProcessorTokens {
		if err := need("post_processor", tok); err != nil {
			return nil, err
		}
	}
	slices.Sort(req)
	return slices.Compact(req), nil
}

// selectTokens chooses the kept tokens and numbers them.
func (sh *shrinker) selectTokens(required []int32, counts []int64, vocabSize int) error {
	n := int32(sh.base.VocabSize())
	size := 0
	keep := func(id int32) {
		if !sh.kept[id] {
			sh.kept[id] = true
			size++
		}
	}
	for id := range int32(sh.fixed) {
		keep(id)
	}
	for _, id := range required {
		keep(id)
	}
	if vocabSize < size {
		return fmt.Errorf("tokenizer: shrink: vocabulary size %d is below the %d tokens that must be kept (control, added and byte tokens)", vocabSize, size)
	}
	if vocabSize > int(n) {
		return fmt.Errorf("tokenizer: shrink: vocabulary size %d exceeds the base's %d ids", vocabSize, n)
	}
	mustOrder := slices.Clone(required) // the required tokens beyond the fixed block, by base id
	mustOrder = slices.DeleteFunc(mustOrder, func(id int32) bool { return id < int32(sh.fixed) })

	// Candidates: what the base emits on the corpus, most frequent first,
	// then every other token in base order to fill what is left.
	var seen []int32
	for id, c := range counts {
		if c > 0 && !sh.kept[id] {
			seen = append(seen, int32(id))
		}
	}
	slices.SortFunc(seen, func(a, b int32) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(a, b))
	})
	try := func(id int32) {
		deps, ok := sh.dependencies(id)
		if !ok {
			return
		}
		if size+sh.missing(deps) > vocabSize {
			return
		}
		for _, d := range deps {
			keep(d)
		}
	}
	for _, id := range seen {
		if size == vocabSize {
			break
		}
		try(id)
	}
	for id := int32(sh.fixed); id < n && size < vocabSize; id++ {
		if !sh.kept[id] && !sh.added[id] { // unused added tokens are no help
			try(id)
		}
	}

	// Numbering: the fixed block in place, the other required tokens,
	// then the rest by corpus frequency.
	sh.order = make([]int32, 0, size)
	for id := range int32(sh.fixed) {
		sh.order = append(sh.order, id)
	}
	sh.order = append(sh.order, mustOrder...)
	isMust := make(map[int32]bool, len(mustOrder))
	for _, id := range mustOrder {
		isMust[id] = true
	}
	var rest []int32
	for id := int32(sh.fixed); id < n; id++ {
		if sh.kept[id] && !isMust[id] {
			rest = append(rest, id)
		}
	}
	slices.SortFunc(rest, func(a, b int32) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(a, b))
	})
	sh.order = append(sh.order, rest...)
	for i := range sh.newID {
		sh.newID[i] = -1
	}
	for newID, id := range sh.order {
		sh.newID[id] = int32(newID)
	}

	// Merges: those whose parts and result are all kept, in base order.
	sh.merges = sh.merges[:0]
	for _, m := range sh.base.Merges() {
		if sh.kept[m.Left] && sh.kept[m.Right] && sh.kept[m.Merged] {
			sh.merges = append(sh.merges, m)
		}
	}
	return nil
}

// missing counts the distinct ids of deps not kept yet.
func (sh *shrinker) missing(deps []int32) int {
	sh.stampOf++
	n := 0
	for _, d := range deps {
		if !sh.kept[d] && sh.stamp[d] != sh.stampOf {
			sh.stamp[d] = sh.stampOf
			n++
		}
	}
	return n
}

// dependencies returns the base ids that id needs to be produced: for a
// token that BPE builds from its own text, the initial characters and
// every token made on the way (id included); for an added token that BPE
// does not build, id alone (it is matched in the text). ok is false for a
// token the base never emits.
func (sh *shrinker) dependencies(id int32) (deps []int32, ok bool) {
	tok := sh.tokens[id]
	if tok == "" {
		return nil, false
	}
	if sh.inVocab[id] {
		final, used := sh.base.TraceBPE(tok)
		if len(final) == 1 && final[0] == id {
			return used, true
		}
	}
	if sh.added[id] {
		return []int32{id}, true
	}
	return nil, false
}

// stats measures the compact tokenizer on the corpus next to the base.
func (sh *shrinker) stats(small *tokenizer.Tokenizer, corpus []string, baseIDs [][]int32) Stats {
	s := Stats{
		BaseVocabSize: sh.base.VocabSize(), VocabSize: small.VocabSize(),
		BaseMerges: len(sh.base.Merges()), Merges: len(sh.merges), Fixed: sh.fixed, CorpusTexts: len(corpus),
	}
	smallIDs := small.EncodeBatch(corpus)
	for i, text := range corpus {
		s.CorpusChars += int64(utf8.RuneCountInString(text))
		s.BaseTokens += int64(len(baseIDs[i]))
		s.Tokens += int64(len(smallIDs[i]))
		if sh.sameIDs(smallIDs[i], baseIDs[i]) {
			s.IdenticalTexts++
		}
	}
	return s
}

// sameIDs reports whether compact ids name the same tokens as base ids.
func (sh *shrinker) sameIDs(small, base []int32) bool {
	if len(small) != len(base) {
		return false
	}
	for i, id := range base {
		if sh.newID[id] != small[i] {
			return false
		}
	}
	return true
}

// baseDocument is the top level of the base tokenizer.json: its members in
// order, as raw JSON, and the parts of the model section.
type baseDocument struct {
	members             []rawMember
	model               []rawMember
	postProcessorTokens []string // tokens the post-processor inserts
}

type rawMember struct {
	key string
	raw []byte
}

func readBaseDocument(name string, data []byte) (*baseDocument, error) {
	members, err := rawMembers(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	doc := &baseDocument{}
	for _, m := range members {
		if m.key == "model" {
			if doc.model, err = rawMembers(m.raw); err != nil {
				return nil, fmt.Errorf("%s: model: %w", name, err)
			}
			m.raw = nil
		}
		doc.members = append(doc.members, m)
	}
	for _, m := range doc.members {
		if m.key == "post_processor" {
			if doc.postProcessorTokens, err = postProcessorTokens(m.raw); err != nil {
				return nil, fmt.Errorf("%s: post_processor: %w", name, err)
			}
		}
	}
	return doc, nil
}

// rawMembers returns the members of the JSON object data, in order, with
// their values as raw JSON.
func rawMembers(data []byte) ([]rawMember, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("want a JSON object")
	}
	var members []rawMember
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		members = append(members, rawMember{key: key.(string), raw: raw})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON object")
	}
	return members, nil
}

// postProcessorTokens lists the tokens of a post-processor's
// "special_tokens" (TemplateProcessing: {"<bos>": {"tokens": ["<bos>"], "ids": [2]}}).
func postProcessorTokens(raw []byte) ([]string, error) {
	var pp struct {
		SpecialTokens map[string]struct {
			Tokens []string `json:"tokens"`
		} `json:"special_tokens"`
	}
	if string(bytes.TrimSpace(raw)) == "null" {
		return nil, nil
	}
	if err := json.Unmarshal(raw, &pp); err != nil {
		return nil, err
	}
	var toks []string
	for _, st := range pp.SpecialTokens {
		toks = append(toks, st.Tokens...)
	}
	slices.Sort(toks)
	return toks, nil
}

// remapPostProcessor rewrites the ids of the post-processor's special
// tokens to the compact ones; it returns raw unchanged when no id moves.
func (sh *shrinker) remapPostProcessor(raw []byte) ([]byte, error) {
	var pp map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&pp); err != nil || pp == nil {
		return raw, err // null, or checked by readBaseDocument
	}
	specials, _ := pp["special_tokens"].(map[string]any)
	moved := false
	for _, v := range specials {
		st, _ := v.(map[string]any)
		toks, _ := st["tokens"].([]any)
		ids := make([]any, len(toks))
		for i, t := range toks {
			s, _ := t.(string)
			id, _ := sh.base.TokenToID(s) // present: required
			ids[i] = json.Number(strconv.Itoa(int(sh.newID[id])))
			if old, ok := st["ids"].([]any); !ok || i >= len(old) || old[i] != ids[i] {
				moved = true
			}
		}
		st["ids"] = ids
	}
	if !moved {
		return raw, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(pp); err != nil {
		return nil, err
	}
	return bytes.TrimSpace(buf.Bytes()), nil
}

// writeTokenizer writes the compact tokenizer.json: the base document with
// new added tokens, vocabulary and merges, and every other section as it
// was.
func (sh *shrinker) writeTokenizer(doc *baseDocument) ([]byte, error) {
	var w jsonWriter
	w.open('{')
	for _, m := range doc.members {
		w.key(m.key)
		switch m.key {
		case "added_tokens":
			w.open('[')
			for newID, id := range sh.order {
				if !sh.added[id] {
					continue
				}
				a := sh.entries[id]
				w.elem()
				w.raw(fmt.Appendf(nil, `{"id": %d, "content": `, newID))
				w.str(sh.tokens[id])
				w.raw(fmt.Appendf(nil, `, "single_word": %t, "lstrip": %t, "rstrip": %t, "normalized": %t, "special": %t}`,
					a.SingleWord, a.LStrip, a.RStrip, a.Normalized, a.Special))
			}
			w.close(']')
		case "post_processor":
			raw, err := sh.remapPostProcessor(m.raw)
			if err != nil {
				return nil, fmt.Errorf("tokenizer: shrink: post_processor: %w", err)
			}
			w.raw(raw)
		case "model":
			sh.writeModel(&w, doc.model)
		default:
			w.raw(m.raw)
		}
	}
	w.close('}')
	return w.indented()
}

func (sh *shrinker) writeModel(w *jsonWriter, members []rawMember) {
	tokens := sh.tokens
	w.open('{')
	for _, m := range members {
		w.key(m.key)
		switch m.key {
		case "vocab":
			// Every kept token, added ones included (as in Gemma's file), so
			// that the ids are contiguous.
			w.open('{')
			for newID, id := range sh.order {
				w.key(tokens[id])
				w.raw(strconv.AppendInt(nil, int64(newID), 10))
			}
			w.close('}')
		case "merges":
			w.open('[')
			for _, e := range sh.merges {
				w.elem()
				w.raw([]byte{'['})
				w.str(tokens[e.Left])
				w.raw([]byte{',', ' '})
				w.str(tokens[e.Right])
				w.raw([]byte{']'})
			}
			w.close(']')
		default:
			w.raw(m.raw)
		}
	}
	w.close('}')
}

// baseConfig is a tokenizer_config.json kept as raw members in order.
type baseConfig struct {
	members   []rawMember
	decoder   map[string][]byte // added_tokens_decoder: base id → raw entry
	tokenRefs []configRef
	template  string
}

// configRef is a token that a config field names.
type configRef struct{ key, token string }

func readBaseConfig(name string, data []byte) (*baseConfig, error) {
	members, err := rawMembers(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cfg := &baseConfig{decoder: map[string][]byte{}}
	for _, m := range members {
		if m.key == "added_tokens_decoder" {
			entries, err := rawMembers(m.raw)
			if err != nil {
				return nil, fmt.Errorf("%s: added_tokens_decoder: %w", name, err)
			}
			for _, e := range entries {
				cfg.decoder[e.key] = e.raw
			}
			m.raw = nil
		}
		cfg.members = append(cfg.members, m)
	}
	for _, m := range cfg.members {
		switch m.key {
		case "added_tokens_decoder":
		case "chat_template":
			t, err := tokenizer.ParseChatTemplate(m.raw)
			if err != nil {
				return nil, fmt.Errorf("%s: chat_template: %w", name, err)
			}
			cfg.template = t
		default:
			var v any
			if err := json.Unmarshal(m.raw, &v); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", name, m.key, err)
			}
			cfg.tokenRefs = append(cfg.tokenRefs, tokenStrings(m.key, v)...)
		}
	}
	return cfg, nil
}

// tokenStrings finds the token names in a config value: fields whose name
// ends in "_token" or "_tokens" (bos_token, additional_special_tokens,
// boi_token) and the members of extra_special_tokens, as strings or
// {"content": ...} objects.
func tokenStrings(key string, v any) []configRef {
	isTokenKey := strings.HasSuffix(key, "_token") || strings.HasSuffix(key, "_tokens")
	switch v := v.(type) {
	case string:
		if isTokenKey {
			return []configRef{{key, v}}
		}
	case []any:
		if isTokenKey {
			var refs []configRef
			for _, e := range v {
				refs = append(refs, tokenStrings(key, e)...)
			}
			return refs
		}
	case map[string]any:
		if c, ok := v["content"].(string); ok && isTokenKey {
			return []configRef{{key, c}}
		}
		if key == "extra_special_tokens" {
			var refs []configRef
			for _, k := range slices.Sorted(maps.Keys(v)) {
				refs = append(refs, tokenStrings(key+"."+k+"_token", v[k])...)
			}
			return refs
		}
	}
	return nil
}

// writeConfig writes the compact tokenizer_config.json: the base's with
// added_tokens_decoder cut to the kept added tokens under their new ids.
func (sh *shrinker) writeConfig(cfg *baseConfig) ([]byte, error) {
	var w jsonWriter
	w.open('{')
	for _, m := range cfg.members {
		w.key(m.key)
		if m.key != "added_tokens_decoder" {
			w.raw(m.raw)
			continue
		}
		w.open('{')
		for newID, id := range sh.order {
			if !sh.added[id] {
				continue
			}
			w.key(strconv.Itoa(newID))
			if raw, ok := cfg.decoder[strconv.Itoa(int(id))]; ok {
				w.raw(raw)
				continue
			}
			a := sh.entries[id]
			w.raw([]byte(`{"content": `))
			w.str(sh.tokens[id])
			w.raw(fmt.Appendf(nil, `, "lstrip": %t, "normalized": %t, "rstrip": %t, "single_word": %t, "special": %t}`,
				a.LStrip, a.Normalized, a.RStrip, a.SingleWord, a.Special))
		}
		w.close('}')
	}
	w.close('}')
	return w.indented()
}

// jsonWriter builds a JSON document piece by piece; indented lays it out
// with two-space indentation, as Hugging Face writes these files.
type jsonWriter struct {
	buf   []byte
	first []bool // per open container: no element written yet
}

func (w *jsonWriter) open(c byte) {
	w.buf = append(w.buf, c)
	w.first = append(w.first, true)
}

func (w *jsonWriter) close(c byte) {
	w.buf = append(w.buf, c)
	w.first = w.first[:len(w.first)-1]
}

// elem starts an array element or object member.
func (w *jsonWriter) elem() {
	if top := len(w.first) - 1; w.first[top] {
		w.first[top] = false
	} else {
		w.buf = append(w.buf, ',')
	}
}

func (w *jsonWriter) key(k string) {
	w.elem()
	w.str(k)
	w.buf = append(w.buf, ':')
}

func (w *jsonWriter) raw(b []byte) { w.buf = append(w.buf, b...) }

// str appends s as a JSON string, written by encoding/json without its
// HTML escaping: non-ASCII text and <, >, & stay as they are, as in
// Hugging Face's files.
func (w *jsonWriter) str(s string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	w.buf = append(w.buf, bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})...)
}

func (w *jsonWriter) indented() ([]byte, error) {
	var out bytes.Buffer
	out.Grow(2 * len(w.buf))
	if err := json.Indent(&out, w.buf, "", "  "); err != nil {
		return nil, fmt.Errorf("tokenizer: shrink: writing JSON: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
