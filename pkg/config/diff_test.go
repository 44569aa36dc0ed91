package config

import (
	"path/filepath"
	"slices"
	"testing"
)

// TestDiff: every differing key is named with both values, lists of
// phases entry by entry, and a configuration read back from its resolved
// file differs from the original in nothing.
func TestDiff(t *testing.T) {
	a := Default()
	if d := Diff(a, Default()); len(d) != 0 {
		t.Errorf("defaults differ from themselves: %v", d)
	}
	b := Default()
	if err := b.Apply("training.learning_rate=1e-3", "lora.r=8", "lora.target_modules=q_proj", "curriculum.phases.1.epochs=7", "model.backend=go"); err != nil {
		t.Fatal(err)
	}
	got := Diff(a, b)
	want := []Change{
		{"model.backend", `""`, `"go"`},
		{"training.learning_rate", "0.0002", "0.001"},
		{"lora.r", "64", "8"},
		{"lora.target_modules", `["q_proj","k_proj","v_proj","o_proj"]`, `["q_proj"]`},
		{"curriculum.phases.1.epochs", "1", "7"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Diff:\n got %v\nwant %v", got, want)
	}
	// Each change applied as an assignment turns a into b.
	applied := Default()
	for _, ch := range got {
		if err := applied.Apply(ch.Assignment()); err != nil {
			t.Fatal(err)
		}
	}
	if d := Diff(applied, b); len(d) != 0 {
		t.Errorf("the changes' assignments leave differences: %v", d)
	}
	c := Default()
	c.Curriculum.Phases = c.Curriculum.Phases[:2]
	if got := Diff(a, c); len(got) != 1 || got[0].String() != "curriculum.phases: 5 entries → 2 entries" {
		t.Errorf("fewer phases: %v", got)
	}

	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := b.WriteYAML(path); err != nil {
		t.Fatal(err)
	}
	back, err := LoadResolved(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(b, back); len(d) != 0 {
		t.Errorf("a resolved file read back differs: %v", d)
	}
}
