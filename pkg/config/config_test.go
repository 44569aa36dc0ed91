package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const shippedDir = "../../configs"

// The Go defaults are the shipped files: loading each file must give exactly
// its Default constructor's value.
func TestShippedConfigsEqualDefaults(t *testing.T) {
	check := func(name string, got, want any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s differs from its default:\n got %+v\nwant %+v", name, got, want)
		}
	}
	path := func(f string) string { return filepath.Join(shippedDir, f) }
	m, err := LoadModel(path(ModelFile))
	check(ModelFile, m, DefaultModel(), err)
	tr, err := LoadTraining(path(TrainingFile))
	check(TrainingFile, tr, DefaultTraining(), err)
	l, err := LoadLoRA(path(LoRAFile))
	check(LoRAFile, l, DefaultLoRA(), err)
	c, err := LoadCurriculum(path(CurriculumFile))
	check(CurriculumFile, c, DefaultCurriculum(), err)
	d, err := LoadDPO(path(DPOFile))
	check(DPOFile, d, DefaultDPO(), err)
	da, err := LoadData(path(DataFile))
	check(DataFile, da, DefaultData(), err)
	sa, err := LoadSafety(path(SafetyFile))
	check(SafetyFile, sa, DefaultSafety(), err)

	all, err := Load(shippedDir)
	if err != nil {
		t.Fatal(err)
	}
	def := Default()
	for _, s := range sections {
		if got, want := reflect.ValueOf(s.ptr(all)).Elem().Interface(), reflect.ValueOf(s.ptr(def)).Elem().Interface(); !reflect.DeepEqual(got, want) {
			t.Errorf("Load(%s) section %s differs from its default", shippedDir, s.name)
		}
	}
	if err := def.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	wantBase, _ := filepath.Abs("../..")
	if all.BaseDir != wantBase {
		t.Errorf("BaseDir = %q, want %q", all.BaseDir, wantBase)
	}
	if _, err := os.Stat(all.Path(all.Data.CounselChat.Path)); err != nil {
		t.Errorf("shipped CounselChat path does not resolve: %v", err)
	}
}

// Every shipped file opens with a comment saying what it configures.
func TestShippedConfigsHaveHeaderComment(t *testing.T) {
	for _, s := range sections {
		data, err := os.ReadFile(filepath.Join(shippedDir, s.file))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(data), "# ") {
			t.Errorf("%s does not start with a comment line", s.file)
		}
	}
}

func TestDefaultCurriculumDesign(t *testing.T) {
	c := DefaultCurriculum()
	wantMix := [][2]int{{100, 0}, {80, 20}, {60, 40}, {40, 60}, {0, 100}}
	wantLR := []float64{1e-4, 8e-5, 6e-5, 4e-5, 2e-5}
	if len(c.Phases) != 5 {
		t.Fatalf("%d phases, want 5", len(c.Phases))
	}
	total := 0
	for i, p := range c.Phases {
		if got := [2]int{p.Mix.CounselChat, p.Mix.AnnoMI}; got != wantMix[i] {
			t.Errorf("phase %d mix %v, want %v", i, got, wantMix[i])
		}
		if p.LearningRate != wantLR[i] {
			t.Errorf("phase %d lr %v, want %v", i, p.LearningRate, wantLR[i])
		}
		total += c.PhaseSize(i, c.TargetDatasetSize)
	}
	if total != c.TargetDatasetSize {
		t.Errorf("phase sizes sum to %d, want %d", total, c.TargetDatasetSize)
	}
}

// loadCase writes content as a file of the given section and loads it.
func loadCase(t *testing.T, file, content string) (string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), file)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	var err error
	switch file {
	case ModelFile:
		_, err = LoadModel(path)
	case TrainingFile:
		_, err = LoadTraining(path)
	case LoRAFile:
		_, err = LoadLoRA(path)
	case CurriculumFile:
		_, err = LoadCurriculum(path)
	case DPOFile:
		_, err = LoadDPO(path)
	case DataFile:
		_, err = LoadData(path)
	case SafetyFile:
		_, err = LoadSafety(path)
	default:
		t.Fatalf("no loader for %s", file)
	}
	return path, err
}

