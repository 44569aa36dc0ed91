package train

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
)

// Checkpoint layout: RUN_DIR/checkpoints/step-00000042/{state.json,variables.bin,checksums.sha256}.
// A checkpoint is written in a ".tmp-*" directory next to it and renamed into
// place, so a directory named step-N is always complete; leftovers of a
// killed write are ignored and removed on the next start. checksums.sha256
// holds the SHA-256 of the other files, checked whenever a checkpoint is
// loaded (see VerifyCheckpoint).
const (
	checkpointsDirName = "checkpoints"
	// StateFileName is the file every checkpoint directory holds: its step,
	// optimizer and data state, and the list of its variables.
	StateFileName     = "state.json"
	variablesFileName = "variables.bin"
	bestFileName      = "best.json"
	tmpPrefix         = ".tmp-"
	checkpointFormat  = "gemma3n-therapy/train-checkpoint/v1"
)

// checkpointDTypes are the dtypes a checkpoint may hold (whole bytes per element).
var checkpointDTypes = map[dtypes.DType]bool{
	dtypes.Float32: true, dtypes.Float64: true, dtypes.BFloat16: true, dtypes.Float16: true,
	dtypes.Int8: true, dtypes.Int16: true, dtypes.Int32: true, dtypes.Int64: true,
	dtypes.Uint8: true, dtypes.Uint16: true, dtypes.Uint32: true, dtypes.Uint64: true, dtypes.Bool: true,
}

var checkpointDirPattern = regexp.MustCompile(`^step-(\d{8,})$`)

// runState is everything besides variables that a resumed run needs to
// continue exactly where the interrupted one stopped.
type runState struct {
	Step         int      `json:"step"`          // optimizer steps taken (skipped ones included)
	Updates      int      `json:"updates"`       // optimizer steps that changed the variables
	Position     Position `json:"data_position"` // next micro-batch
	Examples     int64    `json:"examples"`
	Tokens       int64    `json:"tokens"`
	Elapsed      float64  `json:"elapsed_s"`
	SkippedSteps int      `json:"skipped_steps"`
	BadStreak    int      `json:"bad_streak"` // consecutive non-finite steps
	LastLoss     *float64 `json:"last_loss,omitempty"`
	// OptimizerInitFrom is the checkpoint of another run whose AdamW moments
	// started this run (Config.InitOptimizerFrom), and
	// OptimizerUpdatesBefore the number of updates they had seen there: the
	// bias correction of update u of this run uses t = OptimizerUpdatesBefore + u.
	OptimizerInitFrom      string `json:"optimizer_init_from,omitempty"`
	OptimizerUpdatesBefore int    `json:"optimizer_updates_before,omitempty"`

	HasBest                 bool    `json:"has_best"`
	BestStep                int     `json:"best_step"`
	BestEvalLoss            float64 `json:"best_eval_loss"`
	EvalsWithoutImprovement int     `json:"evals_without_improvement"`
}

// tensorEntry locates one variable's raw little-endian bytes in variables.bin.
type tensorEntry struct {
	Scope     string `json:"scope"`
	Name      string `json:"name"`
	DType     string `json:"dtype"`
	Dims      []int  `json:"dims"`
	Offset    int64  `json:"offset"`
	Length    int64  `json:"length"`
	Trainable bool   `json:"trainable"`
}

// checkpointMeta is the content of state.json.
type checkpointMeta struct {
	Format          string        `json:"format"`
	State           runState      `json:"state"`
	BatchesPerEpoch int           `json:"batches_per_epoch"`
	GradAccum       int           `json:"grad_accum"`
	TotalSteps      int           `json:"total_steps"`
	Variables       []tensorEntry `json:"variables"`
}

// Checkpoint is a loaded checkpoint: the run state and the saved variables
// (trainable variables, optimizer moments and the store's RNG state).
type Checkpoint struct {
	Dir  string
	Step int
	meta checkpointMeta
	// Variables maps a variable's scope and name ("/scope/name") to its value.
	Variables map[string]*tensors.Tensor
	// Trainable lists the keys of Variables that were trained, in save order.
	Trainable []string
	// Verified reports that every file matched its checksum; false for a
	// checkpoint written before checkpoints carried checksums, which loads
	// with a warning in Warnings.
	Verified bool
	Warnings []string
}

// CheckpointsDir is the directory that holds a run directory's checkpoints.
func CheckpointsDir(runDir string) string { return filepath.Join(runDir, checkpointsDirName) }

