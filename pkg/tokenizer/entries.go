package tokenizer

// Entry describes one id of the vocabulary, for exporters that write the
// vocabulary into other formats (GGUF's SentencePiece-style token list).
type Entry struct {
	// Text is the token as the vocabulary spells it ("▁the", "<0x0A>",
	// "<start_of_turn>"); "" for an id that names no token.
	Text string
	// Added marks an added token (matched in the text before the BPE
	// model runs); Special an added token that Decode can skip.
	Added, Special bool
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
	for text, id := range t.addedIDs {
		out[id].Added = true
		out[id].Special = t.special[id]
		out[id].Text = text
	}
	for _, id := range t.model.byteIDs {
		if id >= 0 && int(id) < len(out) {
			out[id].Byte = true
		}
	}
	if u := t.model.unk; u >= 0 && int(u) < len(out) {
		out[u].Unknown = true
	}
	for _, s := range t.model.merges.slots {
		if s.key == emptySlot {
			continue
		}
		rank, merged := int32(s.value>>32), int32(uint32(s.value))
		if merged < 0 || int(merged) >= len(out) {
			continue
		}
		if e := &out[merged]; e.MergeRank < 0 || rank < e.MergeRank {
			e.MergeRank = rank
		}
	}
	return out
}

// WriteDefault writes the embedded Gemma 3 tokenizer's files into dir
// (created if needed): tokenizer.json, tokenizer_config.json and NOTICE,
// uncompressed, as in a Hugging Face model directory. It needs nothing
// but the binary: the files come from the embedded bytes.
func WriteDefault(dir string) error {
	tok, err := maybeGunzip(DefaultName, defaultTokenizerJSON)
	if err != nil {
		return err
	}
	cfg, err := maybeGunzip(DefaultName, defaultConfigJSON)
	if err != nil {
		return err
	}
	return (&Shrunk{TokenizerJSON: tok, ConfigJSON: cfg, Notice: defaultNotice}).WriteDir(dir, false)
}
