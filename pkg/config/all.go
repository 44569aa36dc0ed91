package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
)

// File names of the sections in a configs directory.
const (
	ModelFile      = "model_config.yaml"
	TrainingFile   = "training_config.yaml"
	LoRAFile       = "lora_config.yaml"
	CurriculumFile = "curriculum.yaml"
	DPOFile        = "dpo.yaml"
	DataFile       = "data.yaml"
	SafetyFile     = "safety.yaml"
)

// All is the whole configuration of a run. Its YAML form (WriteYAML,
// LoadResolved) has one top-level key per section.
type All struct {
	Model      Model      `yaml:"model"`
	Training   Training   `yaml:"training"`
	LoRA       LoRA       `yaml:"lora"`
	Curriculum Curriculum `yaml:"curriculum"`
	DPO        DPO        `yaml:"dpo"`
	Data       Data       `yaml:"data"`
	Safety     Safety     `yaml:"safety"`

	// BaseDir is the directory that relative data paths are resolved
	// against (see Path): the repository root, i.e. the parent of the
	// configs directory. Empty means the working directory.
	BaseDir string `yaml:"base_dir,omitempty"`

	sources   map[string]source // section → where it was read, for error positions
	overrides map[string]string // dotted key → raw value, from Set
	notes     []string          // built-in defaults used for want of a file (Notes)
}

// Notes says which parts of the configuration are the built-in defaults
// because no file holds them: a configs directory without a section file,
// a single section file given for the whole configuration, or no
// configuration at all (BuiltIn). Commands print them on stderr, so that a
// run on defaults is never silent.
func (a *All) Notes() []string { return slices.Clone(a.notes) }

// BuiltIn is Default for a run that found no configuration file at all;
// its Notes say so.
func BuiltIn(why string) *All {
	a := Default()
	a.notes = append(a.notes, why+": every setting is a built-in default")
	return a
}

// sectionNames lists the sections in order, e.g. for a note.
func sectionNames(skip string) []string {
	var names []string
	for _, s := range sections {
		if s.file != skip {
			names = append(names, s.name)
		}
	}
	return names
}

// source records where a section was read from.
type source struct {
	file      string
	root      *yaml.Node
	keyPrefix string // "training." when the file holds all sections
}

// section describes one section: its name (the top-level key of the
// resolved form), its file in a configs directory, and accessors.
type section struct {
	name  string
	file  string
	ptr   func(a *All) any
	check func(a *All, c *checker)
}

var sections = []section{
	{"model", ModelFile, func(a *All) any { return &a.Model }, func(a *All, c *checker) { a.Model.check(c) }},
	{"training", TrainingFile, func(a *All) any { return &a.Training }, func(a *All, c *checker) { a.Training.check(c) }},
	{"lora", LoRAFile, func(a *All) any { return &a.LoRA }, func(a *All, c *checker) { a.LoRA.check(c) }},
	{"curriculum", CurriculumFile, func(a *All) any { return &a.Curriculum }, func(a *All, c *checker) { a.Curriculum.check(c) }},
	{"dpo", DPOFile, func(a *All) any { return &a.DPO }, func(a *All, c *checker) { a.DPO.check(c) }},
	{"data", DataFile, func(a *All) any { return &a.Data }, func(a *All, c *checker) { a.Data.check(c) }},
	{"safety", SafetyFile, func(a *All) any { return &a.Safety }, func(a *All, c *checker) { a.Safety.check(c) }},
}

func sectionByFile(name string) (section, bool) {
	for _, s := range sections {
		if s.file == name {
			return s, true
		}
	}
	return section{}, false
}

// Default returns the configuration of the shipped configs directory.
func Default() *All {
	return &All{
		Model:      DefaultModel(),
		Training:   DefaultTraining(),
		LoRA:       DefaultLoRA(),
		Curriculum: DefaultCurriculum(),
		DPO:        DefaultDPO(),
		Data:       DefaultData(),
		Safety:     DefaultSafety(),
	}
}

// LoadModel reads a model_config.yaml; absent keys keep DefaultModel values.
func LoadModel(path string) (Model, error) { return loadFile(path, DefaultModel(), Model.check) }

// LoadTraining reads a training_config.yaml; absent keys keep DefaultTraining values.
func LoadTraining(path string) (Training, error) {
	return loadFile(path, DefaultTraining(), Training.check)
}

// LoadLoRA reads a lora_config.yaml; absent keys keep DefaultLoRA values.
func LoadLoRA(path string) (LoRA, error) { return loadFile(path, DefaultLoRA(), LoRA.check) }

// LoadCurriculum reads a curriculum.yaml; absent keys keep DefaultCurriculum
// values (a phases list replaces the default phases as a whole).
func LoadCurriculum(path string) (Curriculum, error) {
	return loadFile(path, DefaultCurriculum(), Curriculum.check)
}

