package export

import (
	"bytes"
	"compress/gzip"
	stdcontext "context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/backend"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/chat"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/hub"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/floats"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
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
	// Verify reloads the written model with gemma3n.Load and checks that
	// its logits on a short chat prompt match those of the base model with
	// the adapter (within 1e-3 in float32, 0.5 in bfloat16, where the
	// merged weights are rounded to 8 mantissa bits).
	Verify bool
	// Backend runs the verification (default: backend.New("")).
	Backend backends.Backend
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
	// Layout is the tensor naming of the checkpoint (see lora.Layout).
	Layout string `json:"layout"`
	// DType is the dtype of the merged weights.
	DType string `json:"dtype"`
	// Tensors counts the tensors written, MergedTensors those that hold
	// W + s·B·A; the others are the base's, byte for byte.
	Tensors       int      `json:"tensors"`
	MergedTensors int      `json:"merged_tensors"`
	Files         []string `json:"files"`
	Shards        int      `json:"shards"`
	// Tokenizer tells where the tokenizer files came from.
	Tokenizer string `json:"tokenizer"`
	// MaxLogitDiff is the largest |Δ| between the logits of the reloaded
	// merged model and of the base with the adapter (Verify only).
	MaxLogitDiff *float64 `json:"max_logit_diff,omitempty"`
	Seconds      float64  `json:"seconds"`
	Reused       bool     `json:"reused,omitempty"`
}