// CheckpointDirs lists the complete checkpoints of a run directory, oldest first.
func CheckpointDirs(runDir string) ([]string, error) {
	root := CheckpointsDir(runDir)
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("train: listing checkpoints: %w", err)
	}
	type stepDir struct {
		step int
		dir  string
	}
	var found []stepDir
	for _, e := range entries {
		m := checkpointDirPattern.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, e.Name())
		if _, err := os.Stat(filepath.Join(dir, StateFileName)); err != nil {
			continue // not ours or damaged by hand: never resume from it
		}
		step, _ := strconv.Atoi(m[1])
		found = append(found, stepDir{step, dir})
	}
	slices.SortFunc(found, func(a, b stepDir) int { return a.step - b.step })
	dirs := make([]string, len(found))
	for i, f := range found {
		dirs[i] = f.dir
	}
	return dirs, nil
}

// LatestCheckpoint returns the newest complete checkpoint of a run directory,
// or "" when there is none.
func LatestCheckpoint(runDir string) (string, error) {
	dirs, err := CheckpointDirs(runDir)
	if err != nil || len(dirs) == 0 {
		return "", err
	}
	return dirs[len(dirs)-1], nil
}

// BestCheckpoint returns the checkpoint with the best evaluation loss recorded
// in the run directory, or "" when no evaluation has happened.
func BestCheckpoint(runDir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(runDir, checkpointsDirName, bestFileName))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("train: %w", err)
	}
	var best bestRecord
	if err := json.Unmarshal(data, &best); err != nil {
		return "", fmt.Errorf("train: %s: %w", filepath.Join(runDir, checkpointsDirName, bestFileName), err)
	}
	return filepath.Join(runDir, checkpointsDirName, best.Dir), nil
}

// bestRecord is the content of checkpoints/best.json.
type bestRecord struct {
	Dir      string  `json:"dir"`
	Step     int     `json:"step"`
	EvalSet  string  `json:"eval_set"`
	EvalLoss float64 `json:"eval_loss"`
}

func checkpointDirName(step int) string { return fmt.Sprintf("step-%08d", step) }

// writeCheckpoint saves the variables and state atomically as the checkpoint
// of meta.State.Step and returns its directory.
func writeCheckpoint(runDir string, meta checkpointMeta, vars []*model.Variable) (string, error) {
	root := filepath.Join(runDir, checkpointsDirName)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("train: checkpoint: %w", err)
	}
	tmp, err := os.MkdirTemp(root, tmpPrefix+checkpointDirName(meta.State.Step)+"-")
	if err != nil {
		return "", fmt.Errorf("train: checkpoint: %w", err)
	}
	defer os.RemoveAll(tmp) // no-op after the rename

	meta.Format = checkpointFormat
	meta.Variables = nil
	varsSum, err := writeVariables(filepath.Join(tmp, variablesFileName), vars, &meta)
	if err != nil {
		return "", err
	}
	data, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return "", fmt.Errorf("train: checkpoint state: %w", err)
	}
	if err := writeFileSync(filepath.Join(tmp, StateFileName), data); err != nil {
		return "", err
	}
	stateSum := sha256.Sum256(data)
	if err := writeChecksums(tmp, map[string][]byte{variablesFileName: varsSum, StateFileName: stateSum[:]}); err != nil {
		return "", err
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp made it 0700
		return "", fmt.Errorf("train: checkpoint: %w", err)
	}
	final := filepath.Join(root, checkpointDirName(meta.State.Step))
	if _, err := os.Stat(final); err == nil {
		// A resumed run re-saving a step: move the old one away first, since
		// rename cannot replace a non-empty directory.
		old := filepath.Join(root, tmpPrefix+"old-"+filepath.Base(final))
		_ = os.RemoveAll(old)
		if err := os.Rename(final, old); err != nil {
			return "", fmt.Errorf("train: checkpoint: %w", err)
		}
		defer os.RemoveAll(old)
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("train: checkpoint: %w", err)
	}
	atomicfile.SyncDir(root)
	return final, nil
}

