package tokenizer

import (
	_ "embed"
	"sync"
)

//go:generate go run ../cmd/gemma3n-therapy tokenizer-shrink --vocab 8192 --gzip --out assets/tiny

// TinyVocabSize is the number of ids of the tiny tokenizer.
const TinyVocabSize = 8192

// TinyName names the embedded tiny tokenizer in messages.
const TinyName = "embedded tiny Gemma 3 tokenizer"

// The tiny tokenizer: Gemma 3's cut to TinyVocabSize ids on the shipped
// corpus by the generator in pkg/internal/tokshrink (assets/tiny/NOTICE:
// the Gemma Terms of Use apply to it too).
var (
	//go:embed assets/tiny/tokenizer.json.gz
	tinyTokenizerJSON []byte
	//go:embed assets/tiny/tokenizer_config.json.gz
	tinyConfigJSON []byte
	//go:embed assets/tiny/NOTICE
	tinyNotice string
)

var tinyOnce = sync.OnceValues(func() (*Tokenizer, error) {
	return parseNamed(TinyName+" ("+TokenizerFile+")", tinyTokenizerJSON,
		TinyName+" ("+TokenizerConfigFile+")", tinyConfigJSON)
})

// Tiny returns the embedded tiny tokenizer, for the models whose embedding
// has TinyVocabSize rows (the presets mini and tiny): Gemma 3's tokenizer with its
// 262,145 ids cut to the TinyVocabSize tokens most used by the shipped
// CounselChat and AnnoMI texts, plus every byte-fallback token, so that it
// still encodes any text and decodes it back. The control tokens keep
// their Gemma ids (<pad>=0, <eos>=1, <bos>=2, <unk>=3, <start_of_turn>=105,
// <end_of_turn>=106, "\n"=107, <0x00>…<0xFF>=238…493), the configuration
// and the chat template are Gemma's, and on the shipped corpus it needs
// about 4% more tokens than the full tokenizer. It is loaded once, on first
// use, and shared. Its ids mean nothing to a real Gemma checkpoint: use it
// only with models built for it.
func Tiny() (*Tokenizer, error) { return tinyOnce() }

// TinyNotice returns the notice that must accompany the tiny tokenizer.
func TinyNotice() string { return tinyNotice }
