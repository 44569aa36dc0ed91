package sft

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// Full-parameter training (Options.Full): every weight of the model is a
// trainable float32 variable (the master weights), AdamW decays the
// matrices only (MatricesOnlyDecay), and the run ends with a whole model
// directory in Hugging Face layout (gemma3n.Model.Save) instead of an
// adapter. Everything else is LoRA SFT's: data, schedule, evaluation,
// checkpoints (which then hold every weight and its AdamW moments), exact
// resume, metrics and summary.

// Directory names of a full run's models, inside the run directory.
const (
	ModelDirName     = "model"
	BestModelDirName = "best_model"
)

// Values of Options.LossOn.
const (
	// LossOnAssistant puts the loss on the assistant turns (and their
	// closing <end_of_turn>), as LoRA SFT does: the default.
	LossOnAssistant = "assistant"
	// LossOnAll puts the loss on every token after <bos>, user turns and
	// turn headers included: language-model pretraining on the conversations.
	LossOnAll = "all"
)

// fullDType is the dtype a full run keeps its weights in: the float32
// master weights the optimizer updates, whatever model.dtype says.
const fullDType = config.DTypeFloat32

// makeAllTrainable marks every weight of the model trainable and returns
// the number of tensors and of parameters. The weights must be float32.
func makeAllTrainable(m *gemma3n.Model) (numTensors int, numParams int64, err error) {
	for _, spec := range m.Config.Weights() {
		v := m.WeightVariable(spec.Name)
		if v == nil {
			return 0, 0, fmt.Errorf("weight %s is not in the model", spec.Name)
		}
		if v.DType() != dtypes.Float32 {
			return 0, 0, fmt.Errorf("weight %s is %s: full training keeps float32 master weights", spec.Name, v.DType())
		}
		v.SetTrainable(true)
		numTensors++
		numParams += int64(v.Shape().Size())
	}
	return numTensors, numParams, nil
}

// MatricesOnlyDecay returns the train.Config.NoDecay of a full run over
// store: weight decay applies to variables of rank ≥ 2 (embeddings, every
// projection, the AltUp coefficient matrices) and not to vectors and
// scalars (norm weights, the AltUp output scales), as in GPT-style
// pretraining. Gemma's norms multiply by their weight, which starts at 1:
// decaying it would pull every norm towards zero.
func MatricesOnlyDecay(store *model.Store) func(path string) bool {
	return func(path string) bool {
		v := store.GetVariable(path)
		return v == nil || v.Shape().Rank() < 2
	}
}

// fullSummary describes the trained weights in summary.json.
func fullSummary(numTensors int, numParams int64) string {
	return fmt.Sprintf("full: %d tensors, %d parameters, float32 master weights; weight decay on matrices only", numTensors, numParams)
}

// checkFullOptions rejects what a full run cannot do.
func checkFullOptions(opts *Options) error {
	switch {
	case !opts.Full && opts.FromScratch:
		return errors.New("FromScratch (random initial weights) needs Full: an adapter on random weights learns next to nothing")
	case !opts.Full && opts.SaveDType != "":
		return errors.New("SaveDType is the dtype of a full run's model: it needs Full")
	case opts.Full && opts.InitAdapter != "":
		return errors.New("a full run trains the model's own weights: it takes no adapter (merge it into the model first)")
	}
	switch opts.LossOn {
	case "", LossOnAssistant, LossOnAll:
	default:
		return fmt.Errorf("loss on %q: want %s or %s", opts.LossOn, LossOnAssistant, LossOnAll)
	}
	return nil
}

// lossOnAll moves the loss of each example onto every token after <bos>.
func lossOnAll(ex []train.Example) {
	for i := range ex {
		mask := make([]bool, len(ex[i].LossMask))
		for j := 1; j < len(mask); j++ {
			mask[j] = true
		}
		ex[i].LossMask = mask
	}
}

// saveModelDir writes the model (its current weights, converted to dtype)
// to dir in Hugging Face layout, with the tokenizer files and generation
// defaults that go with it, atomically as a whole: a reader never sees half
// of a directory.
func saveModelDir(m *gemma3n.Model, dtype dtypes.DType, srcDir string, dir string) error {
	return atomicfile.ReplaceDir(dir, func(tmp string) error {
		if err := m.SaveAs(tmp, dtype); err != nil {
			return err
		}
		return writeModelSideFiles(m.Config, srcDir, tmp)
	})
}

// modelSideFiles are the files of a model directory, besides config.json
// and the weights, that a fully trained model keeps from the directory it
// was loaded from.
var modelSideFiles = []string{
	gemma3n.GenerationConfigFileName,
	tokenizer.TokenizerFile, tokenizer.TokenizerFile + ".gz", tokenizer.TokenizerConfigFile, tokenizer.TokenizerConfigFile + ".gz",
	"tokenizer.model", "special_tokens_map.json", "added_tokens.json", "chat_template.jinja", "chat_template.json", "NOTICE",
}

