package tokenizer

import (
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// workspace holds one goroutine's scratch buffers and its cache of encoded
// chunks. Workspaces live in a sync.Pool, so concurrent encoders never
// share one and never contend on a lock.
type workspace struct {
	text  []byte
	norm  [2][]byte
	spans [2][]span
	syms  []symbol
	heap  []candidate
	out   []int32

	cache map[string][]int32
	arena []int32 // backing store of the cached id slices
}

// maxCacheEntries bounds a workspace's cache; it is cleared when full.
const maxCacheEntries = 1 << 16

func (ws *workspace) remember(key string, ids []int32) {
	if len(ws.cache) >= maxCacheEntries {
		clear(ws.cache)
		ws.arena = nil
	}
	if cap(ws.arena)-len(ws.arena) < len(ids) {
		ws.arena = make([]int32, 0, max(1<<14, len(ids)))
	}
	start := len(ws.arena)
	ws.arena = append(ws.arena, ids...)
	ws.cache[key] = ws.arena[start:len(ws.arena):len(ws.arena)]
}

func (t *Tokenizer) getWorkspace() *workspace {
	if ws, ok := t.workspaces.Get().(*workspace); ok {
		return ws
	}
	if t.noCache {
		return &workspace{}
	}
	return &workspace{cache: make(map[string][]int32, 1024)}
}

// Encode returns the ids of text, without <bos>. Added tokens written in
// the text (such as "<start_of_turn>") become their ids.
func (t *Tokenizer) Encode(text string) []int32 {
	ws := t.getWorkspace()
	out := t.encodeInto(ws, text, ws.out[:0])
	ids := slices.Clone(out)
	if ids == nil {
		ids = []int32{}
	}
	ws.out = out[:0]
	t.workspaces.Put(ws)
	return ids
}

// EncodeWithBOS returns the ids of text after the <bos> id (the same as
// Encode when the vocabulary has no BOS token).
func (t *Tokenizer) EncodeWithBOS(text string) []int32 {
	ids := make([]int32, 0, len(text)/3+2)
	if t.bos >= 0 {
		ids = append(ids, t.bos)
	}
	return t.Append(ids, text)
}

// Append appends the ids of text (without <bos>) to dst and returns the
// extended slice.
func (t *Tokenizer) Append(dst []int32, text string) []int32 {
	ws := t.getWorkspace()
	dst = t.encodeInto(ws, text, dst)
	t.workspaces.Put(ws)
	return dst
}

// EncodeBatch encodes many texts on all cores (GOMAXPROCS workers); the
// result is in the order of texts, each without <bos>.
func (t *Tokenizer) EncodeBatch(texts []string) [][]int32 {
	result := make([][]int32, len(texts))
	workers := min(runtime.GOMAXPROCS(0), len(texts))
	if workers <= 1 {
		for i, text := range texts {
			result[i] = t.Encode(text)
		}
		return result
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			ws := t.getWorkspace()
			defer t.workspaces.Put(ws)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(texts) {
					return
				}
				out := t.encodeInto(ws, texts[i], ws.out[:0])
				result[i] = slices.Clone(out)
				if result[i] == nil {
					result[i] = []int32{}
				}
				ws.out = out[:0]
			}
		})
	}
	wg.Wait()
	return result
}

// encodeInto appends the ids of text to out: added tokens are cut out of
// the raw text first, and the text between them is normalized,
// pre-tokenized and encoded with BPE.
func (t *Tokenizer) encodeInto(ws *workspace, text string, out []int32) []int32 {
	ws.text = append(ws.text[:0], text...)
	return encodeAround(&t.added.raw, ws.text, out, func(seg []byte, out []int32) []int32 {
		return t.encodeSegment(ws, seg, out)
	})
}

// encodeSegment encodes text that holds no raw added token.
func (t *Tokenizer) encodeSegment(ws *workspace, seg []byte, out []int32) []int32 {
	if len(seg) == 0 {
		return out
	}
	cur := seg
	for i, n := range t.normalizers {
		buf := &ws.norm[i%2]
		*buf = n.apply((*buf)[:0], cur)
		cur = *buf
	}
	return encodeAround(&t.added.normalized, cur, out, func(text []byte, out []int32) []int32 {
		return t.encodeNormalized(ws, text, out)
	})
}

// encodeAround appends the ids of s to out: each added token that trie
// finds in s as its id, the text between them as encode encodes it.
func encodeAround(trie *tokenTrie, s []byte, out []int32, encode func(text []byte, out []int32) []int32) []int32 {
	if trie.empty() {
		return encode(s, out)
	}
	start := 0
	for {
		m, ok := trie.next(s, start, start)
		if !ok {
			return encode(s[start:], out)
		}
		out = encode(s[start:m.start], out)
		out = append(out, m.id)
		start = m.end
	}
}

// encodeNormalized pre-tokenizes normalized text into words and encodes
// each with the model.
func (t *Tokenizer) encodeNormalized(ws *workspace, text []byte, out []int32) []int32 {
	if len(text) == 0 {
		return out
	}
	if len(t.preTokenizers) == 0 {
		return t.model.encodeWord(ws, text, out)
	}
	spans := append(ws.spans[0][:0], span{0, len(text)})
	other := ws.spans[1][:0]
	for _, p := range t.preTokenizers {
		other = p.split(text, spans, other[:0])
		spans, other = other, spans
	}
	ws.spans[0], ws.spans[1] = spans, other
	for _, sp := range spans {
		out = t.model.encodeWord(ws, text[sp.start:sp.end], out)
	}
	return out
}

// Decode returns the text of ids. With skipSpecial, special tokens (<bos>,
// <end_of_turn>, ...) are left out. Ids outside the vocabulary are skipped.
// Byte-fallback runs that are not valid UTF-8 decode to U+FFFD per byte.
func (t *Tokenizer) Decode(ids []int32, skipSpecial bool) string {
	toks := make([]string, 0, len(ids))
	for _, id := range ids {
		if id < 0 || int(id) >= len(t.tokens) || t.tokens[id] == "" {
			continue
		}
		if skipSpecial && t.special[id] {
			continue
		}
		toks = append(toks, t.tokens[id])
	}
	if !t.hasDecoderStep {
		return strings.Join(toks, " ")
	}
	for _, d := range t.decoders {
		toks = d.decodeChain(toks)
	}
	return strings.Join(toks, "")
}