const twoPhases = `phases:
  - name: a
    mix: {counselchat: 100, annomi: 0}
    learning_rate: 1.0e-4
    share: 0.5
    epochs: 1
  - name: b
    mix: {counselchat: 0, annomi: 100}
    learning_rate: 2.0e-5
    share: 0.5
    epochs: 1
`

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		content string
		want    []string // substrings of the error, after "FILE" is replaced by the path
	}{
		// Unknown keys: never silently ignored.
		{"unknown top key", TrainingFile, "learning_rate: 1.0e-4\nlerning_rate: 1.0e-4\n",
			[]string{`FILE:2:1: lerning_rate: unknown key (did you mean "learning_rate"?)`}},
		{"unknown key lists known", LoRAFile, "zzzzzzzzzzzz: 1\n",
			[]string{"FILE:1:1: zzzzzzzzzzzz: unknown key (known keys: bias, lora_alpha, lora_dropout, r, target_modules, use_rslora)"}},
		{"unknown nested key", ModelFile, "attention:\n  implementaton: eager\n",
			[]string{`FILE:2:3: attention.implementaton: unknown key (did you mean "implementation"?)`}},
		{"unknown key in flow mapping", CurriculumFile, strings.Replace(twoPhases, "annomi: 0}", "anomi: 0}", 1),
			[]string{`FILE:3:29: phases.0.mix.anomi: unknown key (did you mean "annomi"?)`}},
		{"unknown key in list element", CurriculumFile, strings.Replace(twoPhases, "    epochs: 1\n  - name: b", "    epoch: 1\n  - name: b", 1),
			[]string{`FILE:6:5: phases.0.epoch: unknown key (did you mean "epochs"?)`}},
		{"duplicate key", LoRAFile, "r: 8\nr: 16\n", []string{"FILE:2:1: r: duplicate key (first set at line 1)"}},
		// An existing file is never silently the defaults.
		{"empty file", LoRAFile, "", []string{"FILE: the file is empty (no YAML document, only blanks or comments)"}},
		{"blank file", TrainingFile, "\n  \n", []string{"FILE: the file is empty"}},
		{"comments only", DPOFile, "# nothing to change\n", []string{"FILE: the file is empty", "write {} to keep every default"}},

		// Types.
		{"string for int", LoRAFile, "r: sixty-four\n", []string{`FILE:1:4: r: expected an integer, got "sixty-four"`}},
		{"float for int", LoRAFile, "r: 64.5\n", []string{`FILE:1:4: r: expected an integer, got "64.5"`}},
		{"word for bool", LoRAFile, "use_rslora: maybe\n", []string{`FILE:1:13: use_rslora: expected true or false, got "maybe"`}},
		{"string for float", TrainingFile, "learning_rate: fast\n", []string{`FILE:1:16: learning_rate: expected a number, got "fast"`}},
		{"scalar for list", LoRAFile, "target_modules: q_proj\n", []string{`FILE:1:17: target_modules: expected a list, got "q_proj"`}},
		{"scalar for mapping", ModelFile, "attention: eager\n", []string{`FILE:1:12: attention: expected a mapping, got "eager"`}},
		{"list for scalar", ModelFile, "dtype: [bfloat16]\n", []string{"FILE:1:8: dtype: expected a string, got a list"}},
		{"empty value", LoRAFile, "r:\n", []string{"FILE:1:3: r: has no value (delete the key to keep the default)"}},
		{"document is a list", LoRAFile, "- r\n", []string{"FILE:1:1: expected a mapping, got a list"}},

		// Syntax.
		{"unclosed flow list", LoRAFile, "target_modules: [q_proj, v_proj\nr: 8\n", []string{"FILE:", "invalid YAML"}},
		{"bad indentation", ModelFile, "attention:\n  implementation: eager\n sliding_window: 0\n", []string{"FILE:2: invalid YAML"}},
		{"tab indentation", LoRAFile, "r: 8\n\tbias: none\n", []string{"FILE:2: invalid YAML"}},
		{"two documents", LoRAFile, "r: 8\n---\nr: 16\n", []string{"FILE:2: invalid YAML: a configuration file holds one YAML document"}},

		// Ranges.
		{"r zero", LoRAFile, "r: 0\n", []string{"FILE:1:1: r: must be > 0, got 0"}},
		{"alpha negative", LoRAFile, "lora_alpha: -16\n", []string{"FILE:1:1: lora_alpha: must be a finite number > 0, got -16"}},
		{"dropout one", LoRAFile, "r: 8\nlora_dropout: 1.0\n", []string{"FILE:2:1: lora_dropout: must be in [0, 1), got 1"}},
		{"no target modules", LoRAFile, "target_modules: []\n", []string{"FILE:1:1: target_modules: must name at least one module"}},
		{"duplicate target module", LoRAFile, "target_modules: [q_proj, q_proj]\n", []string{`FILE:1:26: target_modules.1: "q_proj" listed twice`}},
		{"bias all unsupported", LoRAFile, "bias: all\n", []string{`FILE:1:1: bias: only "none" is supported`}},
		{"lr zero", TrainingFile, "learning_rate: 0\n", []string{"FILE:1:1: learning_rate: must be in (0, 1], got 0"}},
		{"lr nan", TrainingFile, "learning_rate: .nan\n", []string{"FILE:1:1: learning_rate: must be in (0, 1], got NaN"}},
		{"lr typo 2e4", TrainingFile, "learning_rate: 2e4\n", []string{"FILE:1:1: learning_rate: must be in (0, 1], got 20000"}},
		{"schedule", TrainingFile, "lr_scheduler_type: cosin\n", []string{`FILE:1:1: lr_scheduler_type: must be one of "cosine" | "linear" | "constant", got "cosin"`}},
		{"warmup ratio one", TrainingFile, "warmup_ratio: 1\n", []string{"FILE:1:1: warmup_ratio: must be in [0, 1), got 1"}},
		{"warmup not below total", TrainingFile, "max_steps: 10\nwarmup_steps: 10\n", []string{"FILE:2:1: warmup_steps: must be < max_steps (10), got 10"}},
		{"beta2 one", TrainingFile, "adam_beta2: 1.0\n", []string{"FILE:1:1: adam_beta2: must be in [0, 1), got 1"}},
		{"negative clip", TrainingFile, "max_grad_norm: -1\n", []string{"FILE:1:1: max_grad_norm: must be ≥ 0"}},
		{"nan patience", TrainingFile, "max_consecutive_nan_steps: 0\n", []string{"FILE:1:1: max_consecutive_nan_steps: must be > 0, got 0"}},
		{"several errors in file order", TrainingFile, "eval_steps: 0\nsave_steps: -1\n",
			[]string{"FILE:1:1: eval_steps: must be > 0, got 0\nFILE:2:1: save_steps: must be > 0, got -1"}},
		{"dtype", ModelFile, "dtype: fp16\n", []string{`FILE:1:1: dtype: must be one of "bfloat16" | "float32", got "fp16"`}},
		{"backend", ModelFile, "backend: cuda\n", []string{`FILE:1:1: backend: must be "", "go" or "xla:/abs/path/plugin.so", got "cuda"`}},
		{"empty model", ModelFile, "model_name_or_path: \"\"\n", []string{"FILE:1:1: model_name_or_path: must name"}},

		// Curriculum cross-field rules.
		{"mix not 100", CurriculumFile, strings.Replace(twoPhases, "{counselchat: 100, annomi: 0}", "{counselchat: 80, annomi: 10}", 1),
			[]string{"FILE:3:5: phases.0.mix: counselchat + annomi must be 100, got 80 + 10 = 90"}},
		{"mix negative", CurriculumFile, strings.Replace(twoPhases, "{counselchat: 100, annomi: 0}", "{counselchat: 110, annomi: -10}", 1),
			[]string{"FILE:3:11: phases.0.mix.counselchat: must be a percentage in [0, 100], got 110", "FILE:3:29: phases.0.mix.annomi: must be a percentage"}},
		{"phase lr zero", CurriculumFile, strings.Replace(twoPhases, "2.0e-5", "0", 1),
			[]string{"FILE:9:5: phases.1.learning_rate: must be in (0, 1], got 0"}},
		{"shares below one", CurriculumFile, strings.Replace(twoPhases, "share: 0.5\n    epochs: 1\n  - name: b", "share: 0.4\n    epochs: 1\n  - name: b", 1),
			[]string{"FILE:1:1: phases: shares must sum to 1 when every phase uses one, got 0.9"}},
		{"size and share", CurriculumFile, strings.Replace(twoPhases, "share: 0.5\n    epochs: 1\n  - name: b", "share: 0.5\n    size: 10\n    epochs: 1\n  - name: b", 1),
			[]string{"FILE:2:5: phases.0: set size or share, not both (size 10, share 0.5)"}},
		{"neither size nor share", CurriculumFile, "phases:\n  - name: a\n    mix: {counselchat: 50, annomi: 50}\n    learning_rate: 1.0e-4\n    epochs: 1\n",
			[]string{"FILE:2:5: phases.0: set size (examples) or share (of target_dataset_size)"}},
		{"epochs not set", CurriculumFile, "phases:\n  - name: a\n    mix: {counselchat: 50, annomi: 50}\n    learning_rate: 1.0e-4\n    size: 10\n",
			[]string{"FILE:2:5: phases.0.epochs: must be > 0, got 0 (not set in the file)"}},
		{"duplicate phase name", CurriculumFile, strings.Replace(twoPhases, "name: b", "name: a", 1),
			[]string{`FILE:7:5: phases.1.name: "a" is also the name of phase 0`}},
		{"phase name with slash", CurriculumFile, strings.Replace(twoPhases, "name: b", "name: ../b", 1),
			[]string{"FILE:7:5: phases.1.name: must be 1-64 letters"}},
		{"phase quality", CurriculumFile, strings.Replace(twoPhases, "    epochs: 1\n  - name: b", "    epochs: 1\n    annomi_quality: medium\n  - name: b", 1),
			[]string{`FILE:7:5: phases.0.annomi_quality: must be one of "all" | "high" | "low", got "medium"`}},
		{"no phases", CurriculumFile, "phases: []\n", []string{"FILE:1:1: phases: must list at least one phase"}},
		{"optimizer policy", CurriculumFile, "optimizer_state: keep\n", []string{`FILE:1:1: optimizer_state: must be one of "reset" | "carry", got "keep"`}},
		{"shares need a target", CurriculumFile, "target_dataset_size: 0\n", []string{"FILE:1:1: target_dataset_size: must be > 0 when a phase uses a share, got 0"}},

		// DPO.
		{"beta zero", DPOFile, "beta: 0\n", []string{"FILE:1:1: beta: must be a finite number > 0, got 0"}},
		{"loss type", DPOFile, "loss_type: kto\n", []string{`FILE:1:1: loss_type: must be one of "sigmoid" | "ipo" | "hinge", got "kto"`}},
		{"smoothing with ipo", DPOFile, "loss_type: ipo\nlabel_smoothing: 0.1\n", []string{`FILE:2:1: label_smoothing: applies to loss_type "sigmoid" only, not "ipo"`}},
		{"smoothing half", DPOFile, "label_smoothing: 0.5\n", []string{"FILE:1:1: label_smoothing: must be in [0, 0.5), got 0.5"}},
		{"prompt longer than total", DPOFile, "max_length: 512\nmax_prompt_length: 512\n", []string{"FILE:2:1: max_prompt_length: must be < max_length (512)"}},
		{"reference", DPOFile, "reference: sft_model\n", []string{`FILE:1:1: reference: must be one of "sft" | "base", got "sft_model"`}},
		{"negative rpo", DPOFile, "rpo_alpha: -1\n", []string{"FILE:1:1: rpo_alpha: must be ≥ 0"}},

		// Data.
		{"splits sum", DataFile, "splits: {train: 0.8, validation: 0.2, test: 0.1}\n",
			[]string{"FILE:1:1: splits: train + validation + test must be 1, got 0.8 + 0.2 + 0.1 = 1.1"}},
		{"split negative", DataFile, "splits: {train: 1.1, validation: -0.1, test: 0}\n",
			[]string{"FILE:1:10: splits.train: must be in [0, 1], got 1.1", "FILE:1:22: splits.validation: must be in [0, 1], got -0.1"}},
		{"no train split", DataFile, "splits: {train: 0, validation: 0.5, test: 0.5}\n", []string{"FILE:1:10: splits.train: must be > 0"}},
		{"quality filter", DataFile, "annomi:\n  quality_filter: good\n", []string{`FILE:2:3: annomi.quality_filter: must be one of "all" | "high" | "low", got "good"`}},
		{"context turns", DataFile, "annomi:\n  context_turns: 0\n", []string{"FILE:2:3: annomi.context_turns: must be > 0, got 0"}},
		{"debug sizes", DataFile, "debug: {counselchat_questions: 0, annomi_transcripts: 6, max_seq_length: 256}\n",
			[]string{"FILE:1:9: debug.counselchat_questions: must be > 0, got 0"}},

		// Safety: every resource filled in; no key turns the gate off.
		{"no emergency number", SafetyFile, "emergency_number: \"\"\n", []string{"FILE:1:1: emergency_number: must not be empty"}},
		{"crisis line unreachable", SafetyFile, "crisis_line:\n  name: Line\n  call: \"\"\n  text: \"\"\n  chat: \"\"\n",
			[]string{"FILE:1:1: crisis_line: needs at least one of call, text and chat"}},
		{"gate switch", SafetyFile, "enabled: false\n", []string{"FILE:1:1: enabled: unknown key"}},
		{"unknown category", SafetyFile, "other_lines:\n  - name: X\n    contact: call 1\n    categories: [suicide]\n",
			[]string{`FILE:4:18: other_lines.0.categories.0: must be one of "suicidal_ideation" | "suicide_plan"`}},
		{"line without contact", SafetyFile, "other_lines:\n  - name: X\n    categories: [self_harm]\n",
			[]string{"FILE:2:5: other_lines.0.contact: must not be empty (not set in the file)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path, err := loadCase(t, tc.file, tc.content)
			if err == nil {
				t.Fatalf("no error for\n%s", tc.content)
			}
			for _, w := range tc.want {
				w = strings.ReplaceAll(w, "FILE", path)
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain\n%s", err, w)
				}
			}
		})
	}
}

