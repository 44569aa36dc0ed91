package tokenizer

import (
	"bytes"
	"math/bits"
	"unicode/utf8"
)

// bpeModel is a byte-pair-encoding model with SentencePiece-style byte
// fallback, as the Hugging Face "BPE" model with byte_fallback.
type bpeModel struct {
	merges mergeTable

	unk          int32 // -1 if none
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool
	wordIDs      *tokenIndex // model vocabulary, for ignoreMerges

	// Ids of one-character tokens: a dense table for the Basic Multilingual
	// Plane (the hot path) and a map for the rest.
	runeLow  []int32
	runeHigh map[rune]int32
	byteIDs  [256]int32 // <0xNN> tokens; -1 when absent

	// Chunking: a word is cut in front of each "▁" that follows a character
	// after which no merge can join a token starting with "▁"; the pieces
	// then encode independently (and cache well). See finish.
	chunking             bool
	noSplitAfter         map[rune]bool
	noSplitAfterFallback bool // after byte-fallback or unknown characters

	pendingMerges []mergeEntry // collected while parsing, indexed in finish
}

type mergeEntry struct {
	left, right, rank, merged int32
}

const runeLowLimit = 0x10000

// spaceMark is SentencePiece's visible space, U+2581.
const spaceMark = "▁"

func newBPEModel() *bpeModel {
	m := &bpeModel{unk: -1}
	for i := range m.byteIDs {
		m.byteIDs[i] = -1
	}
	return m
}

func (m *bpeModel) addMerge(left, right, rank, merged int32) {
	m.pendingMerges = append(m.pendingMerges, mergeEntry{left, right, rank, merged})
}

// finish builds the lookup tables once the vocabulary and merges are read.
func (m *bpeModel) finish(v *vocabulary) {
	m.merges = newMergeTable(len(m.pendingMerges))
	for _, e := range m.pendingMerges {
		m.merges.put(e.left, e.right, e.rank, e.merged)
	}
	if m.ignoreMerges {
		m.wordIDs = v.index
	}

	m.runeLow = make([]int32, runeLowLimit)
	for i := range m.runeLow {
		m.runeLow[i] = -1
	}
	m.runeHigh = map[rune]int32{}
	for id, tok := range v.byID {
		if tok == "" {
			continue
		}
		r, size := utf8.DecodeRuneInString(tok)
		if size == len(tok) && !(r == utf8.RuneError && size <= 1) {
			if r < runeLowLimit {
				m.runeLow[r] = int32(id)
			} else {
				m.runeHigh[r] = int32(id)
			}
		}
		if len(tok) == 6 && tok[:3] == "<0x" && tok[5] == '>' {
			if b, ok := parseHexByte(tok[3:5]); ok {
				m.byteIDs[b] = int32(id)
			}
		}
	}

	// A merge (a, b) with b starting with "▁" and a not ending with "▁" is
	// the only kind that can join text across a cut in front of "▁"; the
	// cut is safe after any character that no such a ends with. (Gemma 3
	// has exactly one: ">" + "▁</".)
	m.noSplitAfter = map[rune]bool{}
	_, spaceKnown := v.lookupString(spaceMark)
	m.chunking = spaceKnown && !m.ignoreMerges
	for _, e := range m.pendingMerges {
		a, b := v.byID[e.left], v.byID[e.right]
		if len(b) >= len(spaceMark) && b[:len(spaceMark)] == spaceMark && !endsWithSpaceMark(a) {
			r, _ := utf8.DecodeLastRuneInString(a)
			m.noSplitAfter[r] = true
		}
	}
	// Byte-fallback tokens and <unk> end with ">" in the merges' terms.
	m.noSplitAfterFallback = m.noSplitAfter['>']
	if m.unk >= 0 {
		r, _ := utf8.DecodeLastRuneInString(v.byID[m.unk])
		m.noSplitAfterFallback = m.noSplitAfterFallback || m.noSplitAfter[r]
	}
	m.pendingMerges = nil
}

func endsWithSpaceMark(s string) bool {
	return len(s) >= len(spaceMark) && s[len(s)-len(spaceMark):] == spaceMark
}

func parseHexByte(s string) (byte, bool) {
	var v byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | (c - '0')
		case c >= 'A' && c <= 'F':
			v = v<<4 | (c - 'A' + 10)
		case c >= 'a' && c <= 'f':
			v = v<<4 | (c - 'a' + 10)
		default:
			return 0, false
		}
	}
	return v, len(s) == 2
}