// writeModelSideFiles copies the tokenizer and generation files of srcDir
// (when the model came from a directory) into dir; a model without them
// (a preset) gets generation defaults from its configuration and, for the
// compact vocabulary, the embedded tiny tokenizer.
func writeModelSideFiles(cfg *gemma3n.Config, srcDir, dir string) error {
	copied := map[string]bool{}
	if srcDir != "" {
		for _, name := range modelSideFiles {
			src := filepath.Join(srcDir, name)
			if info, err := os.Stat(src); err != nil || !info.Mode().IsRegular() {
				continue
			}
			if err := atomicfile.CopyFile(src, filepath.Join(dir, name)); err != nil {
				return err
			}
			copied[name] = true
		}
	}
	if !copied[gemma3n.GenerationConfigFileName] {
		gen := map[string]any{"bos_token_id": cfg.BOSTokenID, "eos_token_id": cfg.EOSTokenIDs, "pad_token_id": cfg.PadTokenID}
		if err := atomicfile.WriteJSON(filepath.Join(dir, gemma3n.GenerationConfigFileName), gen); err != nil {
			return err
		}
	}
	if !copied[tokenizer.TokenizerFile] && !copied[tokenizer.TokenizerFile+".gz"] && cfg.VocabSize == tokenizer.TinyVocabSize {
		return tokenizer.WriteTiny(dir)
	}
	return nil
}

// saveCheckpointModel writes the weights of a training checkpoint as a
// model directory (see saveModelDir). It puts them into the model for the
// time of the save and then restores the values the model had.
func saveCheckpointModel(m *gemma3n.Model, dtype dtypes.DType, srcDir, checkpointDir, dir string) (err error) {
	ckpt, err := train.LoadCheckpoint(checkpointDir)
	if err != nil {
		return err
	}
	vars := make([]*model.Variable, 0, len(m.Config.Weights()))
	for _, spec := range m.Config.Weights() {
		vars = append(vars, m.WeightVariable(spec.Name))
	}
	return stage.WithCheckpointValues(ckpt, checkpointDir, vars, func() error {
		if err := ckpt.Restore(m.Store, true); err != nil {
			return err
		}
		return saveModelDir(m, dtype, srcDir, dir)
	})
}

// parseSaveDType checks Options.SaveDType.
func parseSaveDType(s string) (dtypes.DType, error) {
	if s == "" {
		return dtypes.Float32, nil
	}
	dtype, err := stage.ParseDType(s)
	if err != nil {
		return dtypes.InvalidDType, fmt.Errorf("save %w", err)
	}
	return dtype, nil
}

// logFull reports what a full run trains.
func logFull(logger *slog.Logger, opts *Options, cfg *config.All, numTensors int, numParams int64) {
	if stage.ModelDType(cfg) == config.DTypeBFloat16 {
		logger.Info("sft: full training keeps float32 master weights and computes in float32 (model.dtype bfloat16 applies to LoRA runs)")
	}
	init := "the model's weights"
	if opts.FromScratch {
		init = fmt.Sprintf("random weights (seed %d)", cfg.Training.Seed)
	}
	lossOn := opts.LossOn
	if lossOn == "" {
		lossOn = LossOnAssistant
	}
	logger.Info("sft: full-parameter training", "from", init, "tensors", numTensors, "parameters", numParams, "loss_on", lossOn)
}

// lossOnLabel names Options.LossOn in summaries.
func lossOnLabel(s string) string {
	if s == "" {
		return LossOnAssistant
	}
	return s
}

// saveFullModels writes the final weights to model/ and, when an
// evaluation chose one, the best checkpoint's to best_model/, in the save
// dtype, and records them in the summary.
func saveFullModels(lm *stage.Model, opts *Options, tres *train.Result, s *Summary) error {
	dtype, err := parseSaveDType(opts.SaveDType)
	if err != nil {
		return err
	}
	s.SaveDType = stage.DTypeName(dtype)
	s.SavedModel = filepath.Join(opts.Out, ModelDirName)
	if err := saveModelDir(lm.Model, dtype, lm.Dir, s.SavedModel); err != nil {
		return fmt.Errorf("saving the model: %w", err)
	}
	if tres.HasBest && tres.BestCheckpoint != "" {
		s.BestSavedModel = filepath.Join(opts.Out, BestModelDirName)
		if err := saveCheckpointModel(lm.Model, dtype, lm.Dir, tres.BestCheckpoint, s.BestSavedModel); err != nil {
			return fmt.Errorf("saving the best model: %w", err)
		}
	}
	return nil
}