func TestLoadValidFiles(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		content string
		check   func(t *testing.T, path string)
	}{
		{"another country's resources", SafetyFile, "region: the UK\nemergency_number: 999\ncrisis_line:\n  name: Samaritans\n  call: \"116 123\"\n  text: \"\"\n  chat: \"\"\nother_lines: []\n", func(t *testing.T, path string) {
			got, err := LoadSafety(path)
			if err != nil || got.EmergencyNumber != "999" || got.CrisisLine.Call != "116 123" || got.CrisisLine.Chat != "" ||
				len(got.OtherLines) != 0 || got.Elsewhere != DefaultSafety().Elsewhere {
				t.Errorf("got %+v, %v", got, err)
			}
		}},
		{"an empty mapping keeps defaults", DPOFile, "# nothing to change\n{}\n", func(t *testing.T, path string) {
			if got, err := LoadDPO(path); err != nil || !reflect.DeepEqual(got, DefaultDPO()) {
				t.Errorf("got %+v, %v", got, err)
			}
		}},
		{"partial file keeps other defaults", TrainingFile, "learning_rate: 1e-4\nlr_scheduler_type: linear\n", func(t *testing.T, path string) {
			got, err := LoadTraining(path)
			want := DefaultTraining()
			want.LearningRate, want.LRSchedulerType = 1e-4, ScheduleLinear
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, %v", got, err)
			}
		}},
		{"nested partial mapping", ModelFile, "attention:\n  sliding_window: 128\n", func(t *testing.T, path string) {
			got, err := LoadModel(path)
			if err != nil || got.Attention.SlidingWindow != 128 || got.Attention.Implementation != AttentionFused {
				t.Errorf("got %+v, %v", got, err)
			}
		}},
		{"list replaces default list", LoRAFile, "target_modules: [q_proj, v_proj]\nuse_rslora: true\nr: 16\nlora_alpha: 32\n", func(t *testing.T, path string) {
			got, err := LoadLoRA(path)
			if err != nil || !reflect.DeepEqual(got.TargetModules, []string{"q_proj", "v_proj"}) || got.Scale() != 8 {
				t.Errorf("got %+v (scale %v), %v", got, got.Scale(), err)
			}
		}},
		{"phases by size", CurriculumFile, "target_dataset_size: 0\nphases:\n  - {name: only, mix: {counselchat: 50, annomi: 50}, learning_rate: 1e-4, size: 300, epochs: 2, annomi_quality: all}\n",
			func(t *testing.T, path string) {
				got, err := LoadCurriculum(path)
				if err != nil || len(got.Phases) != 1 || got.PhaseSize(0, 5000) != 300 || got.Phases[0].AnnoMIQuality != QualityAll {
					t.Errorf("got %+v, %v", got, err)
				}
			}},
		{"anchors and aliases", CurriculumFile, "phases:\n  - &p {name: a, mix: {counselchat: 50, annomi: 50}, learning_rate: 1e-4, share: 0.5, epochs: 1}\n  - {name: b, mix: {counselchat: 0, annomi: 100}, learning_rate: 1e-5, share: 0.5, epochs: 1}\n",
			func(t *testing.T, path string) {
				if _, err := LoadCurriculum(path); err != nil {
					t.Error(err)
				}
			}},
		{"empty optional strings", DataFile, "annomi:\n  full_path:\n", func(t *testing.T, path string) {
			got, err := LoadData(path)
			if err != nil || got.AnnoMI.FullPath != "" {
				t.Errorf("got %+v, %v", got, err)
			}
		}},
		{"ipo without smoothing", DPOFile, "loss_type: ipo\nbeta: 0.5\n", func(t *testing.T, path string) {
			if got, err := LoadDPO(path); err != nil || got.LossType != LossIPO {
				t.Errorf("got %+v, %v", got, err)
			}
		}},
		{"xla backend", ModelFile, "backend: xla:/opt/pjrt/pjrt_c_api_cuda_plugin.so\ndtype: float32\n", func(t *testing.T, path string) {
			if got, err := LoadModel(path); err != nil || got.Backend != "xla:/opt/pjrt/pjrt_c_api_cuda_plugin.so" {
				t.Errorf("got %+v, %v", got, err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.file)
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			tc.check(t, path)
		})
	}
}