// runeID returns the id of the one-character token r, or -1.
func (m *bpeModel) runeID(r rune) int32 {
	if r < runeLowLimit {
		return m.runeLow[r]
	}
	if id, ok := m.runeHigh[r]; ok {
		return id
	}
	return -1
}

// encodeWord appends the ids of one pre-tokenized word.
func (m *bpeModel) encodeWord(ws *workspace, word []byte, out []int32) []int32 {
	if m.ignoreMerges {
		if id, ok := m.wordIDs.lookup(word); ok {
			return append(out, id)
		}
	}
	if !m.chunking {
		return m.encodeCached(ws, word, out)
	}
	start := 0
	for pos := 0; pos < len(word); {
		j := bytes.Index(word[pos:], []byte(spaceMark))
		if j < 0 {
			break
		}
		p := pos + j
		pos = p + len(spaceMark)
		if p > start && m.canSplitBefore(word[:p]) {
			out = m.encodeCached(ws, word[start:p], out)
			start = p
		}
	}
	return m.encodeCached(ws, word[start:], out)
}

// canSplitBefore reports whether a word may be cut right after prefix
// (which is followed by "▁").
func (m *bpeModel) canSplitBefore(prefix []byte) bool {
	r, size := utf8.DecodeLastRune(prefix)
	if r == utf8.RuneError && size == 1 {
		return !m.noSplitAfterFallback // an invalid byte: byte fallback
	}
	if string(prefix[len(prefix)-size:]) == spaceMark {
		return false
	}
	if m.runeID(r) < 0 {
		return !m.noSplitAfterFallback
	}
	return !m.noSplitAfter[r]
}

// maxCachedChunk bounds the length of the chunks kept in a worker's cache
// (long chunks are rare and would only bloat it).
const maxCachedChunk = 64

func (m *bpeModel) encodeCached(ws *workspace, chunk []byte, out []int32) []int32 {
	if len(chunk) > maxCachedChunk || ws.cache == nil {
		return m.encodeChunk(ws, chunk, out)
	}
	if ids, ok := ws.cache[string(chunk)]; ok {
		return append(out, ids...)
	}
	n := len(out)
	out = m.encodeChunk(ws, chunk, out)
	ws.remember(string(chunk), out[n:])
	return out
}

// symbol is a node of the doubly linked list that BPE merges in place.
type symbol struct {
	id         int32
	prev, next int32 // indices; -1 at the ends
	dead       bool  // merged into its left neighbour
}

// candidate is a possible merge of the symbol at pos with its right
// neighbour, ordered by rank and then position (leftmost first), exactly as
// the reference implementation's priority queue.
type candidate struct {
	key    uint64 // rank<<32 | pos
	merged int32
}

// encodeChunk runs BPE over one chunk and appends the resulting ids.
func (m *bpeModel) encodeChunk(ws *workspace, chunk []byte, out []int32) []int32 {
	syms := m.initialSymbols(ws.syms[:0], chunk)
	ws.syms = syms
	if len(syms) < 2 {
		for _, s := range syms {
			out = append(out, s.id)
		}
		return out
	}
	for i := range syms {
		syms[i].prev, syms[i].next = int32(i-1), int32(i+1)
	}
	syms[len(syms)-1].next = -1

	h := ws.heap[:0]
	for i := 0; i+1 < len(syms); i++ {
		if rank, merged, ok := m.merges.get(syms[i].id, syms[i+1].id); ok {
			h = append(h, candidate{uint64(rank)<<32 | uint64(i), merged})
		}
	}
	heapify(h)
	for len(h) > 0 {
		top := h[0]
		h = heapPop(h)
		pos := int32(top.key)
		s := &syms[pos]
		if s.dead || s.next < 0 {
			continue
		}
		right := &syms[s.next]
		// Skip stale candidates: the pair at pos changed since it was queued.
		if _, merged, ok := m.merges.get(s.id, right.id); !ok || merged != top.merged {
			continue
		}
		s.id = top.merged
		right.dead = true
		s.next = right.next
		if s.next >= 0 {
			syms[s.next].prev = pos
		}
		if s.prev >= 0 {
			if rank, merged, ok := m.merges.get(syms[s.prev].id, s.id); ok {
				h = heapPush(h, candidate{uint64(rank)<<32 | uint64(s.prev), merged})
			}
		}
		if s.next >= 0 {
			if rank, merged, ok := m.merges.get(s.id, syms[s.next].id); ok {
				h = heapPush(h, candidate{uint64(rank)<<32 | uint64(pos), merged})
			}
		}
	}
	ws.heap = h
	for i := int32(0); i >= 0; i = syms[i].next {
		out = append(out, syms[i].id)
	}
	return out
}

