package tokenizer

import "hash/maphash"

// tokenIndex maps token texts to ids: an open-addressing hash table over
// one string that holds all the texts. Loading Gemma looks up 1.5 million
// merge parts; with a Go map[string]int32 those lookups were most of the
// load time, and the map itself a quarter million small allocations.
type tokenIndex struct {
	seed  maphash.Seed
	slots []indexSlot
	shift uint // 64 - log2(len(slots))
	text  string
	n     int
}

type indexSlot struct {
	hash   uint32
	off, n uint32 // token text: text[off:off+n]; n == 0 marks a free slot
	id     int32
}

// newTokenIndex returns an index over texts in text with room for count
// entries (at most half full, to keep probes short).
func newTokenIndex(text string, count int) *tokenIndex {
	size, bits := 16, 4
	for size < 2*count {
		size, bits = size*2, bits+1
	}
	return &tokenIndex{seed: maphash.MakeSeed(), slots: make([]indexSlot, size), shift: uint(64 - bits), text: text}
}

// insert adds text[off:off+n] → id. If the text is already present it
// returns the existing id and false. n must be positive.
func (x *tokenIndex) insert(off, n uint32, id int32) (int32, bool) {
	tok := x.text[off : off+n]
	h := maphash.String(x.seed, tok)
	mask := uint64(len(x.slots) - 1)
	for i := h >> x.shift; ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.n == 0 {
			*s = indexSlot{hash: uint32(h), off: off, n: n, id: id}
			x.n++
			return id, true
		}
		if s.hash == uint32(h) && x.text[s.off:s.off+s.n] == tok {
			return s.id, false
		}
	}
}

// lookup returns the id of the token whose text is b.
func (x *tokenIndex) lookup(b []byte) (int32, bool) {
	h := maphash.Bytes(x.seed, b)
	mask := uint64(len(x.slots) - 1)
	for i := h >> x.shift; ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.n == 0 {
			return -1, false
		}
		if s.hash == uint32(h) && int(s.n) == len(b) && x.text[s.off:s.off+s.n] == string(b) {
			return s.id, true
		}
	}
}

// lookupString is lookup for a string.
func (x *tokenIndex) lookupString(tok string) (int32, bool) {
	h := maphash.String(x.seed, tok)
	mask := uint64(len(x.slots) - 1)
	for i := h >> x.shift; ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.n == 0 {
			return -1, false
		}
		if s.hash == uint32(h) && x.text[s.off:s.off+s.n] == tok {
			return s.id, true
		}
	}
}
