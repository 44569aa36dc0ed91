package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// checker collects validation errors of one section and locates each one in
// the YAML it was read from.
type checker struct {
	file      string            // file the section came from; "" when built in code
	root      *yaml.Node        // the section's mapping node; nil when not read from YAML
	section   string            // section name, the first part of override keys
	keyPrefix string            // prepended to keys in errors ("training." in a resolved file)
	overrides map[string]string // dotted key (with section) → raw value, from All.Set
	errs      Errors
}

// errorf records a problem with key (dotted, relative to the section).
func (c *checker) errorf(key, format string, args ...any) {
	e := &Error{File: c.file, Key: c.keyPrefix + key, Msg: fmt.Sprintf(format, args...)}
	if k, v, ok := c.override(key); ok {
		// The value came from a flag, not from the file: say so instead of
		// pointing at a line that does not hold it.
		e.File, e.Key = "", c.section+"."+key
		e.Msg += fmt.Sprintf(" (set by override %s=%s)", k, v)
		c.errs = append(c.errs, e)
		return
	}
	if c.root != nil {
		node, exact := lookup(c.root, key)
		if node != nil {
			e.Line, e.Column = node.Line, node.Column
		}
		if !exact {
			e.Msg += " (not set in the file)"
		}
	}
	c.errs = append(c.errs, e)
}

// override reports the most specific override, if any, that set key or one
// of its parents.
func (c *checker) override(key string) (k, v string, ok bool) {
	if c.section == "" || len(c.overrides) == 0 {
		return "", "", false
	}
	full := c.section + "." + key
	for ok2, v2 := range c.overrides {
		if (full == ok2 || strings.HasPrefix(full, ok2+".")) && len(ok2) > len(k) {
			k, v, ok = ok2, v2, true
		}
	}
	return k, v, ok
}

// lookup finds the node of a dotted key below root: the key node of a mapping
// entry or the element node of a sequence. When the key is absent it returns
// the deepest ancestor that exists and exact = false.
func lookup(root *yaml.Node, key string) (node *yaml.Node, exact bool) {
	cur := root
	if cur.Kind == yaml.DocumentNode && len(cur.Content) > 0 {
		cur = cur.Content[0]
	}
	node = cur
	if key == "" {
		return node, true
	}
	for _, part := range strings.Split(key, ".") {
		next, at := child(cur, part)
		if next == nil {
			return node, false
		}
		cur, node = next, at
	}
	return node, true
}

// child returns the value node of part inside a mapping or sequence, and the
// node whose position best names it (the key node for a mapping entry).
func child(n *yaml.Node, part string) (value, at *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == part {
				return n.Content[i+1], n.Content[i]
			}
		}
	case yaml.SequenceNode:
		i, err := strconv.Atoi(part)
		if err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i], n.Content[i]
		}
	}
	return nil, nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func (c *checker) positiveInt(key string, v int) {
	if v <= 0 {
		c.errorf(key, "must be > 0, got %d", v)
	}
}

func (c *checker) nonNegativeInt(key string, v int) {
	if v < 0 {
		c.errorf(key, "must be ≥ 0, got %d", v)
	}
}

// positiveFloat requires a finite v > 0.
func (c *checker) positiveFloat(key string, v float64) {
	if !finite(v) || v <= 0 {
		c.errorf(key, "must be a finite number > 0, got %v", v)
	}
}

// floatIn requires lo ≤ v < hi (or ≤ hi when hiIncluded), v finite.
func (c *checker) floatIn(key string, v, lo, hi float64, hiIncluded bool) {
	ok := finite(v) && v >= lo && (v < hi || hiIncluded && v == hi)
	if !ok {
		closing := ")"
		if hiIncluded {
			closing = "]"
		}
		c.errorf(key, "must be in [%v, %v%s, got %v", lo, hi, closing, v)
	}
}

// nonEmpty requires a value that is not blank.
func (c *checker) nonEmpty(key, v string) {
	if strings.TrimSpace(v) == "" {
		c.errorf(key, "must not be empty")
	}
}

func (c *checker) oneOf(key, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	c.errorf(key, "must be one of %s, got %q", quoteList(allowed), v)
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, " | ")
}

func itoa(i int) string { return strconv.Itoa(i) }
