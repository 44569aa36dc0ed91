package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxFileSize bounds what is read as a configuration file.
const maxFileSize = 1 << 20

// Limits on the YAML tree, so that alias tricks cannot make decoding slow.
const (
	maxDepth = 32
	maxNodes = 100_000
)

// decode fills out, a pointer to a struct that already holds defaults, from
// YAML data. It is strict: unknown or duplicate keys, values of the wrong
// shape or type, and empty values are errors located at their line and
// column. A file without a document (empty, blank or comments only) is an
// error too: the defaults are used only where no file exists, so that a
// truncated or emptied file is never taken for "use the defaults" (an
// explicit empty mapping, {}, keeps them). It returns the document's root
// node for later error positions.
func decode(file string, data []byte, out any) (*yaml.Node, Errors) {
	if len(data) > maxFileSize {
		return nil, Errors{{File: file, Msg: fmt.Sprintf("%d bytes is too large for a configuration file (limit %d)", len(data), maxFileSize)}}
	}
	root, err := parse(data)
	if err != nil {
		return nil, Errors{syntaxError(file, err)}
	}
	if root == nil {
		return nil, Errors{{File: file, Msg: "the file is empty (no YAML document, only blanks or comments): set at least one key, write {} to keep every default, or delete the file to use the built-in defaults"}}
	}
	w := &walker{file: file}
	w.decode(root, reflect.ValueOf(out).Elem(), "", 0)
	return root, w.errs
}

// errSecondDocument marks input holding more than one YAML document.
type errSecondDocument struct{ line int }

func (e errSecondDocument) Error() string {
	return fmt.Sprintf("yaml: line %d: a configuration file holds one YAML document; found a second one", e.line)
}

// parse returns the root node of the single document in data, or nil for an
// empty (or comments-only) document.
func parse(data []byte) (root *yaml.Node, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, err
	default:
		return nil, errSecondDocument{line: extra.Line}
	}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, nil
		}
		return doc.Content[0], nil
	}
	return &doc, nil
}

var yamlLineError = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml.v3 parse error ("yaml: line 3: …") into an Error.
func syntaxError(file string, err error) *Error {
	msg := err.Error()
	if m := yamlLineError.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: line, Msg: "invalid YAML: " + m[2]}
	}
	return &Error{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// walker decodes a yaml.Node tree into typed values, recording errors.
type walker struct {
	file  string
	errs  Errors
	nodes int
}

// maxErrors bounds the errors reported for one file: past it, the file is
// not a configuration worth listing every problem of.
const maxErrors = 20

func (w *walker) fail(n *yaml.Node, key, format string, args ...any) {
	if len(w.errs) > maxErrors {
		return
	}
	if len(w.errs) == maxErrors {
		format, args = "too many errors; stopping", nil
	}
	w.errs = append(w.errs, &Error{File: w.file, Line: n.Line, Column: n.Column, Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (w *walker) decode(n *yaml.Node, v reflect.Value, key string, depth int) {
	if len(w.errs) > maxErrors {
		return
	}
	w.nodes++
	if depth > maxDepth || w.nodes > maxNodes {
		if w.nodes == maxNodes+1 || depth == maxDepth+1 {
			w.fail(n, key, "YAML is nested too deeply or too large for a configuration")
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			w.fail(n, key, "unresolved alias")
			return
		}
		w.decode(n.Alias, v, key, depth+1)
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		w.decodeNull(n, v, key)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		w.decodeStruct(n, v, key, depth)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.fail(n, key, "expected a list, got %s", describe(n))
			return
		}
		// A list replaces the default list as a whole; elements start from zero.
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, elem := range n.Content {
			w.decode(elem, s.Index(i), joinKey(key, strconv.Itoa(i)), depth+1)
		}
		v.Set(s)
	default:
		if n.Kind != yaml.ScalarNode {
			w.fail(n, key, "expected %s, got %s", kindName(v.Type()), describe(n))
			return
		}
		tmp := reflect.New(v.Type())
		if !tagFits(n, v.Kind()) || n.Decode(tmp.Interface()) != nil {
			w.fail(n, key, "expected %s, got %s", kindName(v.Type()), describe(n))
			return
		}
		v.Set(tmp.Elem())
	}
}

// decodeNull handles "key:" with no value: an empty string or list is
// plausible, anything else is a mistake (the default would be kept silently).
func (w *walker) decodeNull(n *yaml.Node, v reflect.Value, key string) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("")
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
	default:
		if key == "" { // an explicit null document: keep every default
			return
		}
		w.fail(n, key, "has no value (delete the key to keep the default)")
	}
}

func (w *walker) decodeStruct(n *yaml.Node, v reflect.Value, key string, depth int) {
	if n.Kind != yaml.MappingNode {
		w.fail(n, key, "expected a mapping, got %s", describe(n))
		return
	}
	fields := yamlFields(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		if kn.Kind != yaml.ScalarNode {
			w.fail(kn, key, "a key must be a plain name, got %s", describe(kn))
			continue
		}
		sub := joinKey(key, kn.Value)
		if line, dup := seen[kn.Value]; dup {
			w.fail(kn, sub, "duplicate key (first set at line %d)", line)
			continue
		}
		seen[kn.Value] = kn.Line
		f, ok := fields[kn.Value]
		if !ok {
			w.fail(kn, sub, "unknown key%s", suggest(kn.Value, sortedKeys(fields)))
			continue
		}
		w.decode(vn, v.Field(f), sub, depth+1)
	}
}

// yamlFields maps the YAML names of a struct's exported fields to their index.
func yamlFields(t reflect.Type) map[string]int {
	out := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		if name := yamlName(t.Field(i)); name != "" {
			out[name] = i
		}
	}
	return out
}

// yamlName is the YAML key of a field, or "" when YAML ignores it.
func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	switch name {
	case "-":
		return ""
	case "":
		return strings.ToLower(f.Name)
	}
	return name
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func joinKey(parent, child string) string {
	if parent == "" {
		return child
	}
	return parent + "." + child
}

// tagFits reports whether a scalar's resolved YAML type suits a Go kind.
// yaml.v3 alone would truncate 64.5 into an int field and accept a quoted
// "64"; a configuration value must say what it means.
func tagFits(n *yaml.Node, k reflect.Kind) bool {
	tag := n.ShortTag()
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return tag == "!!int"
	case reflect.Float32, reflect.Float64:
		return tag == "!!int" || tag == "!!float"
	case reflect.Bool:
		return tag == "!!bool"
	}
	return true
}

// kindName says in words what a Go type expects.
func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	case reflect.Struct:
		return "a mapping"
	}
	return t.String()
}

// describe names what a node holds, quoting short scalars.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		return strconv.Quote(v)
	}
	return "nothing"
}

// suggest proposes the closest known key for a misspelt one, or lists them.
func suggest(got string, known []string) string {
	best, bestDist := "", 1<<30
	for _, k := range known {
		if d := editDistance(got, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" && bestDist <= max(2, len(got)/3) {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return " (known keys: " + strings.Join(known, ", ") + ")"
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