// writeVariables writes the raw bytes of each variable, records where, and
// returns the SHA-256 of the file.
func writeVariables(path string, vars []*model.Variable, meta *checkpointMeta) ([]byte, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("train: checkpoint: %w", err)
	}
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	var offset int64
	for _, v := range vars {
		value, err := v.Value()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("train: checkpoint: variable %s: %w", v.Path(), err)
		}
		var writeErr error
		var n int
		if err := value.ConstBytes(func(data []byte) { n, writeErr = w.Write(data) }); err != nil {
			writeErr = err
		}
		if writeErr != nil {
			f.Close()
			return nil, fmt.Errorf("train: checkpoint: writing variable %s: %w", v.Path(), writeErr)
		}
		shape := value.Shape()
		scope, name := model.SplitPath(v.Path())
		meta.Variables = append(meta.Variables, tensorEntry{
			Scope: scope, Name: name, DType: shape.DType.String(), Dims: slices.Clone(shape.Dimensions),
			Offset: offset, Length: int64(n), Trainable: v.Trainable,
		})
		offset += int64(n)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return nil, fmt.Errorf("train: checkpoint: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("train: checkpoint: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("train: checkpoint: %w", err)
	}
	return h.Sum(nil), nil
}

func writeFileSync(path string, data []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("train: writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("train: writing %s: %w", path, err)
	}
	return f.Close()
}

// writeFileAtomic writes a small file through atomicfile; a temporary file
// left by a killed write is removed by removeTempDirs.
func writeFileAtomic(path string, data []byte) error {
	if err := atomicfile.WriteBytes(path, data); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// removeTempDirs deletes leftovers of interrupted writes: checkpoint
// directories being written (tmpPrefix) and atomicfile's temporary files
// (best.json) in the checkpoints directory, and temporary files of the
// metrics log in the run directory.
func removeTempDirs(runDir string) {
	root := filepath.Join(runDir, checkpointsDirName)
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		name := e.Name()
		if (strings.HasPrefix(name, tmpPrefix) && len(name) > len(tmpPrefix)) || atomicfile.IsTemp(name) {
			_ = os.RemoveAll(filepath.Join(root, name))
		}
	}
	entries, _ = os.ReadDir(runDir)
	for _, e := range entries {
		if name := e.Name(); atomicfile.IsTemp(name) && strings.HasPrefix(name, "."+MetricsFileName+".") {
			_ = os.Remove(filepath.Join(runDir, name))
		}
	}
}

// LoadCheckpoint reads a checkpoint directory written by a Trainer, after
// checking its files against their checksums (VerifyCheckpoint): a file
// that differs is a *CorruptCheckpointError naming it. A checkpoint
// without checksums (written before they existed) loads with a warning in
// Checkpoint.Warnings.
func LoadCheckpoint(dir string) (*Checkpoint, error) {
	verified, err := VerifyCheckpoint(dir)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	statePath := filepath.Join(dir, StateFileName)
	data, err := os.ReadFile(statePath)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	binPath := filepath.Join(dir, variablesFileName)
	f, err := os.Open(binPath)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	ckpt, err := decodeCheckpoint(data, f, info.Size())
	if err != nil {
		return nil, fmt.Errorf("train: checkpoint %s: %w", dir, err)
	}
	ckpt.Dir = dir
	ckpt.Verified = verified
	if !verified {
		ckpt.Warnings = append(ckpt.Warnings, fmt.Sprintf("checkpoint %s has no %s (written before checkpoints carried checksums): its files cannot be verified", dir, ChecksumsFileName))
	}
	return ckpt, nil
}

