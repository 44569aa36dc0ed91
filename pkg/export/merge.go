package export

import (
	stdcontext "context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/backend"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/chat"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/hub"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/floats"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

// MergeInfoFileName describes a merged model directory (MergeResult as JSON).
const MergeInfoFileName = "merge_info.json"

// sideFiles are the files of a Hugging Face model directory, besides the
// weights, that a merged model keeps from its base: configuration,
// generation defaults, tokenizer and processor files.
var sideFiles = []string{
	gemma3n.ConfigFileName, gemma3n.GenerationConfigFileName,
	tokenizer.TokenizerFile, tokenizer.TokenizerFile + ".gz", tokenizer.TokenizerConfigFile, tokenizer.TokenizerConfigFile + ".gz",
	"tokenizer.model", "special_tokens_map.json", "added_tokens.json", "chat_template.jinja", "chat_template.json",
	"preprocessor_config.json", "processor_config.json", "NOTICE", "LICENSE",
}

// Architectures written into config.json.
const (
	ArchMultimodal = "Gemma3nForConditionalGeneration"
	ArchText       = "Gemma3nForCausalLM"
)

// MergeOptions describe a merge (see Merge). Model, Adapter and Out are required.
type MergeOptions struct {
	// Model is the base model: a preset ("tiny"), a checkpoint directory
	// or a Hugging Face repo id.
	Model string
	// Adapter is a PEFT adapter directory trained on that base.
	Adapter string
	// Out is the directory to create; it must not exist or be empty.
	Out string
	// DType of a preset's weights ("float32", the default, or "bfloat16").
	// A checkpoint keeps the dtype of each of its tensors.
	DType string
	// TextOnly writes the text decoder alone in the layout of
	// transformers' Gemma3nForCausalLM ("model." names, no vision or audio
	// tower, no K/V weights on the KV-shared layers), even from the
	// official multimodal checkpoint, whose layout is kept otherwise.
	TextOnly bool
	// Verify reloads the written model with gemma3n.Load and checks that
	// its logits on a short chat prompt match those of the base model with
	// the adapter (within 1e-3 in float32, 0.5 in bfloat16, where the
	// merged weights are rounded to 8 mantissa bits). It loads the model
	// twice: it needs memory for the full text model.
	Verify bool
	// Backend runs the verification (default: backend.New("")).
	Backend compute.Backend
	// Hub configures the download of repo ids (zero: the environment).
	Hub hub.Options
	// Logger receives progress messages (nil: slog.Default()).
	Logger *slog.Logger
}

// MergeResult describes a merged model directory; merge_info.json holds it.
type MergeResult struct {
	Dir       string `json:"dir"`
	BaseModel string `json:"base_model"`
	// BaseDir is the checkpoint directory of the base ("" for a preset).
	BaseDir string `json:"base_dir,omitempty"`
	Adapter string `json:"adapter"`
	// Layout is the tensor naming of the written checkpoint (see lora.Layout).
	Layout string `json:"layout"`
	// Architecture is config.json's: ArchMultimodal or ArchText.
	Architecture string `json:"architecture,omitempty"`
	// DType is the dtype of the merged weights.
	DType string `json:"dtype"`
	// Tensors counts the tensors written, MergedTensors those that hold
	// W + s·B·A; the others are the base's, byte for byte.
	Tensors       int      `json:"tensors"`
	MergedTensors int      `json:"merged_tensors"`
	Files         []string `json:"files"`
	Shards        int      `json:"shards"`
	// Bytes is the size of the written weights.
	Bytes int64 `json:"bytes,omitempty"`
	// Tokenizer tells where the tokenizer files came from.
	Tokenizer string `json:"tokenizer"`
	// Warnings are what the adapter reader skipped.
	Warnings []string `json:"warnings,omitempty"`
	// MaxLogitDiff is the largest |Δ| between the logits of the reloaded
	// merged model and of the base with the adapter (Verify only).
	MaxLogitDiff *float64 `json:"max_logit_diff,omitempty"`
	Seconds      float64  `json:"seconds"`
	Reused       bool     `json:"reused,omitempty"`
}

// Merge writes the base model with the adapter merged into its weights
// (W + s·B·A, PEFT's merge_and_unload) as a Hugging Face model directory:
//
//   - from the official multimodal checkpoint (Gemma3nForConditionalGeneration,
//     "model.language_model." names): the same layout, which Ollama's and
//     llama.cpp's converters and vLLM expect — the base's config.json, every
//     tensor under its own name and dtype (the vision and audio towers and the
//     K/V weights of the KV-shared layers byte for byte), the adapted
//     projections merged, in the same shard files with the same index;
//   - from a text-only checkpoint ("model." names), or with TextOnly: the
//     text decoder in Gemma3nForCausalLM's layout (the text tensors of the
//     base, renamed, without the unused K/V of KV-shared layers when they
//     come from the multimodal layout), one model.safetensors or shards no
//     larger than the base's largest;
//   - from a preset: the model as gemma3n.Model.Save writes it (one
//     model.safetensors, "model." prefix), a generation_config.json with
//     its bos, eos and pad ids.
//
// A checkpoint is merged tensor by tensor, streaming the others from the
// base file to the new one: memory stays far below the model's size.
// generation_config.json and the tokenizer and processor files are copied
// from the base; a base without tokenizer files gets the embedded tokenizer
// of its vocabulary size, written from the binary. README.md is the merged
// model's card (ModelCard: the safety disclaimer, what the runtime does not
// screen). merge_info.json records the result. The directory is written under a temporary name and renamed
// to Out at the end.
func Merge(ctx stdcontext.Context, opts MergeOptions) (*MergeResult, error) {
	start := time.Now()
	if opts.Model == "" || opts.Adapter == "" || opts.Out == "" {
		return nil, errors.New("merge: the base model, the adapter and the output directory are required")
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := checkEmptyOrAbsent(opts.Out); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	base, err := ResolveBase(ctx, opts.Model, opts.Hub)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	res := &MergeResult{Dir: opts.Out, BaseModel: opts.Model, Adapter: absPath(opts.Adapter)}
	if !base.Preset {
		res.BaseDir = absPath(base.Path)
		if same, _ := sameDir(base.Path, opts.Out); same {
			return nil, fmt.Errorf("merge: the output directory %s is the base model's", opts.Out)
		}
	}

	var write func(tmp string) error
	var verifyDType dtypes.DType
	if base.Preset {
		verifyDType = dtypes.Float32
		if opts.DType != "" {
			var err error
			if verifyDType, err = stage.ParseDType(opts.DType); err != nil {
				return nil, fmt.Errorf("merge: %w", err)
			}
		}
		model, err := gemma3n.Open(base.Path, verifyDType)
		if err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		adapter, err := lora.Load(model, opts.Adapter)
		if err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		res.Warnings = adapter.Warnings()
		res.MergedTensors = len(adapter.Modules())
		res.DType = strings.ToLower(verifyDType.String())
		res.Layout, res.Architecture = lora.LayoutCausalLM.String(), ArchText
		write = func(tmp string) error { return writePresetModel(adapter, tmp, res) }
	} else {
		m, err := openCheckpointMerge(base, opts.Adapter, opts.TextOnly)
		if err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		defer m.close()
		res.Warnings = m.updates.Warnings
		res.MergedTensors = len(m.updates.Updates)
		res.DType, verifyDType = m.dtype()
		res.Layout, res.Architecture = m.outLayout().String(), ArchMultimodal
		if !m.official {
			res.Architecture = ArchText
		}
		write = func(tmp string) error { return m.write(tmp, res, log) }
	}
	for _, w := range res.Warnings {
		log.Warn("merge: " + w)
	}

	err = replaceDirNew(opts.Out, func(tmp string) error {
		if err := write(tmp); err != nil {
			return err
		}
		if err := writeSideFiles(base, tmp, res, log); err != nil {
			return err
		}
		if err := writeModelCard(tmp, res); err != nil {
			return err
		}
		if opts.Verify {
			log.Info("merge: verifying the merged model's logits", "dtype", verifyDType)
			if err := verifyMerged(base, opts.Adapter, tmp, verifyDType, opts.Backend, res); err != nil {
				return err
			}
		}
		res.Files = listFiles(tmp)
		res.Seconds = time.Since(start).Seconds()
		res.Files = append(res.Files, MergeInfoFileName)
		slices.Sort(res.Files)
		return atomicfile.WriteJSON(filepath.Join(tmp, MergeInfoFileName), res)
	})
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	log.Info("merge: wrote the merged model", "dir", opts.Out, "tensors", res.Tensors, "merged", res.MergedTensors,
		"shards", res.Shards, "layout", res.Architecture, "seconds", fmt.Sprintf("%.1f", res.Seconds))
	return res, nil
}

// checkpointMerge merges an adapter into a checkpoint directory tensor by
// tensor.
type checkpointMerge struct {
	base     *Base
	ckpt     *safetensors.Checkpoint
	layout   lora.Layout // the base's
	official bool        // writing the multimodal layout
	updates  *lora.Updates
	byName   map[string]*lora.Update // base tensor name → its update
}

func openCheckpointMerge(base *Base, adapter string, textOnly bool) (_ *checkpointMerge, err error) {
	ckpt, err := safetensors.OpenCheckpoint(base.Path)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			ckpt.Close()
		}
	}()
	layout, err := lora.LayoutOf(base.Path)
	if err != nil {
		return nil, err
	}
	updates, err := lora.ReadUpdates(base.Config, adapter)
	if err != nil {
		return nil, err
	}
	m := &checkpointMerge{base: base, ckpt: ckpt, layout: layout, updates: updates, byName: map[string]*lora.Update{},
		official: layout == lora.LayoutMultimodal && !textOnly}
	for i := range updates.Updates {
		u := &updates.Updates[i]
		name := layout.ModelPrefix() + u.Name + ".weight"
		info, ok := ckpt.Info(name)
		if !ok {
			return nil, fmt.Errorf("the adapter's module %s has no weight %s in the base checkpoint %s", u.Name, name, base.Path)
		}
		if !slices.Equal(info.Shape, []int{u.Out, u.In}) {
			return nil, fmt.Errorf("%s: tensor %s has shape %v, the adapter's module %s is [%d %d]", base.Path, name, info.Shape, u.Name, u.Out, u.In)
		}
		switch info.DType {
		case safetensors.F32, safetensors.BF16, safetensors.F16:
		default:
			return nil, fmt.Errorf("%s: tensor %s has dtype %s: only F32, BF16 and F16 weights can be merged", base.Path, name, info.DType)
		}
		m.byName[name] = u
	}
	return m, nil
}

