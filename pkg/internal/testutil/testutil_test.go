package testutil

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestMaxAbsDiff(t *testing.T) {
	nan := float32(math.NaN())
	for _, tc := range []struct {
		a, b []float32
		want float64
	}{
		{nil, nil, 0},
		{[]float32{1, -2, 3}, []float32{1, 2, 2.5}, 4},
		{[]float32{1, 2}, []float32{1}, math.Inf(1)},
		{[]float32{1, nan}, []float32{1, 2}, math.Inf(1)},
	} {
		if got := MaxAbsDiff(tc.a, tc.b); got != tc.want {
			t.Errorf("MaxAbsDiff(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	a := map[string][]float32{"x": {1, 2}, "y": {0}}
	b := map[string][]float32{"x": {1, 2.5}, "y": {-1}}
	if got := MaxAbsDiffByName(t, a, b); got != 1 {
		t.Errorf("MaxAbsDiffByName = %v, want 1", got)
	}
}

func TestReadJSONL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.jsonl")
	if err := os.WriteFile(path, []byte("{\"a\":1}\n{\"a\":2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := ReadJSONL[struct{ A int }](t, path)
	if len(got) != 2 || got[0].A != 1 || got[1].A != 2 {
		t.Errorf("got %+v", got)
	}
	var v []map[string]int
	path2 := filepath.Join(t.TempDir(), "a.json")
	if err := os.WriteFile(path2, []byte(`[{"a":3}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	if ReadJSON(t, path2, &v); len(v) != 1 || v[0]["a"] != 3 {
		t.Errorf("ReadJSON: %v", v)
	}
}

func TestRepoPath(t *testing.T) {
	for _, p := range []string{RepoPath(t, "go.mod"), RepoPath(t, "configs")} {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if got := RepoPath(t, "pkg", "internal", "testutil"); got != wd {
		t.Errorf("RepoPath(pkg, internal, testutil) = %s, want the working directory %s", got, wd)
	}
}
