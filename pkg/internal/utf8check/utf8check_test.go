package utf8check

import (
	"strings"
	"testing"
)

func TestFirstInvalid(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"", -1}, {"plain", -1}, {"café ☕", -1}, {"a\xffb", 1}, {"caf\xc3", 3}, {"é\xe2\x82", 2}, {"\xed\xa0\x80", 0}, // a surrogate
	} {
		if got := FirstInvalid([]byte(tc.in)); got != tc.want {
			t.Errorf("FirstInvalid(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
	if err := Line([]byte("ok")); err != nil {
		t.Error(err)
	}
	if err := String("ab\xff"); err == nil || !strings.Contains(err.Error(), "column 3: invalid UTF-8 (byte 0xff)") {
		t.Errorf("err = %v", err)
	}
}