func (m *checkpointMerge) close() { m.ckpt.Close() }

// outLayout is the tensor naming of the written checkpoint.
func (m *checkpointMerge) outLayout() lora.Layout {
	if m.official {
		return lora.LayoutMultimodal
	}
	return lora.LayoutCausalLM
}

// dtype names the merged weights' dtype and the one to verify in.
func (m *checkpointMerge) dtype() (string, dtypes.DType) {
	for name := range m.byName {
		info, _ := m.ckpt.Info(name)
		switch info.DType {
		case safetensors.BF16:
			return "bfloat16", dtypes.BFloat16
		case safetensors.F16:
			return "float16", dtypes.Float32
		}
		break
	}
	return "float32", dtypes.Float32
}

// plannedTensor is one tensor of the written checkpoint.
type plannedTensor struct {
	entry safetensors.Entry
	shard string // base shard file name
}

// plan lists the tensors to write, in the base's name order.
func (m *checkpointMerge) plan() []plannedTensor {
	var out []plannedTensor
	firstShared := m.base.Config.FirstKVSharedLayer()
	for _, name := range m.ckpt.Names() {
		info, _ := m.ckpt.Info(name)
		outName := name
		if m.layout == lora.LayoutMultimodal && !m.official {
			text, ok := gemma3n.TextTensorName(name)
			if !ok || text == "lm_head.weight" || isUnusedKV(text, firstShared) {
				continue // towers, the tied head, K/V nobody reads
			}
			outName = "model." + text
		}
		e := safetensors.Entry{Name: outName, DType: info.DType, Shape: info.Shape}
		if u := m.byName[name]; u != nil {
			e.Lazy = func() ([]byte, error) { return m.merged(name, info, u) }
		} else {
			e.Stream = func(w io.Writer) error { return m.ckpt.CopyTo(name, w) }
		}
		f, _ := m.ckpt.FileOf(name)
		out = append(out, plannedTensor{entry: e, shard: filepath.Base(f.Path())})
	}
	return out
}