// Errors carry their position as fields, not only in the text.
func TestErrorFields(t *testing.T) {
	path, err := loadCase(t, LoRAFile, "r: 8\n\nlora_dropout: 2\n")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *Error", err)
	}
	if e.File != path || e.Line != 3 || e.Column != 1 || e.Key != "lora_dropout" {
		t.Errorf("got %+v", e)
	}
	if _, err := LoadLoRA(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := LoadLoRA(t.TempDir()); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadDir(t *testing.T) {
	t.Run("missing files keep defaults", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{LoRAFile: "r: 8\nlora_alpha: 16\n", "notes.yaml": "anything: goes\n"})
		a, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if a.LoRA.R != 8 || !reflect.DeepEqual(a.Training, DefaultTraining()) {
			t.Errorf("got %+v", a.LoRA)
		}
		if a.BaseDir != filepath.Dir(dir) {
			t.Errorf("BaseDir %q, want %q", a.BaseDir, filepath.Dir(dir))
		}
		if got := a.Path("datasets/x.csv"); got != filepath.Join(filepath.Dir(dir), "datasets/x.csv") {
			t.Errorf("Path = %q", got)
		}
		if got := a.Path("/abs/x.csv"); got != "/abs/x.csv" {
			t.Errorf("Path(abs) = %q", got)
		}
	})
	t.Run("missing files are noted", func(t *testing.T) {
		// A configs directory without training_config.yaml runs on the
		// training defaults, and says so.
		dir := writeFiles(t, map[string]string{LoRAFile: "r: 8\n", ModelFile: "dtype: float32\n", CurriculumFile: "{}\n",
			DPOFile: "beta: 0.2\n", DataFile: "seed: 1\n", SafetyFile: "{}\n"})
		a, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{dir + " has no " + TrainingFile + ": the training section is the built-in defaults"}
		if !slices.Equal(a.Notes(), want) {
			t.Errorf("notes %q, want %q", a.Notes(), want)
		}
		if shipped, err := Load(shippedDir); err != nil || len(shipped.Notes()) != 0 {
			t.Errorf("the shipped directory: notes %q, %v", shipped.Notes(), err)
		}
	})
	t.Run("a directory without configuration files", func(t *testing.T) {
		for _, files := range []map[string]string{{}, {"notes.yaml": "anything: goes\n", "README": "x"}} {
			dir := writeFiles(t, files)
			if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), dir+": a configs directory without any configuration file") {
				t.Errorf("files %v: err = %v", files, err)
			}
		}
	})
	t.Run("an empty section file", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{LoRAFile: "r: 8\n", TrainingFile: ""})
		if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, TrainingFile)+": the file is empty") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("misspelt file name", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{"traning_config.yaml": "learning_rate: 1e-4\n"})
		_, err := Load(dir)
		if err == nil || !strings.Contains(err.Error(), `traning_config.yaml: not a configuration file name; did you mean "training_config.yaml"?`) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("errors from several files", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{LoRAFile: "r: x\n", DPOFile: "bta: 1\n"})
		_, err := Load(dir)
		for _, w := range []string{LoRAFile + ":1:4: r: expected an integer", DPOFile + ":1:1: bta: unknown key"} {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("error %v does not contain %q", err, w)
			}
		}
	})
	t.Run("cross-file rules", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{
			ModelFile: "max_seq_length: 512\n",
			DataFile:  "seed: 1\ndebug:\n  max_seq_length: 1024\n",
		})
		_, err := Load(dir)
		for _, w := range []string{
			filepath.Join(dir, DataFile) + ":3:3: debug.max_seq_length: must be ≤ model max_seq_length (512), got 1024",
			"dpo.max_length: must be ≤ model max_seq_length (512), got 1024",
		} {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("error\n%v\ndoes not contain\n%s", err, w)
			}
		}
	})
	t.Run("not a directory", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{LoRAFile: "r: 8\n"})
		if _, err := Load(filepath.Join(dir, LoRAFile)); err == nil {
			t.Error("no error")
		}
	})
}

