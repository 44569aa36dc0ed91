package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The normalizer, pre-tokenizer and decoder steps of tokenizer.json that
// the Gemma family uses. Any other step is reported as unsupported rather
// than silently ignored, since it would change the ids.

// component is the common shape of a pipeline step in tokenizer.json.
type component struct {
	Type    string          `json:"type"`
	Pattern json.RawMessage `json:"pattern"`
	Content *string         `json:"content"`
	Prepend *string         `json:"prepend"`

	Behavior string `json:"behavior"`
	Invert   bool   `json:"invert"`

	Start int `json:"start"`
	Stop  int `json:"stop"`

	Normalizers   []json.RawMessage `json:"normalizers"`
	PreTokenizers []json.RawMessage `json:"pretokenizers"`
	Decoders      []json.RawMessage `json:"decoders"`
}

func parseComponent(raw []byte) (*component, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var c component
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	if c.Type == "" {
		return nil, fmt.Errorf("missing \"type\"")
	}
	return &c, nil
}

// parseSequence parses the steps of a Sequence (the list field, for
// errors) with parse, in order, into one list.
func parseSequence[T any](field string, steps []json.RawMessage, parse func([]byte) ([]T, error)) ([]T, error) {
	var all []T
	for i, step := range steps {
		parsed, err := parse(step)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", field, i, err)
		}
		all = append(all, parsed...)
	}
	return all, nil
}

// replaceArgs reads the pattern and the content of a Replace step.
func (c *component) replaceArgs() (pattern, content string, err error) {
	pattern, err = stringPattern(c.Pattern)
	if err != nil {
		return "", "", fmt.Errorf("Replace: %w", err)
	}
	if c.Content == nil {
		return "", "", fmt.Errorf("Replace: missing \"content\"")
	}
	return pattern, *c.Content, nil
}