// isUnusedKV reports whether a text tensor name (no prefix) is the k_proj,
// v_proj or k_norm of a KV-shared layer.
func isUnusedKV(name string, firstShared int) bool {
	var layer int
	var rest string
	if _, err := fmt.Sscanf(name, "layers.%d.%s", &layer, &rest); err != nil || layer < firstShared {
		return false
	}
	switch rest {
	case "self_attn.k_proj.weight", "self_attn.v_proj.weight", "self_attn.k_norm.weight":
		return true
	}
	return false
}

// merged reads the base weight, adds the adapter's update and returns it
// in the weight's dtype.
func (m *checkpointMerge) merged(name string, info safetensors.TensorInfo, u *lora.Update) ([]byte, error) {
	return mergedBytes(m.ckpt, name, info, u)
}

// mergedBytes reads a checkpoint weight, adds an update (in bfloat16 for a
// bfloat16 weight, else in float32) and returns it in the weight's dtype.
func mergedBytes(ckpt *safetensors.Checkpoint, name string, info safetensors.TensorInfo, u *lora.Update) ([]byte, error) {
	n := info.NumElements()
	if info.DType == safetensors.BF16 {
		raw := make([]byte, 2*n)
		if err := ckpt.ReadRangeInto(name, 0, raw, safetensors.BF16); err != nil {
			return nil, err
		}
		bits := make([]uint16, n)
		for i := range bits {
			bits[i] = binary.LittleEndian.Uint16(raw[2*i:])
		}
		if err := u.MergeBFloat16(bits); err != nil {
			return nil, err
		}
		for i, b := range bits {
			binary.LittleEndian.PutUint16(raw[2*i:], b)
		}
		return raw, nil
	}
	raw := make([]byte, 4*n)
	if err := ckpt.ReadRangeInto(name, 0, raw, safetensors.F32); err != nil {
		return nil, err
	}
	vals := make([]float32, n)
	decodeFloat32s(vals, raw)
	if err := u.MergeFloat32(vals); err != nil {
		return nil, err
	}
	if info.DType == safetensors.F16 {
		out := make([]byte, 2*n)
		for i, v := range vals {
			binary.LittleEndian.PutUint16(out[2*i:], float16Bits(v))
		}
		return out, nil
	}
	encodeFloat32s(raw, vals)
	return raw, nil
}

