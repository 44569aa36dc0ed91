package tokenizer

import (
	"slices"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
)

type goldenCase struct {
	Text    string  `json:"text"`
	IDs     []int32 `json:"ids"`
	Decoded string  `json:"decoded"`
}

func loadGoldens(t testing.TB) []goldenCase {
	t.Helper()
	var cases []goldenCase
	testutil.ReadJSON(t, "testdata/tokenizer_goldens.json", &cases)
	if len(cases) < 100 {
		t.Fatalf("only %d golden cases", len(cases))
	}
	return cases
}

func defaultTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	tok, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestGoldens checks every case produced by the reference `tokenizers`
// library: ids, decoded text, and the batch encoder.
func TestGoldens(t *testing.T) {
	tok := defaultTokenizer(t)
	cases := loadGoldens(t)
	texts := make([]string, len(cases))
	for i, c := range cases {
		texts[i] = c.Text
		got := tok.Encode(c.Text)
		if !slices.Equal(got, c.IDs) {
			t.Errorf("case %d %.40q:\n got %v\nwant %v", i, c.Text, got, c.IDs)
			continue
		}
		if dec := tok.Decode(got, false); dec != c.Decoded {
			t.Errorf("case %d: Decode = %q, want %q", i, dec, c.Decoded)
		}
	}
	batch := tok.EncodeBatch(texts)
	for i, c := range cases {
		if !slices.Equal(batch[i], c.IDs) {
			t.Errorf("EncodeBatch case %d differs from the golden ids", i)
		}
	}
}
