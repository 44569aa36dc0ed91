package eval

import (
	"fmt"
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // the GoMLX idiom for graph code
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/metrics"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

// Defaults of HiddenEncoder.
const (
	// DefaultEncoderBatch is the number of texts per forward pass.
	DefaultEncoderBatch = 8
	// DefaultEncoderMaxTokens bounds the tokens of one text (BOS included),
	// as BERT-based scorers truncate at 512: a long reference is scored on
	// its beginning.
	DefaultEncoderMaxTokens = 512
)

// DefaultEncoderLayer is the hidden layer BERTScore reads by default: the
// hidden state at three fifths of the depth (HF hidden_states index, where
// 0 is the embedding output and L the last layer's output), layer 18 of
// Gemma 3n E2B's 30. BERTScore works best on upper-middle layers, whose
// states are contextual but not yet specialised to predicting the next
// token.
func DefaultEncoderLayer(cfg *gemma3n.Config) int {
	return (3*cfg.NumHiddenLayers + 2) / 5
}

// HiddenEncoder is a BERTScore encoder (metrics.LayeredEncoder) that embeds
// each token of a text by one hidden layer of a Gemma 3n model: the active
// AltUp stream (the one the model's own prediction builds on) at the HF
// hidden_states index Layer. Texts are tokenized with <bos>, which is
// encoded but not scored.
//
// The encoder always computes the base model: a LoRA adapter installed on
// the model is ignored, so that a base model and its fine-tunes are scored
// by the same encoder.
type HiddenEncoder struct {
	model *gemma3n.Model
	tok   *tokenizer.Tokenizer
	exec  *model.Exec
	layer int
	name  string
	// BatchSize is the number of texts per forward pass; MaxTokens bounds
	// the tokens per text. Set them before the first Encode.
	BatchSize int
	MaxTokens int
}

// NewHiddenEncoder prepares an encoder reading hidden layer layer (0..L; a
// negative layer means DefaultEncoderLayer) of m on backend b. modelName
// identifies the base model in the encoder's name ("<modelName>/layer-N"),
// which reports carry: scores are comparable only between equal names.
func NewHiddenEncoder(b compute.Backend, m *gemma3n.Model, tok *tokenizer.Tokenizer, modelName string, layer int) (*HiddenEncoder, error) {
	cfg := m.Config
	if layer < 0 {
		layer = DefaultEncoderLayer(cfg)
	}
	if layer > cfg.NumHiddenLayers {
		return nil, fmt.Errorf("eval: BERTScore layer %d: the model has hidden states 0..%d", layer, cfg.NumHiddenLayers)
	}
	base := *m // same weights, plain linear layers: no adapter
	base.Linear = gemma3n.DefaultLinear
	e := &HiddenEncoder{
		model: &base, tok: tok, layer: layer,
		name:      fmt.Sprintf("%s/layer-%d", modelName, layer),
		BatchSize: DefaultEncoderBatch, MaxTokens: DefaultEncoderMaxTokens,
	}
	active := cfg.AltUpActiveIdx
	var err error
	e.exec, err = model.NewExec(b, base.Store, func(scope *model.Scope, ids, positions, mask *Node) *Node {
		out := base.Forward(scope, gemma3n.Inputs{IDs: ids, Positions: positions, Mask: mask, Hidden: true})
		// The output is built after the whole forward pass, as SimpleGo
		// needs an executable's last output to follow every weight it
		// reads; the layers above are built but never run.
		h := out.Hidden[layer] // [n, B, T, D]
		dims := h.Shape().Dimensions
		h = Reshape(Slice(h, AxisElem(active)), dims[1:]...)
		return ConvertDType(h, dtypes.Float32)
	})
	if err != nil {
		return nil, fmt.Errorf("eval: BERTScore encoder: %w", err)
	}
	return e, nil
}

// Name identifies the encoder: the base model and the layer.
func (e *HiddenEncoder) Name() string { return e.name }

// Layer is the HF hidden_states index the encoder reads.
func (e *HiddenEncoder) Layer() int { return e.layer }

// Encode returns, for each text, the hidden state of each of its tokens
// (without <bos>) and the tokens themselves.
func (e *HiddenEncoder) Encode(texts []string) ([][][]float32, [][]string, error) {
	maxTokens := e.MaxTokens
	if maxTokens <= 0 {
		maxTokens = DefaultEncoderMaxTokens
	}
	maxTokens = min(maxTokens, e.model.Config.MaxPositionEmbeddings)
	hasBOS := e.tok.BOS() >= 0
	ids := make([][]int32, len(texts))
	for i, text := range texts {
		ids[i] = e.tok.EncodeWithBOS(text)
		if len(ids[i]) > maxTokens {
			ids[i] = ids[i][:maxTokens]
		}
		for j, id := range ids[i] {
			if int(id) >= e.model.Config.VocabSize {
				return nil, nil, fmt.Errorf("text %d, token %d: id %d outside the model's vocabulary [0, %d)", i, j, id, e.model.Config.VocabSize)
			}
		}
	}
	embs := make([][][]float32, len(texts))
	toks := make([][]string, len(texts))
	skip := 0
	if hasBOS {
		skip = 1
	}
	// Batch texts of similar length together (longest first, so in[0] of
	// each batch is its longest).
	order := make([]int, 0, len(texts))
	for i := range texts {
		if len(ids[i]) > skip {
			order = append(order, i)
		} else {
			embs[i], toks[i] = [][]float32{}, []string{}
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(ids[b]) - len(ids[a]) })
	e.BatchSize = max(e.BatchSize, 1)
	batch := e.BatchSize
	for start := 0; start < len(order); start += batch {
		rows := order[start:min(start+batch, len(order))]
		if err := e.encodeBatch(rows, ids, skip, embs, toks); err != nil {
			return nil, nil, err
		}
	}
	return embs, toks, nil
}

// encodeBatch runs one left-padded batch and copies out each row's states.
func (e *HiddenEncoder) encodeBatch(rows []int, ids [][]int32, skip int, embs [][][]float32, toks [][]string) error {
	// Fixed batch size and power-of-two lengths bound the shapes compiled
	// (a few per run): rows are padded with repeats, which are dropped.
	in := make([][]int32, 0, max(len(rows), e.BatchSize))
	for _, i := range rows {
		in = append(in, ids[i])
	}
	for len(in) < e.BatchSize {
		in = append(in, in[len(in)-1])
	}
	length := gemma3n.DefaultBucket
	for length < len(in[0]) {
		length *= 2
	}
	padded := gemma3n.PadLeft(in, length, int32(e.model.Config.PadTokenID))
	res, err := e.exec.Exec(padded.IDs, padded.Positions, padded.Mask)
	if err != nil {
		return fmt.Errorf("eval: BERTScore encoder: %w", err)
	}
	defer finalize(res)
	states := res[0].Value().([][][]float32) // [B, T, D]
	for k, i := range rows {
		n := len(ids[i])
		off := padded.Length - n + skip
		embs[i] = make([][]float32, 0, n-skip)
		toks[i] = make([]string, 0, n-skip)
		for t := off; t < padded.Length; t++ {
			embs[i] = append(embs[i], states[k][t])
			toks[i] = append(toks[i], e.tok.IDToToken(ids[i][t-padded.Length+n]))
		}
	}
	return nil
}

func finalize(ts []*tensors.Tensor) {
	for _, t := range ts {
		t.FinalizeAll()
	}
}

var _ metrics.LayeredEncoder = (*HiddenEncoder)(nil)