// mergedFloat32 is mergedBytes widened to float32.
func mergedFloat32(ckpt *safetensors.Checkpoint, name string, info safetensors.TensorInfo, u *lora.Update) ([]float32, error) {
	raw, err := mergedBytes(ckpt, name, info, u)
	if err != nil {
		return nil, err
	}
	out := make([]float32, info.NumElements())
	switch info.DType {
	case safetensors.BF16:
		dequantize(GGMLBF16, raw, out)
	case safetensors.F16:
		dequantize(GGMLF16, raw, out)
	default:
		decodeFloat32s(out, raw)
	}
	return out, nil
}

// write writes the merged checkpoint into dir: the base's shard files and
// index when it keeps the base's layout, else one file or shards no larger
// than the base's largest.
func (m *checkpointMerge) write(dir string, res *MergeResult, log *slog.Logger) error {
	planned := m.plan()
	prog := newProgress(log, "merge", 0)
	var entries []safetensors.Entry
	for _, p := range planned {
		n, _ := entryBytes(p.entry)
		prog.total += n
	}
	for _, p := range planned {
		entries = append(entries, prog.wrap(p.entry))
	}
	log.Info("merge: writing", "tensors", len(entries), "merged", len(m.byName), "bytes", humanBytes(prog.total), "layout", m.outLayout().String())
	metadata := m.ckpt.Metadata()
	if metadata == nil {
		metadata = map[string]string{}
	}
	if _, ok := metadata["format"]; !ok {
		metadata["format"] = "pt"
	}
	files := m.ckpt.Files()
	var err error
	switch {
	case len(files) == 1:
		err = safetensors.Write(filepath.Join(dir, safetensors.SingleFileName), entries, metadata)
	case m.official || m.layout == lora.LayoutCausalLM:
		var shards []safetensors.Shard
		byShard := map[string]int{}
		for _, f := range files {
			byShard[filepath.Base(f)] = len(shards)
			shards = append(shards, safetensors.Shard{Name: filepath.Base(f)})
		}
		for i, p := range planned {
			sh := &shards[byShard[p.shard]]
			sh.Entries = append(sh.Entries, entries[i])
		}
		for i := range shards {
			if len(shards[i].Entries) > 0 {
				f, _ := m.ckpt.FileOf(shards[i].Entries[0].Name)
				if md := f.Metadata(); md != nil {
					shards[i].Metadata = md
				}
			}
		}
		err = safetensors.WriteShards(dir, shards, metadata)
	default:
		var maxShard int64
		for _, f := range files {
			if st, err := os.Stat(f); err == nil {
				maxShard = max(maxShard, st.Size())
			}
		}
		err = safetensors.WriteSharded(dir, entries, metadata, maxShard)
	}
	if err != nil {
		return err
	}
	prog.done()
	res.Tensors, res.Shards, res.Bytes = len(entries), countShards(dir), prog.total
	return nil
}