// decodeCheckpoint parses state.json and reads the variables it lists from
// bin (of the given size), validating every entry before allocating.
func decodeCheckpoint(stateJSON []byte, bin io.ReaderAt, binSize int64) (*Checkpoint, error) {
	var meta checkpointMeta
	if err := json.Unmarshal(stateJSON, &meta); err != nil {
		return nil, fmt.Errorf("%s: %w", StateFileName, err)
	}
	if meta.Format != checkpointFormat {
		return nil, fmt.Errorf("%s: format %q, want %q", StateFileName, meta.Format, checkpointFormat)
	}
	if meta.State.Step < 0 || meta.State.Updates < 0 || meta.State.OptimizerUpdatesBefore < 0 || meta.State.Position.Epoch < 0 || meta.State.Position.Index < 0 {
		return nil, fmt.Errorf("%s: negative step, update count or data position", StateFileName)
	}
	ckpt := &Checkpoint{Step: meta.State.Step, meta: meta, Variables: make(map[string]*tensors.Tensor, len(meta.Variables))}
	for i, e := range meta.Variables {
		key := model.JoinPath(e.Scope, e.Name)
		where := fmt.Sprintf("%s: variable #%d %q", StateFileName, i, key)
		if e.Name == "" || e.Scope == "" || e.Scope[0] != '/' {
			return nil, fmt.Errorf("%s: scope must be absolute and name non-empty", where)
		}
		if _, dup := ckpt.Variables[key]; dup {
			return nil, fmt.Errorf("%s: saved twice", where)
		}
		dtype, err := dtypes.DTypeString(e.DType)
		if err != nil || !checkpointDTypes[dtype] {
			return nil, fmt.Errorf("%s: unsupported dtype %q", where, e.DType)
		}
		size := int64(1)
		for _, d := range e.Dims {
			if d < 0 || (d > 0 && size > (1<<40)/int64(d)) {
				return nil, fmt.Errorf("%s: invalid dimensions %v", where, e.Dims)
			}
			size *= int64(d)
		}
		if size*int64(dtype.Size()) != e.Length {
			return nil, fmt.Errorf("%s: %d bytes for %s%v, want %d", where, e.Length, e.DType, e.Dims, size*int64(dtype.Size()))
		}
		if e.Offset < 0 || e.Length < 0 || e.Offset > binSize-e.Length {
			return nil, fmt.Errorf("%s: bytes [%d, %d) outside %s (%d bytes)", where, e.Offset, e.Offset+e.Length, variablesFileName, binSize)
		}
		t := tensors.FromShape(shapes.Make(dtype, e.Dims...))
		var readErr error
		if err := t.MutableBytes(func(data []byte) { _, readErr = bin.ReadAt(data, e.Offset) }); err != nil {
			readErr = err
		}
		if readErr != nil && !(errors.Is(readErr, io.EOF) && e.Length == 0) {
			return nil, fmt.Errorf("%s: reading %s: %w", where, variablesFileName, readErr)
		}
		ckpt.Variables[key] = t
		if e.Trainable {
			ckpt.Trainable = append(ckpt.Trainable, key)
		}
	}
	return ckpt, nil
}

// Restore puts the checkpoint's variables into store: variables that exist
// get the saved value (shapes must match); the others are handed to the
// store through a Loader, so that they take the saved value when the model
// creates them. Only the Trainable ones are restored when trainableOnly is
// set (e.g. to load an adapter without optimizer state).
func (c *Checkpoint) Restore(store *model.Store, trainableOnly bool) error {
	pending := map[string]*tensors.Tensor{}
	for key, value := range c.Variables {
		if trainableOnly && !slices.Contains(c.Trainable, key) {
			continue
		}
		v := store.GetVariable(key)
		if v == nil && key == model.JoinPath(model.RootScopePath, model.RNGStateVariableName) {
			if err := store.SetRNGStateFromSeed(0); err != nil { // creates the (non-trainable) RNG variable
				return fmt.Errorf("train: restoring RNG state: %w", err)
			}
			v = store.GetVariable(key)
		}
		clone, err := value.LocalClone() // the store owns (and may donate) its values
		if err != nil {
			return fmt.Errorf("train: checkpoint %s: variable %q: %w", c.Dir, key, err)
		}
		if v == nil {
			pending[key] = clone
			continue
		}
		if !v.Shape().Equal(value.Shape()) {
			return fmt.Errorf("train: checkpoint %s: variable %q has shape %s, the model has %s", c.Dir, key, value.Shape(), v.Shape())
		}
		if err := v.SetValue(clone); err != nil {
			return fmt.Errorf("train: checkpoint %s: variable %q: %w", c.Dir, key, err)
		}
	}
	if len(pending) > 0 {
		store.SetLoader(&pendingLoader{values: pending, next: store.Loader()})
	}
	return nil
}

// pendingLoader hands saved values to variables created after a restore,
// and defers to the loader that was installed before it.
type pendingLoader struct {
	values map[string]*tensors.Tensor
	next   model.Loader
}

func (l *pendingLoader) LoadVariable(store *model.Store, path string) (*tensors.Tensor, bool) {
	if value, ok := l.values[path]; ok {
		delete(l.values, path)
		return value, true
	}
	if l.next != nil {
		return l.next.LoadVariable(store, path)
	}
	return nil, false
}

func (l *pendingLoader) DeleteVariable(store *model.Store, path string) error {
	delete(l.values, path)
	if l.next != nil {
		return l.next.DeleteVariable(store, path)
	}
	return nil
}

// pruneCheckpoints keeps the newest keep checkpoints and the best one (keep ≤ 0 keeps all).
func pruneCheckpoints(runDir string, keep int, bestStep int, hasBest bool) error {
	if keep <= 0 {
		return nil
	}
	dirs, err := CheckpointDirs(runDir)
	if err != nil {
		return err
	}
	bestName := checkpointDirName(bestStep)
	for i, dir := range dirs {
		if i >= len(dirs)-keep || (hasBest && filepath.Base(dir) == bestName) {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("train: removing old checkpoint: %w", err)
		}
	}
	return nil
}