// stringPattern reads {"String": "..."}; regular expressions are not
// supported (no Gemma tokenizer uses one here).
func stringPattern(raw json.RawMessage) (string, error) {
	var p struct {
		String *string `json:"String"`
		Regex  *string `json:"Regex"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return "", fmt.Errorf("pattern: %w", err)
	}
	switch {
	case p.Regex != nil:
		return "", fmt.Errorf("regular-expression patterns are not supported")
	case p.String == nil:
		return "", fmt.Errorf("pattern: want {\"String\": ...}")
	case *p.String == "":
		return "", fmt.Errorf("empty pattern")
	}
	return *p.String, nil
}

// normalizer rewrites a segment of text before pre-tokenization.
type normalizer interface {
	// apply appends the normalized src to dst.
	apply(dst, src []byte) []byte
}

// replaceNormalizer replaces every occurrence of a string (Gemma: " " → "▁").
type replaceNormalizer struct{ pattern, content []byte }

func (n replaceNormalizer) apply(dst, src []byte) []byte {
	for {
		var i int
		if len(n.pattern) == 1 {
			i = bytes.IndexByte(src, n.pattern[0])
		} else {
			i = bytes.Index(src, n.pattern)
		}
		if i < 0 {
			return append(dst, src...)
		}
		dst = append(append(dst, src[:i]...), n.content...)
		src = src[i+len(n.pattern):]
	}
}

// prependNormalizer puts a prefix in front of non-empty text (Gemma 1 and
// 2: "▁").
type prependNormalizer struct{ prefix []byte }

func (n prependNormalizer) apply(dst, src []byte) []byte {
	if len(src) == 0 {
		return dst
	}
	return append(append(dst, n.prefix...), src...)
}

func parseNormalizer(raw []byte) ([]normalizer, error) {
	c, err := parseComponent(raw)
	if err != nil || c == nil {
		return nil, err
	}
	switch c.Type {
	case "Sequence":
		return parseSequence("normalizers", c.Normalizers, parseNormalizer)
	case "Replace":
		p, content, err := c.replaceArgs()
		if err != nil {
			return nil, err
		}
		return []normalizer{replaceNormalizer{[]byte(p), []byte(content)}}, nil
	case "Prepend":
		if c.Prepend == nil {
			return nil, fmt.Errorf("Prepend: missing \"prepend\"")
		}
		return []normalizer{prependNormalizer{[]byte(*c.Prepend)}}, nil
	}
	return nil, fmt.Errorf("normalizer type %q is not supported (supported: Replace, Prepend, Sequence)", c.Type)
}

// span is a [start, end) range of bytes.
type span struct{ start, end int }

// splitter is a pre-tokenizer: it cuts spans of normalized text into words.
type splitter interface {
	split(text []byte, in, out []span) []span
}

// Split behaviours of the reference implementation.
const (
	behaviorRemoved            = "Removed"
	behaviorIsolated           = "Isolated"
	behaviorMergedWithPrevious = "MergedWithPrevious"
	behaviorMergedWithNext     = "MergedWithNext"
	behaviorContiguous         = "Contiguous"
)

// stringSplitter is the Split pre-tokenizer with a string pattern. (For
// Gemma 3 it splits on " ", which the normalizer has already replaced, so
// it never cuts anything: the whole segment is one word.)
type stringSplitter struct {
	pattern  []byte
	behavior string
	invert   bool
}

type piece struct {
	span
	match bool
}

func (p stringSplitter) split(text []byte, in, out []span) []span {
	var pieces []piece
	for _, sp := range in {
		pieces = pieces[:0]
		seg := text[sp.start:sp.end]
		last := 0
		for {
			i := bytes.Index(seg[last:], p.pattern)
			if i < 0 {
				break
			}
			i += last
			if i > last {
				pieces = append(pieces, piece{span{sp.start + last, sp.start + i}, p.invert})
			}
			pieces = append(pieces, piece{span{sp.start + i, sp.start + i + len(p.pattern)}, !p.invert})
			last = i + len(p.pattern)
		}
		if last < len(seg) || len(pieces) == 0 {
			pieces = append(pieces, piece{span{sp.start + last, sp.end}, p.invert})
		}
		out = p.merge(pieces, out)
	}
	return out
}

// merge applies the behaviour to the pieces of one span.
func (p stringSplitter) merge(pieces []piece, out []span) []span {
	first := len(out)
	switch p.behavior {
	case behaviorRemoved:
		for _, pc := range pieces {
			if !pc.match {
				out = append(out, pc.span)
			}
		}
	case behaviorIsolated:
		for _, pc := range pieces {
			out = append(out, pc.span)
		}
	case behaviorMergedWithPrevious:
		prevMatch := false
		for _, pc := range pieces {
			if pc.match && !prevMatch && len(out) > first {
				out[len(out)-1].end = pc.end
			} else {
				out = append(out, pc.span)
			}
			prevMatch = pc.match
		}
	case behaviorMergedWithNext:
		// The reference folds from the right.
		prevMatch := false
		var rev []span
		for i := len(pieces) - 1; i >= 0; i-- {
			pc := pieces[i]
			if pc.match && !prevMatch && len(rev) > 0 {
				rev[len(rev)-1].start = pc.start
			} else {
				rev = append(rev, pc.span)
			}
			prevMatch = pc.match
		}
		for i := len(rev) - 1; i >= 0; i-- {
			out = append(out, rev[i])
		}
	case behaviorContiguous:
		prevMatch := false
		for i, pc := range pieces {
			if i > 0 && pc.match == prevMatch && len(out) > first {
				out[len(out)-1].end = pc.end
			} else {
				out = append(out, pc.span)
			}
			prevMatch = pc.match
		}
	}
	// Empty words are dropped, as in the reference.
	kept := first
	for _, sp := range out[first:] {
		if sp.end > sp.start {
			out[kept] = sp
			kept++
		}
	}
	return out[:kept]
}

func parsePreTokenizer(raw []byte) ([]splitter, error) {
	c, err := parseComponent(raw)
	if err != nil || c == nil {
		return nil, err
	}
	switch c.Type {
	case "Sequence":
		return parseSequence("pretokenizers", c.PreTokenizers, parsePreTokenizer)
	case "Split":
		p, err := stringPattern(c.Pattern)
		if err != nil {
			return nil, fmt.Errorf("Split: %w", err)
		}
		switch c.Behavior {
		case behaviorRemoved, behaviorIsolated, behaviorMergedWithPrevious, behaviorMergedWithNext, behaviorContiguous:
		default:
			return nil, fmt.Errorf("Split: unknown behavior %q", c.Behavior)
		}
		return []splitter{stringSplitter{[]byte(p), c.Behavior, c.Invert}}, nil
	}
	return nil, fmt.Errorf("pre-tokenizer type %q is not supported (supported: Split with a string pattern, Sequence)", c.Type)
}

// decoder is one step of the decoding pipeline, over token strings.
type decoder interface {
	decodeChain(tokens []string) []string
}

type replaceDecoder struct{ pattern, content string }

func (d replaceDecoder) decodeChain(tokens []string) []string {
	for i, t := range tokens {
		if strings.Contains(t, d.pattern) {
			tokens[i] = strings.ReplaceAll(t, d.pattern, d.content)
		}
	}
	return tokens
}

// byteFallbackDecoder turns runs of <0xNN> tokens back into bytes; a run
// that is not valid UTF-8 becomes one U+FFFD per byte, as in the reference.
type byteFallbackDecoder struct{}

func (byteFallbackDecoder) decodeChain(tokens []string) []string {
	out := tokens[:0:0]
	var pending []byte
	flush := func() {
		if len(pending) == 0 {
			return
		}
		if utf8.Valid(pending) {
			out = append(out, string(pending))
		} else {
			for range pending {
				out = append(out, "\uFFFD")
			}
		}
		pending = pending[:0]
	}
	for _, t := range tokens {
		if len(t) == 6 && t[:3] == "<0x" && t[5] == '>' {
			if b, ok := parseHexByte(t[3:5]); ok {
				pending = append(pending, b)
				continue
			}
		}
		flush()
		out = append(out, t)
	}
	flush()
	return out
}

type fuseDecoder struct{}

func (fuseDecoder) decodeChain(tokens []string) []string {
	if len(tokens) <= 1 {
		return tokens
	}
	return []string{strings.Join(tokens, "")}
}

// stripDecoder removes up to start leading and stop trailing copies of a
// character from every token.
type stripDecoder struct {
	content     rune
	start, stop int
}

func (d stripDecoder) decodeChain(tokens []string) []string {
	for i, t := range tokens {
		for n := 0; n < d.start; n++ {
			r, size := utf8.DecodeRuneInString(t)
			if size == 0 || r != d.content {
				break
			}
			t = t[size:]
		}
		for n := 0; n < d.stop; n++ {
			r, size := utf8.DecodeLastRuneInString(t)
			if size == 0 || r != d.content {
				break
			}
			t = t[:len(t)-size]
		}
		tokens[i] = t
	}
	return tokens
}

func parseDecoder(raw []byte) ([]decoder, error) {
	c, err := parseComponent(raw)
	if err != nil || c == nil {
		return nil, err
	}
	switch c.Type {
	case "Sequence":
		return parseSequence("decoders", c.Decoders, parseDecoder)
	case "Replace":
		p, content, err := c.replaceArgs()
		if err != nil {
			return nil, err
		}
		return []decoder{replaceDecoder{p, content}}, nil
	case "ByteFallback":
		return []decoder{byteFallbackDecoder{}}, nil
	case "Fuse":
		return []decoder{fuseDecoder{}}, nil
	case "Strip":
		if c.Content == nil || utf8.RuneCountInString(*c.Content) != 1 {
			return nil, fmt.Errorf("Strip: \"content\" must be one character")
		}
		if c.Start < 0 || c.Stop < 0 {
			return nil, fmt.Errorf("Strip: negative start or stop")
		}
		r, _ := utf8.DecodeRuneInString(*c.Content)
		return []decoder{stripDecoder{r, c.Start, c.Stop}}, nil
	}
	return nil, fmt.Errorf("decoder type %q is not supported (supported: Replace, ByteFallback, Fuse, Strip, Sequence)", c.Type)
}
