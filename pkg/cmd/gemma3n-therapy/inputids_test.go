package main

import (
	"slices"
	"strings"
	"testing"
)

func TestParseInputIDs(t *testing.T) {
	got, err := parseInputIDs([]byte(`{"input_ids": [[2, 5, 9], [2, 7, 1]]}`), 10, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !slices.Equal(got[1], []int32{2, 7, 1}) {
		t.Errorf("parsed %v", got)
	}
	if got, err := parseInputIDs([]byte(`{"input_ids": [[2, 5, 9], [2]]}`), 10, false); err != nil || len(got[1]) != 1 {
		t.Errorf("ragged rows without equalLength: %v, %v", got, err)
	}
	cases := []struct{ name, json, wantErr string }{
		{"syntax", "{\n\"input_ids\": [[1,, 2]]}", "line 2"},
		{"truncated", "{\"input_ids\": [[1, 2]\n", "unexpected EOF"},
		{"no rows", `{"input_ids": []}`, "no rows"},
		{"missing", `{"ids": [[1]]}`, "missing"},
		{"empty row", `{"input_ids": [[1], []]}`, "row 2 is empty"},
		{"unequal", `{"input_ids": [[1, 2], [3]]}`, "row 2 has 1 ids"},
		{"too large", `{"input_ids": [[1, 10]]}`, "row 1, column 2"},
		{"negative", `{"input_ids": [[-1]]}`, "row 1, column 1"},
		{"fraction", `{"input_ids": [[1.5]]}`, "row 1, column 1"},
		{"huge", `{"input_ids": [[99999999999999999999]]}`, "row 1, column 1"},
		{"not numbers", `{"input_ids": [["a"]]}`, "input_ids"},
		{"trailing", `{"input_ids": [[1]]} x`, "after the JSON object"},
	}
	for _, c := range cases {
		_, err := parseInputIDs([]byte(c.json), 10, true)
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.wantErr)
		}
	}
}

func FuzzParseInputIDs(f *testing.F) {
	for _, s := range []string{`{"input_ids": [[2, 5, 9], [2, 7, 1]]}`, `{"input_ids": []}`, `{"input_ids": [[1e3]]}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ids, err := parseInputIDs(data, 1000, true)
		if err != nil {
			return
		}
		if len(ids) == 0 {
			t.Fatal("accepted no rows")
		}
		for _, row := range ids {
			if len(row) != len(ids[0]) || len(row) == 0 {
				t.Fatalf("accepted rows of lengths %d and %d", len(row), len(ids[0]))
			}
			for _, id := range row {
				if id < 0 || id >= 1000 {
					t.Fatalf("accepted id %d", id)
				}
			}
		}
	})
}