// entryBytes is the size of an entry's data.
func entryBytes(e safetensors.Entry) (int64, error) {
	n := int64(e.DType.Size())
	for _, d := range e.Shape {
		n *= int64(d)
	}
	return n, nil
}

// writePresetModel saves the merged preset model into dir.
func writePresetModel(a *lora.Adapter, dir string, res *MergeResult) error {
	merged, err := a.Merge()
	if err != nil {
		return err
	}
	if err := merged.Save(dir); err != nil {
		return err
	}
	res.Tensors, res.Shards = len(merged.Config.Weights()), 1
	if st, err := os.Stat(filepath.Join(dir, safetensors.SingleFileName)); err == nil {
		res.Bytes = st.Size()
	}
	return nil
}

// writeSideFiles copies the base directory's configuration, generation and
// tokenizer files, and writes what a preset (or a base without a
// tokenizer) lacks. A text-only model made from the multimodal checkpoint
// gets the text configuration as Gemma3nForCausalLM's config.json.
func writeSideFiles(base *Base, dir string, res *MergeResult, log *slog.Logger) error {
	if !base.Preset {
		writeTextConfig := res.Architecture == ArchText && strings.HasPrefix(res.Layout, lora.LayoutCausalLM.String()) && isMultimodalConfig(base.Path)
		for _, name := range sideFiles {
			if name == gemma3n.ConfigFileName && writeTextConfig {
				continue
			}
			src := filepath.Join(base.Path, name)
			if info, err := os.Stat(src); err != nil || !info.Mode().IsRegular() {
				continue
			}
			if err := atomicfile.CopyFile(src, filepath.Join(dir, name)); err != nil {
				return err
			}
		}
		if writeTextConfig {
			if err := atomicfile.WriteJSON(filepath.Join(dir, gemma3n.ConfigFileName), base.Config); err != nil {
				return err
			}
		}
		if hasTokenizer(base.Path) {
			res.Tokenizer = "copied from " + base.Path
			return nil
		}
	} else if err := writeGenerationConfig(base.Config, dir); err != nil {
		return err
	}
	from, err := writeEmbeddedTokenizer(dir, base.Config.VocabSize)
	if err != nil {
		log.Warn("merge: no tokenizer files written", "reason", err)
		res.Tokenizer = "none: " + err.Error()
		return nil
	}
	res.Tokenizer = from
	return nil
}

// isMultimodalConfig reports whether dir's config.json is a multimodal
// Gemma3nConfig (with a text_config).
func isMultimodalConfig(dir string) bool {
	var top struct {
		TextConfig map[string]any `json:"text_config"`
	}
	return atomicfile.ReadJSON(filepath.Join(dir, gemma3n.ConfigFileName), &top) == nil && top.TextConfig != nil
}

func hasTokenizer(dir string) bool {
	for _, name := range []string{tokenizer.TokenizerFile, tokenizer.TokenizerFile + ".gz"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return true
		}
	}
	return false
}

// writeGenerationConfig writes the generation defaults of a model without a
// checkpoint: its bos, eos (every stop id) and pad ids.
func writeGenerationConfig(cfg *gemma3n.Config, dir string) error {
	gen := map[string]any{
		"bos_token_id": cfg.BOSTokenID,
		"eos_token_id": cfg.EOSTokenIDs,
		"pad_token_id": cfg.PadTokenID,
	}
	return atomicfile.WriteJSON(filepath.Join(dir, gemma3n.GenerationConfigFileName), gen)
}

