package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
)

// TestGenerateCommandMatchesReference reproduces the fixture's HF greedy
// continuation (16 tokens, EOS suppressed as HF's min_new_tokens did).
func TestGenerateCommandMatchesReference(t *testing.T) {
	ref := tinyFixture + "/reference.safetensors"
	prompt := readTensor(t, ref, "generate_prompt", dtypes.Int32).Value().([][]int32)
	want := readTensor(t, ref, "generate_greedy", dtypes.Int32).Value().([][]int32)
	out, err := runCmd(t, "generate", "--model", tinyFixture, "--ids", writeIDs(t, prompt),
		"--max-new-tokens", "16", "--min-new-tokens", "16", "--greedy")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		IDs [][]int32 `json:"ids"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if len(got.IDs) != 1 || !slices.Equal(got.IDs[0], want[0]) {
		t.Errorf("generate:\n got  %v\n want %v", got.IDs, want)
	}
}

func TestGenerateCommandBatchAndSampling(t *testing.T) {
	ids := writeIDs(t, [][]int{{2, 10, 11, 12}, {2, 20}})
	out, err := runCmd(t, "generate", "--model", tinyFixture, "--ids", ids, "--max-new-tokens", "3",
		"--min-new-tokens", "3", "--temperature", "1.5", "--top-k", "20", "--top-p", "0.9", "--seed", "3", "--repetition-penalty", "1.2")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		IDs [][]int32 `json:"ids"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.IDs) != 2 || len(got.IDs[0]) != 7 || len(got.IDs[1]) != 5 ||
		!slices.Equal(got.IDs[0][:4], []int32{2, 10, 11, 12}) || !slices.Equal(got.IDs[1][:2], []int32{2, 20}) {
		t.Errorf("unexpected output %v", got.IDs)
	}
	again, _ := runCmd(t, "generate", "--model", tinyFixture, "--ids", ids, "--max-new-tokens", "3",
		"--min-new-tokens", "3", "--temperature", "1.5", "--top-k", "20", "--top-p", "0.9", "--seed", "3", "--repetition-penalty", "1.2")
	if again != out {
		t.Errorf("same seed, different output:\n%s%s", out, again)
	}
}

func TestGenerateCommandErrors(t *testing.T) {
	ids := writeIDs(t, [][]int{{2, 10}})
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"missing ids", []string{"generate", "--model", tinyFixture, "--max-new-tokens", "2"}, "required"},
		{"no max", []string{"generate", "--model", tinyFixture, "--ids", ids}, "max-new-tokens"},
		{"greedy and temperature", []string{"generate", "--model", tinyFixture, "--ids", ids, "--max-new-tokens", "2", "--greedy", "--temperature", "1"}, "excludes"},
		{"top-k without temperature", []string{"generate", "--model", tinyFixture, "--ids", ids, "--max-new-tokens", "2", "--top-k", "3"}, "temperature"},
		{"bad dtype", []string{"generate", "--model", tinyFixture, "--ids", ids, "--max-new-tokens", "2", "--dtype", "f16"}, "dtype"},
		{"id out of range", []string{"generate", "--model", tinyFixture, "--ids", writeIDs(t, [][]int{{2, 9999}}), "--max-new-tokens", "2"}, "row 1, column 2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := runCmd(t, c.args...)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error %v, want one mentioning %q", err, c.wantErr)
			}
		})
	}
}
