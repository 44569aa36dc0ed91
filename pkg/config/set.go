package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Set overrides one value by its dotted key: the section name followed by
// the YAML keys, with list indices as numbers ("training.learning_rate",
// "lora.target_modules", "curriculum.phases.2.epochs"). The value is read as
// YAML ("1e-4", "true", "[q_proj, v_proj]", "{counselchat: 50, annomi: 50}");
// a string field takes the value verbatim, and a list of strings may also be
// given as "a,b,c". Set checks the key and the value's type; call Validate
// after the last Set to check ranges and cross-field rules, whose errors then
// name the override.
func (a *All) Set(key, value string) error {
	target, err := a.lookupField(key)
	if err != nil {
		return err
	}
	v, err := parseValue(target, key, value)
	if err != nil {
		return err
	}
	target.Set(v)
	if a.overrides == nil {
		a.overrides = map[string]string{}
	}
	a.overrides[key] = value
	return nil
}

// Apply sets every "key=value" assignment (see Set), then validates.
func (a *All) Apply(assignments ...string) error {
	for _, as := range assignments {
		key, value, ok := strings.Cut(as, "=")
		if !ok {
			return fmt.Errorf("override %q: want key=value, e.g. training.learning_rate=1e-4", as)
		}
		if err := a.Set(strings.TrimSpace(key), value); err != nil {
			return err
		}
	}
	return a.Validate()
}

// lookupField returns the settable value that key names.
func (a *All) lookupField(key string) (reflect.Value, error) {
	if key == "" {
		return reflect.Value{}, fmt.Errorf("override: empty key")
	}
	v := reflect.ValueOf(a).Elem()
	var done []string
	for _, part := range strings.Split(key, ".") {
		switch v.Kind() {
		case reflect.Struct:
			fields := yamlFields(v.Type())
			i, ok := fields[part]
			if !ok {
				known := sortedKeys(fields)
				return reflect.Value{}, fmt.Errorf("override %q: unknown key %q%s", key, joinKey(strings.Join(done, "."), part), prefixSuggestion(done, suggest(part, known)))
			}
			v = v.Field(i)
		case reflect.Slice:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= v.Len() {
				return reflect.Value{}, fmt.Errorf("override %q: %s has %d entries; %q is not an index of one", key, strings.Join(done, "."), v.Len(), part)
			}
			v = v.Index(i)
		default:
			return reflect.Value{}, fmt.Errorf("override %q: %s is a single value, it has no key %q", key, strings.Join(done, "."), part)
		}
		done = append(done, part)
	}
	return v, nil
}

// prefixSuggestion turns a suggestion about one key part into one about the
// whole dotted key.
func prefixSuggestion(done []string, s string) string {
	if len(done) == 0 {
		return s
	}
	return strings.Replace(s, `(did you mean "`, `(did you mean "`+strings.Join(done, ".")+".", 1)
}

// parseValue reads value into a new value of target's type, starting from
// target's current value (a partial mapping keeps the other fields).
func parseValue(target reflect.Value, key, value string) (reflect.Value, error) {
	t := target.Type()
	out := reflect.New(t).Elem()
	out.Set(target)
	switch {
	case t.Kind() == reflect.String:
		out.SetString(value)
		return out, nil
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String && !strings.HasPrefix(strings.TrimSpace(value), "["):
		items := []string{}
		for _, s := range strings.Split(value, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		out.Set(reflect.ValueOf(items))
		return out, nil
	}
	root, err := parse([]byte(value))
	if err != nil {
		return reflect.Value{}, fmt.Errorf("override %s=%s: %s", key, value, syntaxError("", err).Msg)
	}
	if root == nil {
		return reflect.Value{}, fmt.Errorf("override %s=%s: empty value", key, value)
	}
	w := &walker{}
	w.decode(root, out, "", 0)
	if len(w.errs) > 0 {
		e := w.errs[0]
		where := key
		if e.Key != "" {
			where = key + "." + e.Key
		}
		return reflect.Value{}, fmt.Errorf("override %s=%s: %s: %s", key, value, where, e.Msg)
	}
	return out, nil
}

// Keys lists every key that Set accepts for the current configuration, one
// per leaf value, in declaration order.
func (a *All) Keys() []string {
	var keys []string
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		switch {
		case v.Kind() == reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if name := yamlName(v.Type().Field(i)); name != "" {
					walk(v.Field(i), joinKey(prefix, name))
				}
			}
		case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
			keys = append(keys, prefix)
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i), joinKey(prefix, strconv.Itoa(i)))
			}
		default:
			keys = append(keys, prefix)
		}
	}
	walk(reflect.ValueOf(a).Elem(), "")
	return keys
}