func TestLoadPath(t *testing.T) {
	dir := writeFiles(t, map[string]string{DPOFile: "beta: 0.2\n", LoRAFile: "r: 4\n"})
	a, err := LoadPath(filepath.Join(dir, DPOFile))
	if err != nil {
		t.Fatal(err)
	}
	if a.DPO.Beta != 0.2 || a.LoRA.R != DefaultLoRA().R {
		t.Errorf("single file: dpo %+v lora %+v", a.DPO, a.LoRA)
	}
	if notes := a.Notes(); len(notes) != 1 || !strings.Contains(notes[0], "only "+filepath.Join(dir, DPOFile)+" was given: the other sections (model, training, lora, curriculum, data, safety) are the built-in defaults") {
		t.Errorf("single file: notes %q", notes)
	}
	if notes := BuiltIn("no configs directory").Notes(); len(notes) != 1 || notes[0] != "no configs directory: every setting is a built-in default" {
		t.Errorf("BuiltIn: notes %q", notes)
	}
	if len(Default().Notes()) != 0 {
		t.Error("Default has notes")
	}
	if a, err = LoadPath(dir); err != nil || a.LoRA.R != 4 || a.DPO.Beta != 0.2 {
		t.Errorf("directory: %v", err)
	}
	if _, err := LoadPath(filepath.Join(dir, "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing path: %v", err)
	}
}

