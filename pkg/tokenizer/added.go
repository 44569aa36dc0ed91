package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// addedToken is an entry of tokenizer.json's added_tokens: text that is
// matched before BPE and always becomes its own id (Gemma: <bos>,
// <start_of_turn>, newline runs, tab runs, HTML tags, <unusedN>, ...).
type addedToken struct {
	content                    string
	id                         int32
	special                    bool
	singleWord, lstrip, rstrip bool
	normalized                 bool // matched in normalized text
	hasFlags                   bool // any of singleWord, lstrip, rstrip
}

// addedVocab finds added tokens in text. Tokens with normalized=false are
// matched in the raw text, the others in the normalized text, as in the
// reference.
type addedVocab struct {
	raw, normalized tokenTrie
}

func (a *addedVocab) add(t addedToken) {
	t.hasFlags = t.singleWord || t.lstrip || t.rstrip
	if t.normalized {
		a.normalized.add(t)
	} else {
		a.raw.add(t)
	}
}

// tokenTrie is a byte trie over added-token contents that finds the
// leftmost-longest match, as the reference's Aho-Corasick automaton with
// MatchKind::LeftmostLongest.
type tokenTrie struct {
	tokens []addedToken
	nodes  []trieNode
	first  [256]bool // bytes that start some token: the scan skips the rest
	root   [256]int32
}

type trieNode struct {
	labels   []byte
	children []int32
	token    int32 // index in tokens, or -1
}

func (t *tokenTrie) add(tok addedToken) {
	if len(t.nodes) == 0 {
		t.nodes = append(t.nodes, trieNode{token: -1}) // node 0: the root
		for i := range t.root {
			t.root[i] = -1
		}
	}
	t.first[tok.content[0]] = true
	node := int32(0)
	for i := 0; i < len(tok.content); i++ {
		c := tok.content[i]
		next := t.child(node, c)
		if next < 0 {
			next = int32(len(t.nodes))
			t.nodes = append(t.nodes, trieNode{token: -1})
			if node == 0 {
				t.root[c] = next
			} else {
				n := &t.nodes[node]
				n.labels = append(n.labels, c)
				n.children = append(n.children, next)
			}
		}
		node = next
	}
	if idx := t.nodes[node].token; idx >= 0 {
		t.tokens[idx] = tok // a later duplicate wins
		return
	}
	t.nodes[node].token = int32(len(t.tokens))
	t.tokens = append(t.tokens, tok)
}

func (t *tokenTrie) child(node int32, c byte) int32 {
	if node == 0 {
		return t.root[c]
	}
	n := &t.nodes[node]
	for i, l := range n.labels {
		if l == c {
			return n.children[i]
		}
	}
	return -1
}

func (t *tokenTrie) empty() bool { return len(t.tokens) == 0 }

// longestAt returns the longest token that starts at s[i:], or -1.
func (t *tokenTrie) longestAt(s []byte, i int) (end int, token int32) {
	end, token = -1, -1
	node := int32(0)
	for j := i; j < len(s); j++ {
		node = t.child(node, s[j])
		if node < 0 {
			break
		}
		if tok := t.nodes[node].token; tok >= 0 {
			end, token = j+1, tok
		}
	}
	return end, token
}

// match is an added token found in a text: text[start:end] (which includes
// any whitespace the token strips) becomes id.
type match struct {
	start, end int
	id         int32
}

// next finds the first match in s at or after from; segStart is where the
// current run of ordinary text begins (lstrip never reaches before it).
func (t *tokenTrie) next(s []byte, from, segStart int) (match, bool) {
	for i := from; i < len(s); i++ {
		if !t.first[s[i]] {
			continue
		}
		end, idx := t.longestAt(s, i)
		if idx < 0 {
			continue
		}
		tok := &t.tokens[idx]
		if !tok.hasFlags {
			return match{i, end, tok.id}, true
		}
		if tok.singleWord && (endsWithWordChar(s[:i]) || startsWithWordChar(s[end:])) {
			// The reference moves on past a rejected match without looking
			// for shorter or overlapping ones.
			i = end - 1
			continue
		}
		start := i
		if tok.lstrip {
			for start > segStart {
				r, size := utf8.DecodeLastRune(s[:start])
				if !unicode.IsSpace(r) {
					break
				}
				start -= size
			}
		}
		if tok.rstrip {
			for end < len(s) {
				r, size := utf8.DecodeRune(s[end:])
				if !unicode.IsSpace(r) {
					break
				}
				end += size
			}
		}
		return match{start, end, tok.id}, true
	}
	return match{}, false
}

func isWordChar(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) }

func endsWithWordChar(s []byte) bool {
	r, size := utf8.DecodeLastRune(s)
	return size > 0 && isWordChar(r)
}

func startsWithWordChar(s []byte) bool {
	r, size := utf8.DecodeRune(s)
	return size > 0 && isWordChar(r)
}