// Merge writes the base model with the adapter merged into its weights
// (W + s·B·A, PEFT's merge_and_unload) as a Hugging Face model directory:
//
//   - from a checkpoint directory: every tensor of the base checkpoint
//     under its own name, prefix and dtype (vision and audio towers of a
//     multimodal checkpoint included), the adapted ones replaced by their
//     merged values, sharded like the base (shards no larger than the
//     base's largest) or as one model.safetensors when the base is one
//     file; config.json, generation_config.json, tokenizer and processor
//     files copied from the base;
//   - from a preset: the model as gemma3n.Model.Save writes it (one
//     model.safetensors, "model." prefix), a generation_config.json with
//     its bos, eos and pad ids, and the embedded tokenizer the project
//     pairs with the preset's vocabulary.
//
// A base directory without tokenizer files gets the embedded one too.
// merge_info.json records the result. The directory is written under a
// temporary name and renamed to Out at the end.
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

	var ckpt *safetensors.Checkpoint
	var layout lora.Layout
	loadType := dtypes.Float32
	if base.Preset {
		switch opts.DType {
		case "", config.DTypeFloat32:
		case config.DTypeBFloat16:
			loadType = dtypes.BFloat16
		default:
			return nil, fmt.Errorf("merge: dtype %q: want float32 or bfloat16", opts.DType)
		}
	} else {
		if ckpt, err = safetensors.OpenCheckpoint(base.Path); err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		defer ckpt.Close()
		if layout, err = lora.LayoutOf(base.Path); err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		if loadType, err = checkpointFloatType(ckpt, layout); err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
	}
	res.Layout = layout.String()
	log.Info("merge: loading the base model", "model", base.Path, "dtype", loadType)
	model, err := gemma3n.Open(base.Path, loadType)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	adapter, err := lora.Load(model, opts.Adapter)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	res.MergedTensors = len(adapter.Modules())
	res.DType = strings.ToLower(loadType.String())

	err = replaceDirNew(opts.Out, func(tmp string) error {
		if base.Preset {
			if err := writePresetModel(adapter, tmp, res); err != nil {
				return err
			}
		} else if err := writeMergedCheckpoint(adapter, ckpt, layout, tmp, res); err != nil {
			return err
		}
		if err := writeSideFiles(base, tmp, res, log); err != nil {
			return err
		}
		if opts.Verify {
			if err := verifyMerged(adapter, tmp, loadType, opts.Backend, res); err != nil {
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
	log.Info("merge: wrote the merged model", "dir", opts.Out, "tensors", res.Tensors, "merged", res.MergedTensors, "shards", res.Shards)
	return res, nil
}

// VerifyMessage is the client turn of the chat prompt on which Verify
// compares logits.
const VerifyMessage = "I know I should cut down on drinking, but it's the only thing that helps me relax after work."

// Base is a resolved model argument: a preset or a local checkpoint
// directory, with its configuration.
type Base struct {
	Path   string // a preset name or a model directory
	Preset bool
	Config *gemma3n.Config
}

// IsPreset reports whether name is a built-in configuration and not a
// path that exists (gemma3n.Open's rule).
func IsPreset(name string) bool {
	if !gemma3n.IsPreset(name) {
		return false
	}
	_, err := os.Stat(name)
	return err != nil
}

// ResolveBase turns a model argument into a preset or a local directory
// (downloading a Hugging Face repo id through package hub) and reads its
// configuration.
func ResolveBase(ctx stdcontext.Context, name string, hubOpts hub.Options) (*Base, error) {
	if IsPreset(name) {
		cfg, err := gemma3n.Preset(name)
		if err != nil {
			return nil, err
		}
		return &Base{Path: name, Preset: true, Config: cfg}, nil
	}
	dir, err := hub.Resolve(ctx, name, hubOpts)
	if err != nil {
		return nil, err
	}
	cfg, err := gemma3n.LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	return &Base{Path: dir, Config: cfg}, nil
}

// Tokenizer returns the tokenizer the stages use with the model
// (tokenizer.ForModel).
func (m *Base) Tokenizer() (*tokenizer.Tokenizer, error) {
	dir := m.Path
	if m.Preset {
		dir = ""
	}
	return tokenizer.ForModel(dir, m.Config.VocabSize)
}

func hasTokenizer(dir string) bool {
	for _, name := range []string{tokenizer.TokenizerFile, tokenizer.TokenizerFile + ".gz"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return true
		}
	}
	return false
}

// checkpointFloatType is the dtype to load a checkpoint in for merging:
// that of its first adapted projection, bfloat16 kept as it is, everything
// else through float32.
func checkpointFloatType(ckpt *safetensors.Checkpoint, layout lora.Layout) (dtypes.DType, error) {
	name := layout.ModelPrefix() + "layers.0.self_attn.q_proj.weight"
	info, ok := ckpt.Info(name)
	if !ok {
		return dtypes.InvalidDType, fmt.Errorf("%s has no tensor %s", ckpt.Path(), name)
	}
	if info.DType == safetensors.BF16 {
		return dtypes.BFloat16, nil
	}
	return dtypes.Float32, nil
}

// writeMergedCheckpoint writes every tensor of the base checkpoint into
// dir, the adapted ones merged, sharded like the base.
func writeMergedCheckpoint(a *lora.Adapter, ckpt *safetensors.Checkpoint, layout lora.Layout, dir string, res *MergeResult) error {
	merged, err := a.MergedWeights(layout)
	if err != nil {
		return err
	}
	byName := make(map[string]*tensors.Tensor, len(merged))
	for _, m := range merged {
		if _, ok := ckpt.Info(m.Name); !ok {
			return fmt.Errorf("the adapter's module %s has no weight %s in the base checkpoint %s", strings.TrimSuffix(strings.TrimPrefix(m.Name, layout.ModelPrefix()), ".weight"), m.Name, ckpt.Path())
		}
		byName[m.Name] = m.Tensor
	}
	names := ckpt.Names()
	entries := make([]safetensors.Entry, 0, len(names))
	shardBytes := map[string]int64{}
	for _, name := range names {
		info, _ := ckpt.Info(name)
		if f, ok := ckpt.FileOf(name); ok {
			shardBytes[f.Path()] += info.NumBytes()
		}
		if t := byName[name]; t != nil {
			e, err := safetensors.LazyEntryFromTensor(name, t, info.DType)
			if err != nil {
				return err
			}
			entries = append(entries, e)
			continue
		}
		entries = append(entries, safetensors.Entry{
			Name: name, DType: info.DType, Shape: info.Shape,
			Lazy: func() ([]byte, error) { return ckpt.Bytes(name) },
		})
	}
	var maxShard int64 // 0: one file, as the base
	if len(ckpt.Files()) > 1 {
		for _, n := range shardBytes {
			maxShard = max(maxShard, n)
		}
	}
	metadata := ckpt.Metadata()
	if metadata == nil {
		metadata = map[string]string{}
	}
	if _, ok := metadata["format"]; !ok {
		metadata["format"] = "pt"
	}
	if err := safetensors.WriteSharded(dir, entries, metadata, maxShard); err != nil {
		return err
	}
	res.Tensors = len(entries)
	res.Shards = countShards(dir)
	return nil
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
	return nil
}

// writeSideFiles copies the base directory's configuration, generation and
// tokenizer files, and writes what a preset (or a base without a
// tokenizer) lacks.
func writeSideFiles(base *Base, dir string, res *MergeResult, log *slog.Logger) error {
	if !base.Preset {
		for _, name := range sideFiles {
			src := filepath.Join(base.Path, name)
			if info, err := os.Stat(src); err != nil || !info.Mode().IsRegular() {
				continue
			}
			if err := atomicfile.CopyFile(src, filepath.Join(dir, name)); err != nil {
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
// size into dir and says which it was. Package tokenizer writes its tiny
// tokenizer itself; the full Gemma 3 tokenizer's files are read from the
// repository's pkg/tokenizer/assets, since that package keeps them private.
func writeEmbeddedTokenizer(dir string, vocabSize int) (string, error) {
	if vocabSize == tokenizer.TinyVocabSize {
		return tokenizer.TinyName, tokenizer.WriteTiny(dir)
	}
	dataDir, err := data.FindDataDir("")
	if err != nil {
		return "", fmt.Errorf("the %s's files are found through the repository: %w", tokenizer.DefaultName, err)
	}
	assets := filepath.Join(filepath.Dir(dataDir), "pkg", "tokenizer", "assets")
	for _, name := range []string{tokenizer.TokenizerFile, tokenizer.TokenizerConfigFile} {
		if err := gunzipFile(filepath.Join(assets, name+".gz"), filepath.Join(dir, name)); err != nil {
			return "", err
		}
	}
	if err := atomicfile.Write(filepath.Join(dir, "NOTICE"), func(w io.Writer) error {
		_, err := io.WriteString(w, tokenizer.DefaultNotice())
		return err
	}); err != nil {
		return "", err
	}
	return tokenizer.DefaultName, nil
}

// gunzipFile decompresses src into dst.
func gunzipFile(src, dst string) error {
	raw, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	return atomicfile.Write(dst, func(w io.Writer) error {
		if _, err := io.Copy(w, zr); err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		return zr.Close()
	})
}

// Tolerances of Verify on the logits (the final soft-capping bounds them by 30).
const (
	verifyTolFloat32  = 1e-3
	verifyTolBFloat16 = 0.5
)

// verifyMerged reloads the merged model from dir and compares its logits on
// a short chat prompt with those of the adapter's model.
func verifyMerged(a *lora.Adapter, dir string, dtype dtypes.DType, b backends.Backend, res *MergeResult) error {
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
	want, _, err := a.Model().Score(b, [][]int32{ids})
	if err != nil {
		return fmt.Errorf("verify: the adapter's model: %w", err)
	}
	got, _, err := reloaded.Score(b, [][]int32{ids})
	if err != nil {
		return fmt.Errorf("verify: the merged model: %w", err)
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

// replaceDirNew is replaceDir for a directory that is absent or empty.
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
