package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to every loader: it must never panic, and
// every error from a file must name that file.
func FuzzLoad(f *testing.F) {
	for _, s := range sections {
		if data, err := os.ReadFile(filepath.Join(shippedDir, s.file)); err == nil {
			f.Add(data)
		}
	}
	if data, err := Default().YAML(); err == nil {
		f.Add(data)
	}
	for _, seed := range []string{
		"", "~", "- a\n- b\n", "r: [1, 2\n", "a: &x [*x]\n", "r: 8\n---\nr: 9\n",
		"phases:\n  - {name: a, mix: {counselchat: 50, annomi: 50}, learning_rate: .nan, share: .inf, epochs: -1}\n",
		"training: {learning_rate: 1e400}\nlora: {r: 99999999999999999999}\n",
		"x: &a [1,2]\ny: &b [*a,*a]\nz: [*b,*b,*b]\n", "? [a]\n: b\n", "\t", "{{{{", "!!binary abc",
	} {
		f.Add([]byte(seed))
	}
	const file = "fuzz.yaml"
	f.Fuzz(func(t *testing.T, data []byte) {
		var errs []error
		_, err := loadBytes(file, data, DefaultModel(), Model.check)
		errs = append(errs, err)
		_, err = loadBytes(file, data, DefaultTraining(), Training.check)
		errs = append(errs, err)
		_, err = loadBytes(file, data, DefaultLoRA(), LoRA.check)
		errs = append(errs, err)
		c, err := loadBytes(file, data, DefaultCurriculum(), Curriculum.check)
		errs = append(errs, err)
		if err == nil {
			for i := range c.Phases {
				_ = c.PhaseSize(i, c.TargetDatasetSize)
			}
		}
		_, err = loadBytes(file, data, DefaultDPO(), DPO.check)
		errs = append(errs, err)
		_, err = loadBytes(file, data, DefaultData(), Data.check)
		errs = append(errs, err)
		_, err = loadBytes(file, data, DefaultSafety(), Safety.check)
		errs = append(errs, err)
		a, err := parseResolved(file, data)
		errs = append(errs, err)
		if err == nil {
			// A valid configuration survives a write and a reload.
			out, err := a.YAML()
			if err != nil {
				t.Fatalf("valid configuration does not encode: %v", err)
			}
			if _, err := parseResolved(file, out); err != nil {
				t.Fatalf("encoded configuration does not reload: %v\n%s", err, out)
			}
		}
		for _, err := range errs {
			var list Errors
			if err != nil && errors.As(err, &list) {
				for _, e := range list {
					if e.File != file {
						t.Fatalf("error without the file name: %v", e)
					}
				}
			}
		}
		_ = Default().Set("curriculum.phases", string(data))
		_ = Default().Set("training.learning_rate", string(data))
	})
}
