package sft

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
)

// TestResumeChecksWhatTheRunTrainsFrom: a resume whose model architecture,
// initial adapter or data differs from what run.json recorded when the run
// started is an error naming each differing key, and leaves every file of
// the run as it was, config.yaml included.
func TestResumeChecksWhatTheRunTrainsFrom(t *testing.T) {
	model, adapter := filepath.Join(t.TempDir(), "model"), filepath.Join(t.TempDir(), "adapter")
	for dst, src := range map[string]string{model: testutil.TinyModel(), adapter: testutil.TinyAdapter()} {
		if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	options := func() Options {
		o := tinyOptions(t, out, "training.max_steps=1")
		o.Model, o.InitAdapter = model, adapter
		o.Conversations = withSplit(annomiTrain(t, 2), data.SplitTrain)
		return o
	}
	if _, err := Run(context.Background(), options()); err != nil {
		t.Fatal(err)
	}
	before := testutil.DirFiles(t, out)
	modelConfig := filepath.Join(model, "config.json")
	original, err := os.ReadFile(modelConfig)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		edit func(*Options) // the resumed run's options; it may change the model directory
		want []string
	}{
		{"model architecture", func(*Options) {
			changed := strings.Replace(string(original), `"rms_norm_eps": 1e-06`, `"rms_norm_eps": 1e-05`, 1)
			if changed == string(original) {
				t.Fatalf("%s has no rms_norm_eps 1e-06 to change", modelConfig)
			}
			if err := os.WriteFile(modelConfig, []byte(changed), 0o644); err != nil {
				t.Fatal(err)
			}
		}, []string{"1 key(s)", "model_architecture_sha256: "}},
		{"no initial adapter", func(o *Options) { o.InitAdapter = "" }, []string{"1 key(s)", "init_adapter_sha256: ", " → (none)"}},
		{"data and full training", func(o *Options) {
			o.Conversations = withSplit(annomiTrain(t, 3), data.SplitTrain)
			o.Full, o.InitAdapter = true, ""
		}, []string{"5 key(s)", "full: false → true", "data.sources.0.conversations: 2 → 3", "data.sources.0.skipped_too_long: 0 → 1", "init_adapter_sha256"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer os.WriteFile(modelConfig, original, 0o644)
			o := options()
			o.Resume = true
			tc.edit(&o)
			_, err := Run(context.Background(), o)
			for _, want := range append(tc.want, "cannot resume "+out, "differs from the run's "+filepath.Join(out, "run.json")) {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("the error lacks %q: %v", want, err)
				}
			}
			for path, content := range testutil.DirFiles(t, out) {
				if before[path] != content {
					t.Errorf("%s changed", path)
				}
			}
		})
	}

	// With what it started from, the run resumes.
	o := options()
	o.Resume, o.Overrides = true, append(o.Overrides, "training.max_steps=2")
	if res, err := Run(context.Background(), o); err != nil || res.Summary.Steps != 2 {
		t.Fatalf("resume: %v", err)
	}
}
