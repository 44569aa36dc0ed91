package metrics

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/jsonl"
)

// TextScores are the text metrics of one hypothesis against one reference:
// BLEU and chrF on sacreBLEU's 0–100 scale, ROUGE F-measures in [0, 1].
type TextScores struct {
	BLEU   float64 `json:"bleu"`
	CHRF   float64 `json:"chrf"`
	ROUGE1 float64 `json:"rouge1"`
	ROUGE2 float64 `json:"rouge2"`
	ROUGEL float64 `json:"rougeL"`
}

// ScoreText computes the text metrics of a hypothesis against a reference.
func ScoreText(hyp, ref string) TextScores {
	r := ROUGE(hyp, ref)
	return TextScores{
		BLEU:   SentenceBLEU(hyp, ref).Score,
		CHRF:   SentenceCHRF(hyp, ref),
		ROUGE1: r.ROUGE1.F,
		ROUGE2: r.ROUGE2.F,
		ROUGEL: r.ROUGEL.F,
	}
}

// decodeStringFields parses one JSON object and extracts the named string
// fields; a required field that is missing, or any named field that is not
// a string, is an error naming the field. Other fields are ignored.
func decodeStringFields(raw []byte, required, optional []string) (map[string]string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if obj == nil {
		return nil, fmt.Errorf("not a JSON object: null")
	}
	out := map[string]string{}
	extract := func(name string, mustExist bool) error {
		v, ok := obj[name]
		if !ok {
			if mustExist {
				return fmt.Errorf("missing field %q", name)
			}
			return nil
		}
		var s *string
		if err := json.Unmarshal(v, &s); err != nil || s == nil {
			return fmt.Errorf("field %q is not a string", name)
		}
		out[name] = *s
		return nil
	}
	for _, name := range required {
		if err := extract(name, true); err != nil {
			return nil, err
		}
	}
	for _, name := range optional {
		if err := extract(name, false); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ScoreTextJSONL reads JSON lines {"hyp": ..., "ref": ...} from r and
// writes one line of TextScores per input line to w. With corpus it adds a
// final line {"corpus_bleu": x}, sacreBLEU's corpus BLEU of all pairs.
// Every line is read and checked before anything is written, so a bad line
// leaves no partial output; errors name the input (name) and the 1-based
// line.
func ScoreTextJSONL(r io.Reader, name string, w io.Writer, corpus bool) error {
	var hyps, refs []string
	err := jsonl.EachNamed(r, name, func(line int, raw []byte) error {
		f, err := decodeStringFields(raw, []string{"hyp", "ref"}, nil)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
		hyps, refs = append(hyps, f["hyp"]), append(refs, f["ref"])
		return nil
	})
	if err != nil {
		return err
	}
	var corpusBLEU float64
	if corpus {
		score, err := CorpusBLEU(hyps, refs)
		if err != nil {
			return err
		}
		corpusBLEU = score.Score
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for i := range hyps {
		if err := enc.Encode(ScoreText(hyps[i], refs[i])); err != nil {
			return err
		}
	}
	if corpus {
		if err := enc.Encode(struct {
			CorpusBLEU float64 `json:"corpus_bleu"`
		}{corpusBLEU}); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// ClassifyMIJSONL reads JSON lines {"text": ..., "context": ...} (context
// optional) from r and writes one MIPrediction line per input line to w.
// Every line is read and checked before anything is written; errors name
// the input (name) and the 1-based line.
func ClassifyMIJSONL(m *MIClassifier, r io.Reader, name string, w io.Writer) error {
	var texts, contexts []string
	err := jsonl.EachNamed(r, name, func(line int, raw []byte) error {
		f, err := decodeStringFields(raw, []string{"text"}, []string{"context"})
		if err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
		texts, contexts = append(texts, f["text"]), append(contexts, f["context"])
		return nil
	})
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for i := range texts {
		if err := enc.Encode(m.Classify(texts[i], contexts[i])); err != nil {
			return err
		}
	}
	return bw.Flush()
}
