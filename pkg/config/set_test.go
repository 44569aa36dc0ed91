package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestSet(t *testing.T) {
	tests := []struct {
		key, value string
		check      func(a *All) bool
	}{
		{"training.learning_rate", "1e-4", func(a *All) bool { return a.Training.LearningRate == 1e-4 }},
		{"training.max_steps", "20", func(a *All) bool { return a.Training.MaxSteps == 20 }},
		{"training.bf16", "false", func(a *All) bool { return !a.Training.BF16 }},
		{"training.seed", "-7", func(a *All) bool { return a.Training.Seed == -7 }},
		{"model.model_name_or_path", "/models/gemma 3n: local", func(a *All) bool { return a.Model.NameOrPath == "/models/gemma 3n: local" }},
		{"model.backend", "xla:/opt/pjrt/cuda.so", func(a *All) bool { return a.Model.Backend == "xla:/opt/pjrt/cuda.so" }},
		{"model.backend", "", func(a *All) bool { return a.Model.Backend == "" }},
		{"lora.target_modules", "q_proj, v_proj", func(a *All) bool { return reflect.DeepEqual(a.LoRA.TargetModules, []string{"q_proj", "v_proj"}) }},
		{"lora.target_modules", "[o_proj]", func(a *All) bool { return reflect.DeepEqual(a.LoRA.TargetModules, []string{"o_proj"}) }},
		{"curriculum.phases.4.epochs", "3", func(a *All) bool { return a.Curriculum.Phases[4].Epochs == 3 }},
		{"curriculum.phases.1.mix", "{counselchat: 70, annomi: 30}", func(a *All) bool { return a.Curriculum.Phases[1].Mix == Mix{70, 30} }},
		{"curriculum.phases.1.mix", "{annomi: 20}", func(a *All) bool { return a.Curriculum.Phases[1].Mix == Mix{80, 20} }},
		{"curriculum.phases", "[{name: one, mix: {counselchat: 50, annomi: 50}, learning_rate: 1e-4, share: 1, epochs: 1}]",
			func(a *All) bool { return len(a.Curriculum.Phases) == 1 && a.Curriculum.Phases[0].Name == "one" }},
		{"model.attention", "{implementation: fused}", func(a *All) bool {
			return a.Model.Attention == Attention{Implementation: AttentionFused}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			a := Default()
			if err := a.Set(tc.key, tc.value); err != nil {
				t.Fatal(err)
			}
			if !tc.check(a) {
				t.Errorf("value not applied")
			}
			if err := a.Validate(); err != nil {
				t.Errorf("valid override does not validate: %v", err)
			}
		})
	}
}

func TestSetErrors(t *testing.T) {
	tests := []struct {
		key, value, want string
	}{
		{"training.lerning_rate", "1e-4", `unknown key "training.lerning_rate" (did you mean "training.learning_rate"?)`},
		{"trainig.learning_rate", "1e-4", `unknown key "trainig" (did you mean "training"?)`},
		{"", "1", "empty key"},
		{"training.learning_rate", "fast", `override training.learning_rate=fast: training.learning_rate: expected a number, got "fast"`},
		{"training.max_steps", "2.5", `expected an integer, got "2.5"`},
		{"training.bf16", "yes please", "expected true or false"},
		{"training.max_steps", "", "empty value"},
		{"curriculum.phases.9.epochs", "1", `curriculum.phases has 5 entries; "9" is not an index of one`},
		{"curriculum.phases.x", "1", `"x" is not an index`},
		{"training.seed.x", "1", "training.seed is a single value, it has no key \"x\""},
		{"curriculum.phases.0.mix", "{counselchat: 50, anomi: 50}", `curriculum.phases.0.mix.anomi: unknown key (did you mean "annomi"?)`},
		{"lora.target_modules", "[q_proj", "invalid YAML"},
	}
	for _, tc := range tests {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			a := Default()
			before := stripped(a)
			err := a.Set(tc.key, tc.value)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v does not contain %q", err, tc.want)
			}
			if !reflect.DeepEqual(before, stripped(a)) {
				t.Error("a failed Set changed the configuration")
			}
		})
	}
}

// Validation errors of overridden values name the override, not a file line.
func TestApplyValidatesAndNamesOverride(t *testing.T) {
	a, err := Load(shippedDir)
	if err != nil {
		t.Fatal(err)
	}
	err = a.Apply("lora.r=0", "curriculum.phases.2.mix={counselchat: 50, annomi: 40}")
	for _, w := range []string{
		"lora.r: must be > 0, got 0 (set by override lora.r=0)",
		"curriculum.phases.2.mix: counselchat + annomi must be 100, got 50 + 40 = 90 (set by override curriculum.phases.2.mix=",
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error\n%v\ndoes not contain\n%s", err, w)
		}
	}
	if err := Default().Apply("training.learning_rate"); err == nil || !strings.Contains(err.Error(), "want key=value") {
		t.Errorf("got %v", err)
	}
}

// Code-built configurations report keys with their section.
func TestValidateWithoutFiles(t *testing.T) {
	a := Default()
	a.Training.EvalSteps = 0
	if err := a.Validate(); err == nil || err.Error() != "training.eval_steps: must be > 0, got 0" {
		t.Errorf("got %v", err)
	}
	l := DefaultLoRA()
	l.R = -1
	if err := l.Validate(); err == nil || err.Error() != "r: must be > 0, got -1" {
		t.Errorf("got %v", err)
	}
	for _, err := range []error{DefaultModel().Validate(), DefaultTraining().Validate(), DefaultLoRA().Validate(),
		DefaultCurriculum().Validate(), DefaultDPO().Validate(), DefaultData().Validate()} {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestKeysAreSettable(t *testing.T) {
	a := Default()
	keys := a.Keys()
	if len(keys) < 60 {
		t.Fatalf("only %d keys", len(keys))
	}
	for _, k := range keys {
		if _, err := a.lookupField(k); err != nil {
			t.Errorf("Keys lists %q but Set rejects it: %v", k, err)
		}
	}
}
