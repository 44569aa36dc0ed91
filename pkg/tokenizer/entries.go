package tokenizer

import (
	"cmp"
	"slices"
)

// Entry describes one id of the vocabulary, for exporters that write the
// vocabulary into other formats (GGUF's SentencePiece-style token list) and
// tools that derive tokenizers from this one.
type Entry struct {
	// Text is the token as the vocabulary spells it ("▁the", "<0x0A>",
	// "<start_of_turn>"); "" for an id that names no token.
	Text string
	// Added marks an added token (matched in the text before the BPE
	// model runs); Special an added token that Decode can skip.
	Added, Special bool
	// SingleWord, LStrip, RStrip and Normalized are an added token's
	// matching flags, as in tokenizer.json's added_tokens.
	SingleWord, LStrip, RStrip, Normalized bool
	// InModel marks a token of the BPE model's vocabulary under this id
	// (added tokens may be in it too).
	InModel bool
	// Byte marks a byte-fallback token <0xNN>; Unknown the model's <unk>.
	Byte, Unknown bool
	// MergeRank is the rank of the first BPE merge that produces the token
	// (lower merges first), or -1 when no merge produces it.
	MergeRank int32
}

// Entries describes every id in [0, VocabSize()).
func (t *Tokenizer) Entries() []Entry {
	out := make([]Entry, len(t.tokens))
	for id, text := range t.tokens {
		out[id] = Entry{Text: text, MergeRank: -1}
	}
	for id, text := range t.tokens {
		if vid, ok := t.vocab.lookupString(text); ok && text != "" && vid == int32(id) {
			out[id].InModel = true
		}
	}
	for text, id := range t.addedIDs {
		out[id].Added = true
		out[id].Special = t.special[id]
		out[id].Text = text
	}
	flagged := make([]bool, len(out))
	for _, trie := range []*tokenTrie{&t.added.raw, &t.added.normalized} {
		for _, a := range trie.tokens {
			if int(a.id) < len(out) && !flagged[a.id] && a.content == t.tokens[a.id] {
				flagged[a.id] = true
				e := &out[a.id]
				e.SingleWord, e.LStrip, e.RStrip, e.Normalized = a.singleWord, a.lstrip, a.rstrip, a.normalized
			}
		}
	}
	for _, id := range t.model.byteIDs {
		if id >= 0 && int(id) < len(out) {
			out[id].Byte = true
		}
	}
	if u := t.model.unk; u >= 0 && int(u) < len(out) {
		out[u].Unknown = true
	}
	for _, m := range t.Merges() {
		if m.Merged < 0 || int(m.Merged) >= len(out) {
			continue
		}
		if e := &out[m.Merged]; e.MergeRank < 0 {
			e.MergeRank = m.Rank
		}
	}
	return out
}

// Merge is one merge of the BPE model: the adjacent tokens Left and Right
// become Merged. Merges of lower Rank apply first.
type Merge struct{ Left, Right, Merged, Rank int32 }

// Merges lists the BPE model's merges, by rank.
func (t *Tokenizer) Merges() []Merge {
	var out []Merge
	for _, s := range t.model.merges.slots {
		if s.key == emptySlot {
			continue
		}
		out = append(out, Merge{Left: int32(s.key >> 32), Right: int32(uint32(s.key)),
			Merged: int32(uint32(s.value)), Rank: int32(s.value >> 32)})
	}
	slices.SortFunc(out, func(a, b Merge) int { return cmp.Compare(a.Rank, b.Rank) })
	return out
}

// TraceBPE runs the BPE model alone on text (no normalizer, pre-tokenizer
// or added tokens), the plain way: it merges the lowest-ranked adjacent
// pair, leftmost first, until no merge applies, as encoding does. It
// returns the resulting ids and every id that appeared on the way (the
// initial symbols and the result of each merge), which tells what a token
// is built from.
func (t *Tokenizer) TraceBPE(text string) (final, used []int32) {
	return t.model.trace([]byte(text))
}

// trace is TraceBPE on one chunk.
func (m *bpeModel) trace(chunk []byte) (final, used []int32) {
	var ids []int32
	for _, s := range m.initialSymbols(nil, chunk) {
		ids = append(ids, s.id)
	}
	used = slices.Clone(ids)
	for {
		best, bestRank, bestMerged := -1, int32(0), int32(0)
		for i := 0; i+1 < len(ids); i++ {
			if rank, merged, ok := m.merges.get(ids[i], ids[i+1]); ok && (best < 0 || rank < bestRank) {
				best, bestRank, bestMerged = i, rank, merged
			}
		}
		if best < 0 {
			return ids, used
		}
		ids[best] = bestMerged
		ids = slices.Delete(ids, best+1, best+2)
		used = append(used, bestMerged)
	}
}