// initialSymbols splits a chunk into one symbol per character, falling back
// to one <0xNN> symbol per byte for characters outside the vocabulary, and
// to <unk> (fused, if so configured) when even that fails. The order of
// symbols around a pending <unk> follows the reference implementation.
func (m *bpeModel) initialSymbols(syms []symbol, chunk []byte) []symbol {
	pendingUnk := false
	for i := 0; i < len(chunk); {
		c := chunk[i]
		id, size := int32(-1), 1
		if c < utf8.RuneSelf {
			id = m.runeLow[c]
		} else {
			var r rune
			r, size = utf8.DecodeRune(chunk[i:])
			if r != utf8.RuneError || size > 1 {
				id = m.runeID(r)
			}
		}
		char := chunk[i : i+size]
		i += size
		if id >= 0 {
			if pendingUnk {
				syms = append(syms, symbol{id: m.unk})
				pendingUnk = false
			}
			syms = append(syms, symbol{id: id})
			continue
		}
		if m.byteFallback && m.hasBytes(char) {
			for _, b := range char {
				syms = append(syms, symbol{id: m.byteIDs[b]})
			}
			continue
		}
		if m.unk < 0 {
			continue // the reference drops characters it cannot represent
		}
		if pendingUnk && !m.fuseUnk {
			syms = append(syms, symbol{id: m.unk})
		}
		pendingUnk = true
	}
	if pendingUnk {
		syms = append(syms, symbol{id: m.unk})
	}
	return syms
}

func (m *bpeModel) hasBytes(char []byte) bool {
	for _, b := range char {
		if m.byteIDs[b] < 0 {
			return false
		}
	}
	return true
}

// A binary min-heap of candidates, written out because container/heap's
// interface calls cost a third of the encoding time.

func heapify(h []candidate) {
	for i := len(h)/2 - 1; i >= 0; i-- {
		siftDown(h, i)
	}
}

func heapPush(h []candidate, c candidate) []candidate {
	h = append(h, c)
	i := len(h) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if h[parent].key <= c.key {
			break
		}
		h[i] = h[parent]
		i = parent
	}
	h[i] = c
	return h
}

func heapPop(h []candidate) []candidate {
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	if last > 0 {
		siftDown(h, 0)
	}
	return h
}

func siftDown(h []candidate, i int) {
	c := h[i]
	n := len(h)
	for {
		child := 2*i + 1
		if child >= n {
			break
		}
		if r := child + 1; r < n && h[r].key < h[child].key {
			child = r
		}
		if c.key <= h[child].key {
			break
		}
		h[i] = h[child]
		i = child
	}
	h[i] = c
}

// mergeTable maps a pair of token ids to the merge's rank and result: an
// open-addressing hash table, several times faster than a Go map for the
// half-million pairs of Gemma.
type mergeTable struct {
	slots []mergeSlot
	mask  uint64
	shift uint // 64 - log2(len(slots)): the hash's top bits pick the slot
}

type mergeSlot struct {
	key   uint64 // left<<32 | right; emptySlot when free
	value uint64 // rank<<32 | merged
}

const emptySlot = ^uint64(0)

func newMergeTable(n int) mergeTable {
	size := 16
	for size < 2*n {
		size *= 2
	}
	slots := make([]mergeSlot, size)
	for i := range slots {
		slots[i].key = emptySlot
	}
	return mergeTable{slots: slots, mask: uint64(size - 1), shift: uint(64 - bits.TrailingZeros(uint(size)))}
}

func pairKey(left, right int32) uint64 { return uint64(uint32(left))<<32 | uint64(uint32(right)) }

func (t *mergeTable) slot(key uint64) uint64 {
	return (key * 0x9E3779B97F4A7C15) >> t.shift
}

// put adds a merge; a later merge of the same pair replaces an earlier one,
// as in the reference.
func (t *mergeTable) put(left, right, rank, merged int32) {
	key := pairKey(left, right)
	for i := t.slot(key); ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.key == emptySlot || s.key == key {
			s.key = key
			s.value = uint64(uint32(rank))<<32 | uint64(uint32(merged))
			return
		}
	}
}

func (t *mergeTable) get(left, right int32) (rank, merged int32, ok bool) {
	key := pairKey(left, right)
	for i := t.slot(key); ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.key == key {
			return int32(s.value >> 32), int32(uint32(s.value)), true
		}
		if s.key == emptySlot {
			return 0, 0, false
		}
	}
}
