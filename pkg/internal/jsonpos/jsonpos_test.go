package jsonpos

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

func TestAt(t *testing.T) {
	data := []byte("ab\ncdé\nf")
	for _, c := range []struct {
		offset int64
		want   Position
	}{
		{0, Position{1, 1}}, {1, Position{1, 2}}, {2, Position{1, 3}}, {3, Position{2, 1}},
		{5, Position{2, 3}}, {7, Position{2, 4}}, // é is two bytes, one column
		{8, Position{3, 1}}, {-4, Position{1, 1}}, {100, Position{3, 2}},
	} {
		if got := At(data, c.offset); got != c.want {
			t.Errorf("At(%d) = %v, want %v", c.offset, got, c.want)
		}
	}
}

func TestOf(t *testing.T) {
	for _, c := range []struct {
		doc  string
		want Position
	}{
		{"{\n  \"a\": 1,\n  oops\n}", Position{3, 3}},       // syntax: the unexpected 'o'
		{`{"a": 1, "b": }`, Position{1, 15}},                // syntax: the unexpected '}'
		{"{\"é\": \"x\", \"a\": \"xyz\"}", Position{1, 21}}, // type: the closing quote of "xyz"
		{`{"a": [1]}`, Position{1, 7}},                      // type: the bracket that opens the array
	} {
		var v struct {
			A int `json:"a"`
		}
		err := json.Unmarshal([]byte(c.doc), &v)
		got, ok := Of([]byte(c.doc), fmt.Errorf("wrapped: %w", err))
		if !ok || got != c.want {
			t.Errorf("%q: Of = %v, %t (error %v), want %v", c.doc, got, ok, err, c.want)
		}
	}
	if _, ok := Of(nil, errors.New("other")); ok {
		t.Error("Of accepted an error that is not a JSON one")
	}
	if s := (Position{3, 7}).String(); s != "line 3, column 7" {
		t.Errorf("String = %q", s)
	}
}

func TestLocation(t *testing.T) {
	for _, tc := range []struct {
		line, col int
		want      string
	}{{0, 0, "f.json"}, {0, 3, "f.json"}, {2, 0, "f.json:2"}, {2, 3, "f.json:2:3"}} {
		if got := Location("f.json", tc.line, tc.col); got != tc.want {
			t.Errorf("Location(f.json, %d, %d) = %q, want %q", tc.line, tc.col, got, tc.want)
		}
	}
}