// LoadDPO reads a dpo.yaml; absent keys keep DefaultDPO values.
func LoadDPO(path string) (DPO, error) { return loadFile(path, DefaultDPO(), DPO.check) }

// LoadData reads a data.yaml; absent keys keep DefaultData values.
func LoadData(path string) (Data, error) { return loadFile(path, DefaultData(), Data.check) }

// LoadSafety reads a safety.yaml; absent keys keep DefaultSafety values
// (an other_lines list replaces the default lines as a whole).
func LoadSafety(path string) (Safety, error) { return loadFile(path, DefaultSafety(), Safety.check) }

// loadFile decodes one section file over its defaults and validates it.
func loadFile[T any](path string, value T, check func(T, *checker)) (T, error) {
	data, err := readFile(path)
	if err != nil {
		var zero T
		return zero, err
	}
	return loadBytes(path, data, value, check)
}

// loadBytes is loadFile on data already read; file names it in errors.
func loadBytes[T any](file string, data []byte, value T, check func(T, *checker)) (T, error) {
	var zero T
	root, errs := decode(file, data, &value)
	if len(errs) > 0 {
		return zero, errs
	}
	c := &checker{file: file, root: root}
	check(value, c)
	if len(c.errs) > 0 {
		return zero, c.errs
	}
	return value, nil
}

func readFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		return nil, fmt.Errorf("%s: is a directory, not a YAML file", path)
	}
	if info.Size() > maxFileSize {
		return nil, fmt.Errorf("%s: %d bytes is too large for a configuration file", path, info.Size())
	}
	return os.ReadFile(path)
}

// Load reads a configs directory: each of the section files that exists
// (a missing file keeps its section's defaults), strictly, then validates
// everything. A YAML file whose name is a near miss of a section file
// ("traning_config.yaml") is an error rather than silently ignored.
func Load(dir string) (*All, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", dir)
	}
	a := Default()
	a.BaseDir = parentDir(dir)
	errs := misspeltFiles(dir)
	var missing, files []string
	for _, s := range sections {
		path := filepath.Join(dir, s.file)
		data, err := readFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, s.file)
			continue
		}
		if err != nil {
			return nil, err
		}
		files = append(files, s.file)
		root, decodeErrs := decode(path, data, s.ptr(a))
		errs = append(errs, decodeErrs...)
		a.setSource(s.name, source{file: path, root: root})
	}
	if len(files) == 0 && len(errs) == 0 {
		return nil, Errors{{File: dir, Msg: "a configs directory without any configuration file (want one or more of " + strings.Join(missing, ", ") + "); give a directory that has them, or no --config for the defaults"}}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	for _, f := range missing {
		s, _ := sectionByFile(f)
		a.notes = append(a.notes, fmt.Sprintf("%s has no %s: the %s section is the built-in defaults", dir, f, s.name))
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return a, nil
}

// misspeltFiles reports YAML files in dir that look like a misspelt section
// file name; other YAML files are left alone.
func misspeltFiles(dir string) Errors {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var errs Errors
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			continue
		}
		if _, ok := sectionByFile(name); ok {
			continue
		}
		for _, s := range sections {
			if editDistance(name, s.file) <= 3 {
				errs = append(errs, &Error{File: filepath.Join(dir, name), Msg: fmt.Sprintf("not a configuration file name; did you mean %q?", s.file)})
				break
			}
		}
	}
	return errs
}

// LoadPath reads a configuration from path: a configs directory (Load), one
// section file named like those of a configs directory (the other sections
// keep their defaults), or a resolved file written by WriteYAML.
func LoadPath(path string) (*All, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		return Load(path)
	}
	s, ok := sectionByFile(filepath.Base(path))
	if !ok {
		return LoadResolved(path)
	}
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	a := Default()
	a.BaseDir = parentDir(filepath.Dir(path))
	root, errs := decode(path, data, s.ptr(a))
	if len(errs) > 0 {
		return nil, errs
	}
	a.setSource(s.name, source{file: path, root: root})
	a.notes = append(a.notes, fmt.Sprintf("only %s was given: the other sections (%s) are the built-in defaults", path, strings.Join(sectionNames(s.file), ", ")))
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return a, nil
}

// LoadResolved reads a file with every section under its own top-level key,
// as WriteYAML writes it; absent keys keep their defaults.
func LoadResolved(path string) (*All, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return parseResolved(path, data)
}

