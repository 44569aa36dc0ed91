package export

import (
	stdcontext "context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/hub"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

// GGUF file types (general.file_type, llama.cpp's LlamaFileType) and the
// ggml type of the weight matrices of each.
var ggufFileTypes = map[string]struct {
	fileType uint32
	typ      GGMLType
}{
	"f32":  {0, GGMLF32},
	"f16":  {1, GGMLF16},
	"q8_0": {7, GGMLQ8_0},
	"bf16": {32, GGMLBF16},
}

// GGUFTypes lists the --type values of the GGUF export.
func GGUFTypes() []string { return []string{"f32", "f16", "bf16", "q8_0"} }

// GGUFOptions describe a GGUF export (see ExportGGUF). Model and Out are
// required.
type GGUFOptions struct {
	// Model is a checkpoint directory (the official multimodal one, a
	// merged or a text-only model), a Hugging Face repo id or a preset.
	Model string
	// Adapter, if set, is a PEFT adapter directory merged into the weights
	// on the way (in the weights' dtype, as Merge does).
	Adapter string
	// Out is the .gguf file to write.
	Out string
	// Type is the type of the weight matrices: f32, f16 (default), bf16 or
	// q8_0. Norms, vectors and the AltUp coefficients stay f32, as
	// llama.cpp's converter keeps them.
	Type string
	// VocabOnly writes the metadata and vocabulary without tensors
	// (llama.cpp loads it with vocab_only, for tokenizing).
	VocabOnly bool
	// Ollama writes an Ollama Modelfile beside the GGUF file (see
	// WriteModelfile).
	Ollama bool
	// Name is general.name (default: the model directory's name).
	Name string
	// Hub configures the download of repo ids (zero: the environment).
	Hub hub.Options
	// Logger receives progress messages (nil: slog.Default()).
	Logger *slog.Logger
}

// GGUFResult describes a written GGUF file.
type GGUFResult struct {
	Path    string `json:"path"`
	Type    string `json:"type"`
	Tensors int    `json:"tensors"`
	// TensorTypes counts the tensors of each ggml type.
	TensorTypes map[string]int `json:"tensor_types"`
	Bytes       int64          `json:"bytes"`
	VocabSize   int            `json:"vocab_size"`
	Tokenizer   string         `json:"tokenizer"`
	Modelfile   string         `json:"modelfile,omitempty"`
	// Warnings name what llama.cpp will not load or compute as this
	// project does (see LlamaCppIssues), and what the adapter reader skipped.
	Warnings []string `json:"warnings,omitempty"`
	Seconds  float64  `json:"seconds"`
}

// ExportGGUF writes a Gemma 3n text model as a GGUF v3 file of
// architecture "gemma3n", laid out as llama.cpp's convert_hf_to_gguf.py
// writes it: the same metadata keys (hyperparameters, the per-layer
// activation-sparsity scales and sliding-window pattern, the "llama"
// SentencePiece vocabulary with scores and token types, special ids,
// add-BOS and the chat template), the same tensor names, shapes (ggml's
// reversed order), types and order, the AltUp projections stacked into one
// 3-D tensor each, the embeddings padded to the model's vocabulary.
//
// Where this export departs from the converter, it is to make llama.cpp
// compute what the model computes: the vocabulary's scores and types are
// derived from tokenizer.json so that llama.cpp tokenizes to the same ids
// (see buildVocab); the rows past vocab_size_per_layer_input of the
// per-layer embedding repeat row 0, which is what Hugging Face's model
// uses for those ids (the converter pads zeros); KV-shared layers whose
// checkpoint lacks their unused K/V weights get zeros (llama.cpp requires
// the tensors and never reads them).
//
// Tensors are converted one at a time and streamed into the file, whose
// header is written first from the shapes: memory stays far below the
// model's size. Progress is logged every 5%.
func ExportGGUF(ctx stdcontext.Context, opts GGUFOptions) (res *GGUFResult, err error) {
	start := time.Now()
	if opts.Model == "" || opts.Out == "" {
		return nil, errors.New("export gguf: the model and the output file are required")
	}
	if opts.Type == "" {
		opts.Type = "f16"
	}
	ft, ok := ggufFileTypes[strings.ToLower(opts.Type)]
	if !ok {
		return nil, fmt.Errorf("export gguf: type %q: want one of %s", opts.Type, strings.Join(GGUFTypes(), ", "))
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	base, err := ResolveBase(ctx, opts.Model, opts.Hub)
	if err != nil {
		return nil, fmt.Errorf("export gguf: %w", err)
	}
	res = &GGUFResult{Path: opts.Out, Type: strings.ToLower(opts.Type), TensorTypes: map[string]int{}}
	tok, err := base.Tokenizer()
	if err != nil {
		return nil, fmt.Errorf("export gguf: %w", err)
	}
	res.Tokenizer = tok.Name()
	name := opts.Name
	if name == "" {
		name = filepath.Base(strings.TrimSuffix(base.Path, string(filepath.Separator)))
	}
	cfg := base.Config
	res.Warnings = append(res.Warnings, LlamaCppIssues(cfg)...)

	var tensors []*ggufTensor
	if !opts.VocabOnly {
		dir, adapter := base.Path, opts.Adapter
		if base.Preset {
			tmp, err := os.MkdirTemp(filepath.Dir(absPath(opts.Out)), ".gguf-preset-")
			if err != nil {
				return nil, fmt.Errorf("export gguf: %w", err)
			}
			defer os.RemoveAll(tmp)
			log.Info("export gguf: building the preset's model", "preset", base.Path)
			if err := savePreset(base.Path, opts.Adapter, tmp); err != nil {
				return nil, fmt.Errorf("export gguf: %w", err)
			}
			dir, adapter = tmp, ""
		}
		src, err := openGGUFSource(dir, cfg, adapter)
		if err != nil {
			return nil, fmt.Errorf("export gguf: %w", err)
		}
		defer src.ckpt.Close()
		if src.updates != nil {
			res.Warnings = append(res.Warnings, src.updates.Warnings...)
		}
		if tensors, err = src.plan(ft.typ); err != nil {
			return nil, fmt.Errorf("export gguf: %w", err)
		}
	}
	vocab, err := buildVocab(tok, cfg.VocabSize)
	if err != nil {
		return nil, fmt.Errorf("export gguf: %w", err)
	}
	res.VocabSize = len(vocab.tokens)
	kvs := ggufMetadata(cfg, name, ft.fileType, vocab, tok, generationDefaults(base))
	for _, w := range res.Warnings {
		log.Warn("export gguf: " + w)
	}

	var total int64
	for _, t := range tensors {
		total += t.size()
		res.TensorTypes[t.typ.String()]++
	}
	log.Info("export gguf: writing", "file", opts.Out, "type", res.Type, "tensors", len(tensors), "bytes", humanBytes(total))
	prog := newProgress(log, "export gguf", total)
	if err := writeGGUF(opts.Out, kvs, tensors, prog.add); err != nil {
		return nil, fmt.Errorf("export gguf: %w", err)
	}
	prog.done()
	if st, err := os.Stat(opts.Out); err == nil {
		res.Bytes = st.Size()
	}
	res.Tensors = len(tensors)
	if opts.Ollama {
		mf, err := WriteModelfile(opts.Out, tok)
		if err != nil {
			return nil, fmt.Errorf("export gguf: %w", err)
		}
		res.Modelfile = mf
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// LlamaCppIssues lists what in a configuration llama.cpp's gemma3n
// architecture does not read from the file but assumes (KV sharing from
// layer 20, sliding layers in a period of 5, activation sparsity 0.95 on
// the first 10 layers only, 4 AltUp streams, LAuReL rank 64, per-layer
// inputs of width 256, a final soft cap of 30) and where its Gaussian
// top-k differs (an unbiased standard deviation). E2B and E4B have none of
// these issues; the tiny presets are not E2B-shaped (use tiny-e2b).
func LlamaCppIssues(cfg *gemma3n.Config) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, "llama.cpp: "+fmt.Sprintf(format, args...)) }
	if s := cfg.FirstKVSharedLayer(); s != 20 {
		add("KV sharing must start at layer 20 (it starts at %d): llama.cpp hard-codes it", s)
	}
	for l, t := range cfg.LayerTypes {
		want := gemma3n.SlidingAttention
		if l%5 == 4 {
			want = gemma3n.FullAttention
		}
		if t != want {
			add("layer %d is %s: llama.cpp makes every fifth layer full attention and the others sliding", l, t)
			break
		}
	}
	for l, p := range cfg.ActivationSparsity {
		if want := map[bool]float64{true: 0.95, false: 0}[l < 10]; p != want {
			add("activation sparsity %g on layer %d: llama.cpp applies 0.95 on layers 0-9 and none after", p, l)
			break
		}
	}
	if cfg.AltUpNumInputs != 4 {
		add("%d AltUp streams: llama.cpp assumes 4", cfg.AltUpNumInputs)
	}
	if cfg.LaurelRank != 64 {
		add("LAuReL rank %d: llama.cpp assumes 64", cfg.LaurelRank)
	}
	if cfg.HiddenSizePerLayerInput != 256 {
		add("per-layer input width %d: llama.cpp assumes 256", cfg.HiddenSizePerLayerInput)
	}
	if cfg.FinalLogitSoftcapping != 30 {
		add("final logit soft cap %g: llama.cpp assumes 30", cfg.FinalLogitSoftcapping)
	}
	if cfg.NumHiddenLayers <= 20 {
		add("%d layers: llama.cpp needs more than 20", cfg.NumHiddenLayers)
	}
	return out
}

// generationDefaults reads the sampling defaults of a checkpoint's
// generation_config.json (top_k, top_p, temperature), which the converter
// copies into general.sampling.*.
func generationDefaults(base *Base) map[string]float64 {
	out := map[string]float64{}
	if base.Preset {
		return out
	}
	var gen struct {
		TopK        *float64 `json:"top_k"`
		TopP        *float64 `json:"top_p"`
		Temperature *float64 `json:"temperature"`
	}
	if atomicfile.ReadJSON(filepath.Join(base.Path, gemma3n.GenerationConfigFileName), &gen) != nil {
		return out
	}
	for k, v := range map[string]*float64{"top_k": gen.TopK, "top_p": gen.TopP, "temp": gen.Temperature} {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

// ggufMetadata is the key-value metadata, in the converter's order.
func ggufMetadata(cfg *gemma3n.Config, name string, fileType uint32, v *ggufVocab, tok *tokenizer.Tokenizer, sampling map[string]float64) []KV {
	const arch = "gemma3n"
	k := func(key string) string { return arch + "." + key }
	kvs := []KV{{"general.architecture", arch}, {"general.type", "model"}}
	if x, ok := sampling["top_k"]; ok {
		kvs = append(kvs, KV{"general.sampling.top_k", int32(x)})
	}
	if x, ok := sampling["top_p"]; ok {
		kvs = append(kvs, KV{"general.sampling.top_p", float32(x)})
	}
	if x, ok := sampling["temp"]; ok {
		kvs = append(kvs, KV{"general.sampling.temp", float32(x)})
	}
	kvs = append(kvs, KV{"general.name", name}, KV{"general.license", "gemma"})
	ff := make([]int32, len(cfg.IntermediateSize))
	for i, f := range cfg.IntermediateSize {
		ff[i] = int32(f)
	}
	sparsity := make([]float32, len(cfg.ActivationSparsity))
	for i, p := range cfg.ActivationSparsity {
		sparsity[i] = float32(gemma3n.InverseNormalCDF(p))
	}
	swa := make([]bool, len(cfg.LayerTypes))
	for i, t := range cfg.LayerTypes {
		swa[i] = t == gemma3n.SlidingAttention
	}
	kvs = append(kvs,
		KV{k("block_count"), uint32(cfg.NumHiddenLayers)},
		KV{k("context_length"), uint32(cfg.MaxPositionEmbeddings)},
		KV{k("embedding_length"), uint32(cfg.HiddenSize)},
		KV{k("feed_forward_length"), ff},
		KV{k("attention.head_count"), uint32(cfg.NumAttentionHeads)},
		KV{k("attention.head_count_kv"), uint32(cfg.NumKeyValueHeads)},
		KV{k("rope.freq_base"), float32(cfg.RopeThetaFull)},
		KV{k("rope.freq_base_swa"), float32(cfg.RopeThetaSliding)},
		KV{k("attention.layer_norm_rms_epsilon"), float32(cfg.RMSNormEps)},
		KV{k("attention.key_length"), uint32(cfg.HeadDim)},
		KV{k("attention.value_length"), uint32(cfg.HeadDim)},
		KV{"general.file_type", fileType},
	)
	if cfg.FinalLogitSoftcapping > 0 {
		kvs = append(kvs, KV{k("final_logit_softcapping"), float32(cfg.FinalLogitSoftcapping)})
	}
	kvs = append(kvs,
		KV{k("attention.sliding_window"), uint32(cfg.SlidingWindow)},
		KV{k("altup.active_idx"), uint32(cfg.AltUpActiveIdx)},
		KV{k("altup.num_inputs"), uint32(cfg.AltUpNumInputs)},
		KV{k("embedding_length_per_layer_input"), uint32(cfg.HiddenSizePerLayerInput)},
		KV{k("attention.shared_kv_layers"), uint32(cfg.NumKVSharedLayers)},
		KV{k("activation_sparsity_scale"), sparsity},
		KV{k("attention.sliding_window_pattern"), swa},
		KV{"general.quantization_version", uint32(2)},
		KV{"tokenizer.ggml.model", "llama"},
		KV{"tokenizer.ggml.pre", "default"},
		KV{"tokenizer.ggml.tokens", v.tokens},
		KV{"tokenizer.ggml.scores", v.scores},
		KV{"tokenizer.ggml.token_type", v.types},
	)
	for _, sp := range []struct {
		key string
		id  int32
	}{{"bos", tok.BOS()}, {"eos", tok.EOS()}, {"unknown", tok.UNK()}, {"padding", tok.PAD()}} {
		if sp.id >= 0 {
			kvs = append(kvs, KV{"tokenizer.ggml." + sp.key + "_token_id", uint32(sp.id)})
		}
	}
	kvs = append(kvs, KV{"tokenizer.ggml.add_bos_token", tok.AddsBOS()}, KV{"tokenizer.ggml.add_eos_token", false})
	if t := tok.ChatTemplate(); t != "" {
		kvs = append(kvs, KV{"tokenizer.chat_template", t})
	}
	return append(kvs, KV{"tokenizer.ggml.add_space_prefix", false})
}

// ggufSource reads the text model's tensors from a checkpoint directory,
// merging an adapter's updates on the way.
type ggufSource struct {
	cfg     *gemma3n.Config
	ckpt    *safetensors.Checkpoint
	updates *lora.Updates
	byName  map[string]*lora.Update // checkpoint name → update
	names   map[string]string       // text name → checkpoint name
	shard   map[string]string       // checkpoint name → shard file
	order   []string                // checkpoint text names in the converter's order
}

func openGGUFSource(dir string, cfg *gemma3n.Config, adapter string) (_ *ggufSource, err error) {
	ckpt, err := safetensors.OpenCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			ckpt.Close()
		}
	}()
	s := &ggufSource{cfg: cfg, ckpt: ckpt, byName: map[string]*lora.Update{}, names: map[string]string{}, shard: map[string]string{}}
	for _, name := range ckpt.Names() {
		text, ok := gemma3n.TextTensorName(name)
		if !ok || text == "lm_head.weight" {
			continue // towers; the LM head is tied to the embedding
		}
		if prev, dup := s.names[text]; dup {
			return nil, fmt.Errorf("%s: tensor %s appears twice, as %s and %s", dir, text, prev, name)
		}
		s.names[text] = name
		f, _ := ckpt.FileOf(name)
		s.shard[name] = filepath.Base(f.Path())
		s.order = append(s.order, name)
	}
	// The converter reads the shard files in name order and each file's
	// tensors in name order.
	slices.SortStableFunc(s.order, func(a, b string) int {
		if c := strings.Compare(s.shard[a], s.shard[b]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	for _, spec := range cfg.Weights() {
		ck, ok := s.names[spec.Name]
		if !ok {
			return nil, fmt.Errorf("%s: the checkpoint has no tensor %s", dir, spec.Name)
		}
		info, _ := ckpt.Info(ck)
		if !slices.Equal(info.Shape, spec.Shape) {
			return nil, fmt.Errorf("%s: tensor %s has shape %v, the config implies %v", dir, ck, info.Shape, spec.Shape)
		}
		switch info.DType {
		case safetensors.F32, safetensors.BF16, safetensors.F16, safetensors.F64:
		default:
			return nil, fmt.Errorf("%s: tensor %s has dtype %s, not a float type", dir, ck, info.DType)
		}
	}
	if adapter != "" {
		if s.updates, err = lora.ReadUpdates(cfg, adapter); err != nil {
			return nil, err
		}
		for i := range s.updates.Updates {
			u := &s.updates.Updates[i]
			ck, ok := s.names[u.Name+".weight"]
			if !ok {
				return nil, fmt.Errorf("the adapter's module %s has no weight in %s", u.Name, dir)
			}
			s.byName[ck] = u
		}
	}
	return s, nil
}

// ggufName maps a text tensor name (no prefix) to llama.cpp's.
func ggufName(text string) (string, bool) {
	if g, ok := map[string]string{
		"embed_tokens.weight":               "token_embd.weight",
		"embed_tokens_per_layer.weight":     "per_layer_token_embd.weight",
		"per_layer_model_projection.weight": "per_layer_model_proj.weight",
		"per_layer_projection_norm.weight":  "per_layer_proj_norm.weight",
		"norm.weight":                       "output_norm.weight",
	}[text]; ok {
		return g, true
	}
	rest, ok := strings.CutPrefix(text, "layers.")
	if !ok {
		return "", false
	}
	num, suffix, ok := strings.Cut(rest, ".")
	if _, err := strconv.Atoi(num); !ok || err != nil {
		return "", false
	}
	g, ok := map[string]string{
		"self_attn.q_proj.weight":           "attn_q.weight",
		"self_attn.k_proj.weight":           "attn_k.weight",
		"self_attn.v_proj.weight":           "attn_v.weight",
		"self_attn.o_proj.weight":           "attn_output.weight",
		"self_attn.q_norm.weight":           "attn_q_norm.weight",
		"self_attn.k_norm.weight":           "attn_k_norm.weight",
		"mlp.gate_proj.weight":              "ffn_gate.weight",
		"mlp.up_proj.weight":                "ffn_up.weight",
		"mlp.down_proj.weight":              "ffn_down.weight",
		"input_layernorm.weight":            "attn_norm.weight",
		"post_attention_layernorm.weight":   "post_attention_norm.weight",
		"pre_feedforward_layernorm.weight":  "ffn_norm.weight",
		"post_feedforward_layernorm.weight": "post_ffw_norm.weight",
		"altup.correct_output_scale":        "altup_correct_scale.weight",
		"altup.correction_coefs.weight":     "altup_correct_coef.weight",
		"altup.prediction_coefs.weight":     "altup_predict_coef.weight",
		"altup.modality_router.weight":      "altup_router.weight",
		"altup.router_norm.weight":          "altup_router_norm.weight",
		"laurel.linear_left.weight":         "laurel_l.weight",
		"laurel.linear_right.weight":        "laurel_r.weight",
		"laurel.post_laurel_norm.weight":    "laurel_post_norm.weight",
		"per_layer_input_gate.weight":       "inp_gate.weight",
		"per_layer_projection.weight":       "proj.weight",
		"post_per_layer_input_norm.weight":  "post_norm.weight",
	}[suffix]
	return "blk." + num + "." + g, ok
}

// tensorType is the converter's choice of type for a tensor: f32 for
// vectors, norms and the AltUp coefficients, the file's type otherwise
// (f16 where q8_0's blocks of 32 do not fit the rows) — except the two
// stacked 3-D AltUp projections, which stay f32 in f16 and q8_0 files:
// llama.cpp's CPU backend (node-llama-cpp 3.21.1) computes garbage or
// crashes on them in f16 or q8_0 (measured at widths 64 to 2,048; bf16 and
// f32 are right), and llama-quantize leaves "altup" tensors unquantized.
func tensorType(gguf string, dims []int64, fileType GGMLType) GGMLType {
	if len(dims) <= 1 || strings.HasSuffix(gguf, "_norm.weight") ||
		strings.HasSuffix(gguf, ".altup_correct_coef.weight") || strings.HasSuffix(gguf, ".altup_predict_coef.weight") {
		return GGMLF32
	}
	if len(dims) == 3 && (fileType == GGMLF16 || fileType == GGMLQ8_0) {
		return GGMLF32
	}
	if fileType == GGMLQ8_0 && dims[0]%32 != 0 {
		return GGMLF16
	}
	return fileType
}

// part is one source of rows of a GGUF tensor: a checkpoint tensor, rows
// repeated from one, or zeros.
type part struct {
	name  string // checkpoint tensor; "" for zeros
	rows  int    // rows to produce
	row0  int    // first source row (repeat: the row to repeat)
	rep   bool   // repeat row0
	width int    // values per row
}

// plan lists the GGUF tensors in the converter's order.
func (s *ggufSource) plan(fileType GGMLType) ([]*ggufTensor, error) {
	cfg := s.cfg
	var out []*ggufTensor
	add := func(gguf string, dims []int64, parts []part) {
		t := &ggufTensor{name: gguf, dims: dims, typ: tensorType(gguf, dims, fileType)}
		t.write = func(w io.Writer) error { return s.writeParts(w, t.typ, parts) }
		out = append(out, t)
	}
	stacks := map[string][]string{} // stacked name → its parts' checkpoint names
	stackName := map[string]string{"altup_projections": "altup_proj.weight", "altup_unembed_projections": "altup_unembd_proj.weight"}
	D := cfg.HiddenSize
	kvDim := cfg.NumKeyValueHeads * cfg.HeadDim
	for _, ck := range s.order {
		text, _ := gemma3n.TextTensorName(ck)
		info, _ := s.ckpt.Info(ck)
		if prefix, k, ok := stackedPart(text); ok {
			parts := stacks[prefix]
			if parts == nil {
				parts = make([]string, cfg.AltUpNumInputs-1)
			}
			if k >= len(parts) {
				return nil, fmt.Errorf("tensor %s: AltUp projection %d of %d", ck, k, len(parts))
			}
			parts[k] = ck
			stacks[prefix] = parts
			if !slices.Contains(parts, "") {
				var ps []part
				for _, p := range parts {
					ps = append(ps, part{name: p, rows: D, width: D})
				}
				add(stackName[prefix], []int64{int64(D), int64(D), int64(len(parts))}, ps)
			}
			continue
		}
		gguf, ok := ggufName(text)
		if !ok {
			return nil, fmt.Errorf("tensor %s (%s) has no GGUF name: not a Gemma 3n text tensor", ck, text)
		}
		rows, width := 1, info.Shape[len(info.Shape)-1]
		if len(info.Shape) == 2 {
			rows = info.Shape[0]
		}
		dims := []int64{int64(width)}
		if len(info.Shape) == 2 {
			dims = append(dims, int64(rows))
		}
		parts := []part{{name: ck, rows: rows, width: width}}
		switch text {
		case "embed_tokens.weight", "embed_tokens_per_layer.weight":
			if rows < cfg.VocabSize { // pad to the model's vocabulary: repeat row 0 (HF's lookup for those ids)
				parts = append(parts, part{name: ck, rows: cfg.VocabSize - rows, rep: true, width: width})
				if text == "embed_tokens.weight" {
					parts[1] = part{rows: cfg.VocabSize - rows, width: width}
				}
				dims[1] = int64(cfg.VocabSize)
			}
		}
		add(gguf, dims, parts)
		// KV-shared layers: llama.cpp needs K, V and k_norm on every layer.
		if l, ok := layerOf(text); ok && cfg.IsKVShared(l) && strings.HasSuffix(text, "self_attn.q_proj.weight") {
			p := fmt.Sprintf("layers.%d.self_attn.", l)
			for _, kv := range []struct {
				name string
				dims []int64
			}{{"k_norm.weight", []int64{int64(cfg.HeadDim)}}, {"k_proj.weight", []int64{int64(D), int64(kvDim)}}, {"v_proj.weight", []int64{int64(D), int64(kvDim)}}} {
				if _, there := s.names[p+kv.name]; there {
					continue
				}
				g, _ := ggufName(p + kv.name)
				rows := 1
				if len(kv.dims) == 2 {
					rows = int(kv.dims[1])
				}
				add(g, kv.dims, []part{{rows: rows, width: int(kv.dims[0])}})
			}
		}
	}
	for prefix, parts := range stacks {
		if slices.Contains(parts, "") {
			return nil, fmt.Errorf("the checkpoint lacks some of the %s", prefix)
		}
	}
	return out, nil
}

// stackedPart recognises "altup_projections.K.weight" and
// "altup_unembed_projections.K.weight".
func stackedPart(text string) (prefix string, k int, ok bool) {
	for _, p := range []string{"altup_projections", "altup_unembed_projections"} {
		if rest, found := strings.CutPrefix(text, p+"."); found {
			num, tail, _ := strings.Cut(rest, ".")
			k, err := strconv.Atoi(num)
			if err != nil || tail != "weight" || k < 0 {
				return "", 0, false
			}
			return p, k, true
		}
	}
	return "", 0, false
}

// layerOf is the layer of a "layers.N.…" name.
func layerOf(text string) (int, bool) {
	rest, ok := strings.CutPrefix(text, "layers.")
	if !ok {
		return 0, false
	}
	num, _, _ := strings.Cut(rest, ".")
	l, err := strconv.Atoi(num)
	return l, err == nil
}

// chunkValues bounds the float32 values converted at once (16 MiB).
const chunkValues = 4 << 20

// writeParts writes the parts of a tensor, row chunk by row chunk.
func (s *ggufSource) writeParts(w io.Writer, typ GGMLType, parts []part) error {
	var buf []byte
	for _, p := range parts {
		rowsPerChunk := max(1, chunkValues/p.width)
		vals := make([]float32, min(p.rows, rowsPerChunk)*p.width)
		var merged []float32
		if u := s.byName[p.name]; u != nil && p.name != "" {
			info, _ := s.ckpt.Info(p.name)
			var err error
			if merged, err = mergedFloat32(s.ckpt, p.name, info, u); err != nil {
				return err
			}
		}
		raw := make([]byte, 4*len(vals))
		for r := 0; r < p.rows; r += rowsPerChunk {
			n := min(rowsPerChunk, p.rows-r)
			chunk := vals[:n*p.width]
			switch {
			case p.name == "":
				clear(chunk)
			case p.rep:
				row := chunk[:p.width]
				if err := s.readRows(p.name, p.row0, row, raw[:4*p.width], merged); err != nil {
					return err
				}
				for i := 1; i < n; i++ {
					copy(chunk[i*p.width:(i+1)*p.width], row)
				}
			default:
				if err := s.readRows(p.name, p.row0+r, chunk, raw[:4*len(chunk)], merged); err != nil {
					return err
				}
			}
			buf = buf[:0]
			for i := 0; i < n; i++ {
				buf = encodeRow(buf, typ, chunk[i*p.width:(i+1)*p.width])
			}
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
	}
	return nil
}

// readRows fills dst with rows of a checkpoint tensor from row first on,
// from merged when the tensor is adapted.
func (s *ggufSource) readRows(name string, first int, dst []float32, raw []byte, merged []float32) error {
	info, _ := s.ckpt.Info(name)
	width := info.Shape[len(info.Shape)-1]
	if merged != nil {
		copy(dst, merged[first*width:])
		return nil
	}
	if err := s.ckpt.ReadRangeInto(name, first*width, raw, safetensors.F32); err != nil {
		return err
	}
	decodeFloat32s(dst, raw)
	for i, v := range dst {
		if math.IsInf(float64(v), 0) || math.IsNaN(float64(v)) {
			return fmt.Errorf("tensor %s: value %d is %v", name, first*width+i, v)
		}
	}
	return nil
}
