package tokenizer

import (
	_ "embed"
	"sync"
)

// The Gemma 3 tokenizer, gzip-compressed (see assets/NOTICE: Gemma is
// provided under and subject to the Gemma Terms of Use).
var (
	//go:embed assets/tokenizer.json.gz
	defaultTokenizerJSON []byte
	//go:embed assets/tokenizer_config.json.gz
	defaultConfigJSON []byte
	//go:embed assets/NOTICE
	defaultNotice string
)

// DefaultName names the embedded tokenizer in messages.
const DefaultName = "embedded Gemma 3 tokenizer"

var defaultOnce = sync.OnceValues(func() (*Tokenizer, error) {
	return parseNamed(DefaultName+" ("+TokenizerFile+")", defaultTokenizerJSON,
		DefaultName+" ("+TokenizerConfigFile+")", defaultConfigJSON)
})

// Default returns the embedded Gemma 3 tokenizer (instruction-tuned config:
// EOS is <end_of_turn>). It is loaded once, on first use, and shared. For
// plain text its ids are those of Gemma 3n's tokenizer too; only multimodal
// control tokens differ (see assets/NOTICE and the package documentation).
func Default() (*Tokenizer, error) { return defaultOnce() }

// DefaultNotice returns the notice that must accompany the embedded
// tokenizer (Gemma Terms of Use).
func DefaultNotice() string { return defaultNotice }