func TestWriteYAMLRoundTrip(t *testing.T) {
	a, err := Load(shippedDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Apply("training.learning_rate=3e-5", "lora.target_modules=q_proj,o_proj", "curriculum.phases.2.epochs=2", "data.annomi.quality_filter=all", "dpo.loss_type=hinge"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.WriteYAML(path); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), "# ") {
		t.Errorf("no header comment:\n%s", data)
	}
	for _, from := range []func() (*All, error){
		func() (*All, error) { return LoadResolved(path) },
		func() (*All, error) { return LoadPath(path) },
	} {
		b, err := from()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(stripped(a), stripped(b)) {
			t.Errorf("round trip differs:\n%+v\n%+v", stripped(a), stripped(b))
		}
	}
}

// stripped drops the bookkeeping that is not part of the configuration.
func stripped(a *All) All {
	c := *a
	c.sources, c.overrides = nil, nil
	return c
}

func TestResolvedErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	content := "# run\ntraining:\n  learning_rate: 0\nlora:\n  rank: 8\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadResolved(path)
	if err == nil || !strings.Contains(err.Error(), path+`:5:3: lora.rank: unknown key`) {
		t.Errorf("got %v", err)
	}
	content = "training:\n  learning_rate: 0\n"
	os.WriteFile(path, []byte(content), 0o644)
	_, err = LoadResolved(path)
	if err == nil || !strings.Contains(err.Error(), path+":2:3: training.learning_rate: must be in (0, 1], got 0") {
		t.Errorf("got %v", err)
	}
	os.WriteFile(path, []byte("trainig: {}\n"), 0o644)
	if _, err = LoadResolved(path); err == nil || !strings.Contains(err.Error(), `did you mean "training"?`) {
		t.Errorf("got %v", err)
	}
}
