package gemma3n

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readArchitecture returns ARCHITECTURE.md and its numbered sections.
func readArchitecture(t *testing.T) (doc string, sections map[string]bool) {
	t.Helper()
	data, err := os.ReadFile("ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	sections = map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#{2,3} (\d+(?:\.\d+)?)\.? `).FindAllStringSubmatch(string(data), -1) {
		sections[m[1]] = true
	}
	return string(data), sections
}

// TestSpecReferencesResolve checks that every "spec §N" in the package's
// code names a section of ARCHITECTURE.md.
func TestSpecReferencesResolve(t *testing.T) {
	_, sections := readArchitecture(t)
	if len(sections) < 20 {
		t.Fatalf("ARCHITECTURE.md has only %d numbered sections", len(sections))
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	ref := regexp.MustCompile(`spec §(\d+(?:\.\d+)?)`)
	count := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ref.FindAllStringSubmatch(string(data), -1) {
			count++
			if !sections[m[1]] {
				t.Errorf("%s: spec §%s is not a section of ARCHITECTURE.md", f, m[1])
			}
		}
	}
	if count < 17 {
		t.Errorf("only %d spec references found", count)
	}
}

// TestArchitectureTablesMatchTags checks that the tensor tables of
// ARCHITECTURE.md §2 list every weight with the shape of its tag, and no
// other.
func TestArchitectureTablesMatchTags(t *testing.T) {
	doc, _ := readArchitecture(t)
	row := regexp.MustCompile("(?m)^\\| `([a-z_.{}0-9]+)` \\| (\\[[^]]*\\]) \\|")
	inDoc := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(doc, -1) {
		inDoc[m[1]] = m[2]
	}
	layer := regexp.MustCompile(`^layers\.\d+\.`)
	stream := regexp.MustCompile(`\.\d+\.weight$`)
	seen := map[string]bool{}
	for _, s := range E2BConfig().Weights() {
		name := stream.ReplaceAllString(layer.ReplaceAllString(s.Name, "layers.{l}."), ".{k}.weight")
		if seen[name] {
			continue // the same row for every layer
		}
		seen[name] = true
		shape := "[" + strings.ReplaceAll(strings.ReplaceAll(s.dims, "*", "·"), ",", ", ") + "]"
		if got, ok := inDoc[name]; !ok {
			t.Errorf("%s %s is not in ARCHITECTURE.md's tables", name, shape)
		} else if got != shape {
			t.Errorf("%s: ARCHITECTURE.md says %s, the tag %s", name, got, shape)
		}
	}
	for name := range inDoc {
		if !seen[name] {
			t.Errorf("ARCHITECTURE.md lists %s, which the model does not have", name)
		}
	}
}