// momentKeys are the paths of the AdamW moments of a trainable variable
// (see OptimizerScope).
func momentKeys(v *model.Variable) (m, second string) {
	path := shadowPath(OptimizerScope, v.Path())
	return path + "_m", path + "_v"
}

// optimizerMoments returns the AdamW moments the checkpoint holds, by key.
func (c *Checkpoint) optimizerMoments() map[string]*tensors.Tensor {
	moments := map[string]*tensors.Tensor{}
	for key, value := range c.Variables {
		if strings.HasPrefix(key, OptimizerScope+"/") && !slices.Contains(c.Trainable, key) {
			moments[key] = value
		}
	}
	return moments
}

// matchMoments picks, for each trainable variable, its two moments from
// moments (saved by the run in from): float32 with the variable's
// dimensions. A moment that is missing or of another shape is an error
// naming the variable. It also returns how many moments no variable used.
func matchMoments(moments map[string]*tensors.Tensor, trainable []*model.Variable, from string) (map[string]*tensors.Tensor, int, error) {
	picked := make(map[string]*tensors.Tensor, 2*len(trainable))
	for _, v := range trainable {
		want := shapes.Make(dtypes.Float32, v.Shape().Dimensions...)
		m, second := momentKeys(v)
		for _, key := range []string{m, second} {
			value, ok := moments[key]
			if !ok {
				return nil, 0, fmt.Errorf("train: initialising the optimizer from %s: it has no AdamW moment %s for the trainable variable %s (did that run train it?)", from, key, v.Path())
			}
			if !value.Shape().Equal(want) {
				return nil, 0, fmt.Errorf("train: initialising the optimizer from %s: its AdamW moment %s has shape %s, the trainable variable %s needs %s", from, key, value.Shape(), v.Path(), want)
			}
			picked[key] = value
		}
	}
	return picked, len(moments) - len(picked), nil
}

// loadInitOptimizer reads the AdamW state of Config.InitOptimizerFrom for a
// fresh run: the moments wait in t.initMoments for the first step, which
// knows the trainable variables; the update count continues the bias
// correction from the first update on.
func (t *Trainer) loadInitOptimizer(dir string) error {
	ckpt, err := LoadCheckpoint(dir)
	if err != nil {
		return fmt.Errorf("train: initialising the optimizer: %w", err)
	}
	for _, w := range ckpt.Warnings {
		t.log.Warn("train: initialising the optimizer: " + w)
	}
	moments := ckpt.optimizerMoments()
	if len(moments) == 0 {
		return fmt.Errorf("train: initialising the optimizer: checkpoint %s holds no AdamW moments", dir)
	}
	t.initMoments = moments
	t.state.OptimizerInitFrom = dir
	t.state.OptimizerUpdatesBefore = ckpt.meta.State.OptimizerUpdatesBefore + ckpt.meta.State.Updates
	t.log.Info("train: optimizer state from another run", "checkpoint", dir, "updates_before", t.state.OptimizerUpdatesBefore)
	return nil
}

// installInitMoments gives every trainable variable the moments of
// Config.InitOptimizerFrom, before the first optimizer update.
func (t *Trainer) installInitMoments() error {
	picked, unused, err := matchMoments(t.initMoments, t.trainable, t.state.OptimizerInitFrom)
	if err != nil {
		return err
	}
	var keys []string
	for _, v := range t.trainable { // in a fixed order
		m, second := momentKeys(v)
		keys = append(keys, m, second)
	}
	for _, key := range keys {
		value := picked[key]
		clone, err := value.LocalClone() // the store owns (and may donate) its values
		if err != nil {
			return fmt.Errorf("train: initialising the optimizer: %s: %w", key, err)
		}
		if v := t.store.GetVariable(key); v != nil {
			if !v.Shape().Equal(clone.Shape()) {
				return fmt.Errorf("train: initialising the optimizer: %s exists with shape %s, the checkpoint has %s", key, v.Shape(), clone.Shape())
			}
			if err := v.SetValue(clone); err != nil {
				return fmt.Errorf("train: initialising the optimizer: %s: %w", key, err)
			}
			v.SetTrainable(false)
			continue
		}
		t.store.VariableWithValue(key, clone).SetTrainable(false)
	}
	if unused > 0 {
		t.log.Warn("train: ignored the optimizer state of variables this run does not train", "checkpoint", t.state.OptimizerInitFrom, "moments", unused)
	}
	t.initMoments = nil
	return nil
}
