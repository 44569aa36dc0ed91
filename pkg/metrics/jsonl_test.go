package metrics

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestScoreTextJSONL(t *testing.T) {
	in := `{"hyp": "It sounds like you feel stuck.", "ref": "It sounds like you're feeling stuck right now.", "id": 7}

{"hyp": "", "ref": "I hear that you are struggling."}
`
	var out bytes.Buffer
	if err := ScoreTextJSONL(strings.NewReader(in), "in.jsonl", &out, true); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d output lines:\n%s", len(lines), out.String())
	}
	if !strings.HasPrefix(lines[0], `{"bleu":20.87317632873`) || !strings.Contains(lines[0], `"rougeL":0.66666666`) {
		t.Errorf("first line %s", lines[0])
	}
	if lines[1] != `{"bleu":0,"chrf":0,"rouge1":0,"rouge2":0,"rougeL":0}` {
		t.Errorf("second line %s", lines[1])
	}
	var c map[string]float64
	if err := json.Unmarshal([]byte(lines[2]), &c); err != nil || len(c) != 1 {
		t.Fatalf("corpus line %s: %v", lines[2], err)
	}
	want, _ := CorpusBLEU([]string{"It sounds like you feel stuck.", ""}, []string{"It sounds like you're feeling stuck right now.", "I hear that you are struggling."})
	if math.Abs(c["corpus_bleu"]-want.Score) > 1e-12 {
		t.Errorf("corpus_bleu %g, want %g", c["corpus_bleu"], want.Score)
	}
}

func TestJSONLErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"hyp": "a"}`, `in.jsonl:1: missing field "ref"`},
		{"{\"hyp\": \"a\", \"ref\": \"b\"}\n{\"hyp\": 3, \"ref\": \"b\"}", `in.jsonl:2: field "hyp" is not a string`},
		{`{"hyp": null, "ref": "b"}`, `field "hyp" is not a string`},
		{`["a", "b"]`, `in.jsonl:1: not a JSON object`},
		{`null`, `not a JSON object`},
		{`{"hyp": "a", "ref": "b"`, `in.jsonl:1: not a JSON object`},
	} {
		err := ScoreTextJSONL(strings.NewReader(c.in), "in.jsonl", &bytes.Buffer{}, false)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("input %q: err = %v, want %q", c.in, err, c.want)
		}
	}
	m, err := DefaultMIClassifier()
	if err != nil {
		t.Fatal(err)
	}
	if err := ClassifyMIJSONL(m, strings.NewReader(`{"context": "x"}`), "mi.jsonl", &bytes.Buffer{}); err == nil ||
		!strings.Contains(err.Error(), `mi.jsonl:1: missing field "text"`) {
		t.Errorf("missing text: err = %v", err)
	}
	if err := ClassifyMIJSONL(m, strings.NewReader(`{"text": "x", "context": 1}`), "mi.jsonl", &bytes.Buffer{}); err == nil ||
		!strings.Contains(err.Error(), `field "context" is not a string`) {
		t.Errorf("bad context: err = %v", err)
	}
}

func TestClassifyMIJSONL(t *testing.T) {
	m, err := DefaultMIClassifier()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	in := "{\"text\": \"Do you smoke?\"}\n{\"text\": \"What worries you most?\", \"context\": \"My cough.\"}\n"
	if err := ClassifyMIJSONL(m, strings.NewReader(in), "stdin", &out); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&out)
	for i, want := range []MICode{{BehaviourQuestion, QuestionClosed}, {BehaviourQuestion, QuestionOpen}} {
		var p MIPrediction
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if p.Code() != want || len(p.Scores) != 8 {
			t.Errorf("line %d: %+v, want %+v with 8 scores", i+1, p, want)
		}
	}
}

func FuzzScoreTextJSONL(f *testing.F) {
	f.Add(`{"hyp": "a b", "ref": "a"}`)
	f.Add("{\"hyp\": \"\\u00e9\", \"ref\": \"\"}\n\n{}")
	f.Add(`{"hyp": 1}`)
	f.Fuzz(func(t *testing.T, in string) {
		_ = ScoreTextJSONL(strings.NewReader(in), "fuzz", &bytes.Buffer{}, true)
	})
}
