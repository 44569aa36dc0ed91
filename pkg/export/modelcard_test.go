package export

import (
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safety"
)

// TestModelCard: the card quotes the disclaimer word for word, warns that
// the screen is not in the weights, and quotes a base model that is not a
// plain YAML scalar.
func TestModelCard(t *testing.T) {
	for _, tc := range []struct{ base, frontMatter string }{
		{"google/gemma-3n-E2B-it", "base_model: google/gemma-3n-E2B-it\n"},
		{"/models/a: b", "base_model: \"/models/a: b\"\n"},
	} {
		card := ModelCard(&MergeResult{BaseModel: tc.base, Adapter: "/runs/x/adapter", Architecture: ArchMultimodal, DType: "bfloat16", Tensors: 10, MergedTensors: 4, Shards: 3, Tokenizer: "copied"})
		for _, want := range []string{"---\n" + tc.frontMatter, "> " + safety.Disclaimer + "\n", "not part of these weights", "| weights | bfloat16, 10 tensors (4 merged with the adapter), 3 file(s) |", "Gemma Terms of Use"} {
			if !strings.Contains(card, want) {
				t.Errorf("base %q: the card lacks %q:\n%s", tc.base, want, card)
			}
		}
	}
}
