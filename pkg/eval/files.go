package eval

import (
	"encoding/json"
	"io"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
)

// writeJSONAtomic writes v as indented JSON to path through atomicfile: a
// temporary file in the same directory, renamed over path only once
// complete and synced.
func writeJSONAtomic(path string, v any) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}
