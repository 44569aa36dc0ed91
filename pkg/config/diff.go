package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Change is one key whose value differs between two configurations, with
// both values as they read in a resolved file.
type Change struct {
	Key string `json:"key"`
	Old string `json:"old"`
	New string `json:"new"`
}

// String is "key: old → new".
func (c Change) String() string { return c.Key + ": " + c.Old + " → " + c.New }

// Assignment is "key=new" as Set takes it (strings unquoted), to apply the
// change to another configuration.
func (c Change) Assignment() string {
	v := c.New
	if s, err := strconv.Unquote(v); err == nil && strings.HasPrefix(v, `"`) {
		v = s
	}
	return c.Key + "=" + v
}

// Diff lists the keys (as Set names them) whose values differ from old to
// new, in declaration order. Lists of sections (the curriculum's phases)
// are compared entry by entry when they are equally long, and as a whole
// (their lengths) otherwise.
func Diff(old, new *All) []Change {
	var out []Change
	var walk func(a, b reflect.Value, key string)
	walk = func(a, b reflect.Value, key string) {
		switch {
		case a.Kind() == reflect.Struct:
			for i := 0; i < a.NumField(); i++ {
				if name := yamlName(a.Type().Field(i)); name != "" {
					walk(a.Field(i), b.Field(i), joinKey(key, name))
				}
			}
		case a.Kind() == reflect.Slice && a.Type().Elem().Kind() == reflect.Struct:
			if a.Len() != b.Len() {
				out = append(out, Change{Key: key, Old: fmt.Sprintf("%d entries", a.Len()), New: fmt.Sprintf("%d entries", b.Len())})
				return
			}
			for i := 0; i < a.Len(); i++ {
				walk(a.Index(i), b.Index(i), joinKey(key, strconv.Itoa(i)))
			}
		default:
			if x, y := formatValue(a), formatValue(b); x != y {
				out = append(out, Change{Key: key, Old: x, New: y})
			}
		}
	}
	walk(reflect.ValueOf(old).Elem(), reflect.ValueOf(new).Elem(), "")
	return out
}

// formatValue writes a leaf value as it would be given to Set: numbers in
// their shortest exact form, strings quoted, lists as JSON.
func formatValue(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		return strconv.Quote(v.String())
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return fmt.Sprint(v.Interface())
	}
	return strings.TrimSpace(string(b))
}