// writeEmbeddedTokenizer writes the embedded tokenizer for a vocabulary
// size (the tiny one for the tiny presets, Gemma's otherwise) into dir from
// the binary and says which it was.
func writeEmbeddedTokenizer(dir string, vocabSize int) (string, error) {
	if vocabSize == tokenizer.TinyVocabSize {
		return tokenizer.TinyName, tokenizer.WriteTiny(dir)
	}
	def, err := tokenizer.Default()
	if err != nil {
		return "", err
	}
	if vocabSize < def.VocabSize() {
		return "", fmt.Errorf("no embedded tokenizer fits a vocabulary of %d ids (the %s has %d)", vocabSize, tokenizer.DefaultName, def.VocabSize())
	}
	return tokenizer.DefaultName, tokenizer.WriteDefault(dir)
}

// Tolerances of Verify on the logits (the final soft-capping bounds them by 30).
const (
	verifyTolFloat32  = 1e-3
	verifyTolBFloat16 = 0.5
)

// VerifyMessage is the client turn of the chat prompt on which Verify
// compares logits.
const VerifyMessage = "I know I should cut down on drinking, but it's the only thing that helps me relax after work."

// verifyMerged reloads the merged model from dir and compares its logits on
// a short chat prompt with those of the base model with the adapter.
func verifyMerged(base *Base, adapterDir, dir string, dtype dtypes.DType, b compute.Backend, res *MergeResult) error {
	if b == nil {
		var err error
		if b, err = backend.New(""); err != nil {
			return err
		}
	}
	reloaded, err := gemma3n.Load(dir, dtype)
	if err != nil {
		return fmt.Errorf("verify: reloading the merged model: %w", err)
	}
	ids := VerifyIDs(dir, reloaded.Config.VocabSize)
	got, _, err := reloaded.Score(b, [][]int32{ids})
	if err != nil {
		return fmt.Errorf("verify: the merged model: %w", err)
	}
	reloaded = nil
	model, err := gemma3n.Open(base.Path, dtype)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	a, err := lora.Load(model, adapterDir)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	want, _, err := a.Model().Score(b, [][]int32{ids})
	if err != nil {
		return fmt.Errorf("verify: the adapter's model: %w", err)
	}
	d := floats.MaxAbsDiff(tensors.MustCopyFlatData[float32](want), tensors.MustCopyFlatData[float32](got))
	res.MaxLogitDiff = &d
	tol := verifyTolFloat32
	if dtype == dtypes.BFloat16 {
		tol = verifyTolBFloat16
	}
	if !(d <= tol) {
		return fmt.Errorf("verify: the reloaded merged model's logits differ from the adapter model's by up to %g (tolerance %g)", d, tol)
	}
	return nil
}

// VerifyIDs are the ids of a short chat prompt through the written
// tokenizer (at most 32), or fixed ids spread over the vocabulary when the
// directory has no tokenizer.
func VerifyIDs(dir string, vocab int) []int32 {
	if tok, err := tokenizer.Load(dir); err == nil {
		msgs := []data.Message{{Role: data.RoleUser, Content: VerifyMessage}}
		if ex, err := chat.Tokenize(tok, msgs, true); err == nil && !slices.ContainsFunc(ex.IDs, func(id int32) bool { return int(id) >= vocab || id < 0 }) {
			return ex.IDs[:min(len(ex.IDs), 32)]
		}
	}
	ids := make([]int32, 16)
	for i := range ids {
		ids[i] = int32((2 + i*7919) % vocab)
	}
	return ids
}

// absPath is path made absolute, or path when that fails.
func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// checkEmptyOrAbsent refuses an output directory that holds anything.
func checkEmptyOrAbsent(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case len(entries) > 0:
		return fmt.Errorf("output directory %s is not empty", dir)
	}
	return nil
}

// replaceDirNew is atomicfile.ReplaceDir for a directory that is absent or empty.
func replaceDirNew(dst string, fill func(tmp string) error) error {
	if err := checkEmptyOrAbsent(dst); err != nil {
		return err
	}
	if err := os.Remove(dst); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return atomicfile.ReplaceDir(dst, fill)
}

// sameDir reports whether two paths name the same existing directory.
func sameDir(a, b string) (bool, error) {
	ia, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	ib, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(ia, ib), nil
}

// listFiles names the regular files of dir.
func listFiles(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			out = append(out, e.Name())
		}
	}
	return out
}

// countShards counts the safetensors files of a checkpoint directory.
func countShards(dir string) int {
	n := 0
	for _, name := range listFiles(dir) {
		if strings.HasSuffix(name, ".safetensors") {
			n++
		}
	}
	return n
}