// parseResolved is LoadResolved on data already read; path names it in errors.
func parseResolved(path string, data []byte) (*All, error) {
	a := Default()
	root, errs := decode(path, data, a)
	if len(errs) > 0 {
		return nil, errs
	}
	for _, s := range sections {
		if root == nil {
			break
		}
		if node, _ := child(root, s.name); node != nil {
			a.setSource(s.name, source{file: path, root: node, keyPrefix: s.name + "."})
		} else {
			a.setSource(s.name, source{file: path, keyPrefix: s.name + "."})
		}
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return a, nil
}

func parentDir(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	return filepath.Dir(abs)
}

func (a *All) setSource(name string, s source) {
	if a.sources == nil {
		a.sources = map[string]source{}
	}
	a.sources[name] = s
}

// Validate checks every section and the rules across sections. Errors point
// at the file, line and key the value came from, or at the override that set it.
func (a *All) Validate() error {
	var errs Errors
	checkers := map[string]*checker{}
	for _, s := range sections {
		c := a.checker(s.name)
		s.check(a, c)
		checkers[s.name] = c
	}
	// Rules across sections, reported at the value that has to give way.
	if a.Data.Debug.MaxSeqLength > a.Model.MaxSeqLength && a.Model.MaxSeqLength > 0 {
		checkers["data"].errorf("debug.max_seq_length", "must be ≤ model max_seq_length (%d), got %d", a.Model.MaxSeqLength, a.Data.Debug.MaxSeqLength)
	}
	if a.DPO.MaxLength > a.Model.MaxSeqLength && a.Model.MaxSeqLength > 0 {
		checkers["dpo"].errorf("max_length", "must be ≤ model max_seq_length (%d), got %d", a.Model.MaxSeqLength, a.DPO.MaxLength)
	}
	for _, s := range sections {
		errs = append(errs, checkers[s.name].errs...)
	}
	return errs.orNil()
}

func (a *All) checker(name string) *checker {
	src := a.sources[name]
	c := &checker{file: src.file, root: src.root, section: name, overrides: a.overrides}
	c.keyPrefix = src.keyPrefix
	if src.file == "" {
		// Not read from a file: the section name makes the key unambiguous.
		c.keyPrefix = name + "."
	}
	return c
}

// Path resolves a data path of the configuration: absolute paths are kept,
// relative ones are joined to BaseDir.
func (a *All) Path(p string) string {
	if p == "" || filepath.IsAbs(p) || a.BaseDir == "" {
		return p
	}
	return filepath.Join(a.BaseDir, p)
}

// PhaseTraining returns the training settings of curriculum phase i: the
// shared training settings with the phase's learning rate and epochs.
func (a *All) PhaseTraining(i int) Training {
	t := a.Training
	p := a.Curriculum.Phases[i]
	t.LearningRate = p.LearningRate
	t.NumTrainEpochs = p.Epochs
	t.MaxSteps = 0
	return t
}

// DPOTraining returns the training settings of the DPO stage: the shared
// training settings with dpo.yaml's learning rate, epochs, batch,
// accumulation and warmup.
func (a *All) DPOTraining() Training {
	t := a.Training
	t.LearningRate = a.DPO.LearningRate
	t.NumTrainEpochs = a.DPO.NumTrainEpochs
	t.PerDeviceTrainBatchSize = a.DPO.PerDeviceTrainBatchSize
	t.GradientAccumulationSteps = a.DPO.GradientAccumulationSteps
	t.WarmupRatio = a.DPO.WarmupRatio
	t.WarmupSteps = 0
	t.MaxSteps = 0
	return t
}

// ApplyDebug shrinks the configuration to the --debug sizes of data.yaml:
// the model's max_seq_length, the curriculum's target size and DPO's token
// budgets. (The debug subset sizes themselves are for the data layer.)
func (a *All) ApplyDebug() {
	d := a.Data.Debug
	a.Model.MaxSeqLength = d.MaxSeqLength
	a.Curriculum.TargetDatasetSize = d.TargetDatasetSize
	a.DPO.MaxLength = min(a.DPO.MaxLength, d.MaxSeqLength)
	a.DPO.MaxPromptLength = min(a.DPO.MaxPromptLength, a.DPO.MaxLength/2)
}

// resolvedHeader opens every file written by WriteYAML.
const resolvedHeader = "# Resolved configuration of a gemma3n-therapy run: every section, defaults and overrides applied.\n" +
	"# Load it with config.LoadResolved (or --config FILE).\n"

// YAML returns the resolved form of the configuration, with a header comment.
func (a *All) YAML() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(resolvedHeader)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(a); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteYAML saves the resolved configuration to path atomically (a
// temporary file in the same directory, renamed over path).
func (a *All) WriteYAML(path string) error {
	data, err := a.YAML()
	if err != nil {
		return fmt.Errorf("encode configuration: %w", err)
	}
	return atomicfile.WriteBytes(path, data)
}
