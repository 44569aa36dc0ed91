package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// benchJSON runs a bench command with --json and decodes its report.
func benchJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	out, err := runCmd(t, append(args, "--json")...)
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
	var report map[string]any
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("%v: output is not one JSON object: %v\n%s", args, err, out)
	}
	return report
}

// number reads a numeric field, failing the test when it is missing.
func number(t *testing.T, report map[string]any, path ...string) float64 {
	t.Helper()
	var v any = report
	for _, key := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("field %v: %v is not an object", path, v)
		}
		v = m[key]
	}
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("field %v = %v (%T), want a number", path, v, v)
	}
	return f
}

// The tiny preset with a 1024-id vocabulary keeps these runs well under a
// second on SimpleGo; the full 262k vocabulary costs minutes on two cores.
var tinyBenchSize = []string{"--preset", "tiny", "--vocab", "1024"}

func TestBenchTrainCommand(t *testing.T) {
	r := benchJSON(t, append([]string{"bench", "train", "--seq", "32", "--batch", "2", "--steps", "2", "--warmup", "1"}, tinyBenchSize...)...)
	if r["kind"] != "train" || r["backend"] != "go" || r["dtype"] != "bfloat16" {
		t.Errorf("header: kind %v, backend %v, dtype %v", r["kind"], r["backend"], r["dtype"])
	}
	for _, want := range []struct {
		path  []string
		value float64
	}{
		{[]string{"batch"}, 2}, {[]string{"seq"}, 32}, {[]string{"tokens_per_step"}, 64},
		{[]string{"steps"}, 2}, {[]string{"warmup_steps"}, 1}, {[]string{"step", "n"}, 2},
		{[]string{"lora", "r"}, 64}, {[]string{"lora", "alpha"}, 128}, {[]string{"lora_modules"}, 12},
		{[]string{"model", "layers"}, 4}, {[]string{"model", "vocab"}, 1024}, {[]string{"compilations"}, 2},
		{[]string{"params_trainable"}, 90112},
	} {
		if got := number(t, r, want.path...); got != want.value {
			t.Errorf("%v = %v, want %v", want.path, got, want.value)
		}
	}
	median := number(t, r, "step", "median_s")
	if tps := number(t, r, "tokens_per_s"); median <= 0 || tps <= 0 || tps*median < 63.99 || tps*median > 64.01 {
		t.Errorf("tokens/s %v with a median step of %v s", tps, median)
	}
	if f, tf := number(t, r, "flops_per_token"), number(t, r, "model_tflops_per_s"); f <= 0 || math.Abs(tf*1e12-f*number(t, r, "tokens_per_s")) > 1e-6*tf*1e12 {
		t.Errorf("flops_per_token %v and model_tflops_per_s %v disagree with tokens_per_s", f, tf)
	}
	if total, base, lora := number(t, r, "params_total"), number(t, r, "params_base"), number(t, r, "params_trainable"); total != base+lora {
		t.Errorf("params total %v ≠ base %v + trainable %v", total, base, lora)
	}
	for _, key := range []string{"first_step_s", "compile_s", "init_s"} {
		if number(t, r, key) < 0 {
			t.Errorf("%s negative", key)
		}
	}
	if known := r["memory"].(map[string]any)["device_known"]; known != false {
		t.Errorf("SimpleGo device memory known = %v", known)
	}
	if losses, ok := r["losses"].([]any); !ok || len(losses) != 3 {
		t.Errorf("losses %v, want 3 (warm-up included)", r["losses"])
	}
}

func TestBenchGenerateCommand(t *testing.T) {
	r := benchJSON(t, append([]string{"bench", "generate", "--prompt-len", "16", "--new-tokens", "4", "--dtype", "float32"}, tinyBenchSize...)...)
	if r["kind"] != "generate" || r["kv_cache"] != true || r["dtype"] != "float32" {
		t.Errorf("header: %v", r)
	}
	for path, want := range map[string]float64{"batch": 1, "prompt_len": 16, "new_tokens": 4, "runs": 1} {
		if got := number(t, r, path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	if number(t, r, "tokens_per_s") <= 0 || number(t, r, "decode_tokens_per_s") <= 0 || number(t, r, "prefill_s") <= 0 {
		t.Errorf("speeds: %v", r)
	}
}

func TestBenchParityCommand(t *testing.T) {
	r := benchJSON(t, "bench", "parity", "--fixture", tinyFixture)
	if r["kind"] != "parity" || r["ok"] != true {
		t.Fatalf("parity report: %v", r)
	}
	checks, _ := r["checks"].([]any)
	if len(checks) != 16 {
		t.Errorf("%d checks, want 16", len(checks))
	}
	if _, present := r["simplego_checks"]; present {
		t.Error("compared SimpleGo with itself")
	}
	out, err := runCmd(t, "bench", "parity", "--fixture", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "reference.safetensors") {
		t.Errorf("missing fixture: error %v\n%s", err, out)
	}
}

func TestBenchNumericsCommand(t *testing.T) {
	r := benchJSON(t, append([]string{"bench", "numerics", "--seq", "32", "--steps", "4"}, tinyBenchSize...)...)
	if r["kind"] != "numerics" || r["ok"] != true {
		t.Fatalf("numerics report: %v", r)
	}
	f32, bf16 := number(t, r, "float32", "final_loss"), number(t, r, "bfloat16", "final_loss")
	if rel := number(t, r, "rel_diff"); rel < 0 || rel > 0.02 || f32 <= 0 || bf16 <= 0 {
		t.Errorf("losses %v and %v, rel diff %v", f32, bf16, rel)
	}
	if steps := number(t, r, "steps"); steps != 4 {
		t.Errorf("steps %v, want 4", steps)
	}
	// A tolerance no run can meet makes the command fail after printing.
	out, err := runCmd(t, append([]string{"bench", "numerics", "--seq", "32", "--steps", "2", "--tolerance", "1e-12"}, tinyBenchSize...)...)
	if err == nil || !strings.Contains(err.Error(), "differ by") || !strings.Contains(out, "FAIL") {
		t.Errorf("tolerance 1e-12: error %v\n%s", err, out)
	}
}

func TestBenchCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "train", "--preset", "tiny", "--dtype", "float16"}, "dtype"},
		{[]string{"bench", "train", "--preset", "e4b"}, "unknown gemma3n preset"},
		{[]string{"bench", "train", "extra"}, "unexpected argument"},
		{[]string{"bench", "train", "--preset", "tiny", "--vocab", "1024", "--warmup", "0"}, "warmup 0"},
		{[]string{"bench", "generate", "--preset", "tiny", "--new-tokens", "1"}, "new tokens"},
		{[]string{"bench", "numerics", "--steps", "1"}, "--steps must be ≥ 2"},
		{[]string{"bench", "train", "--backend", "tpu"}, "unknown backend"},
		{[]string{"bench", "fly"}, "unknown subcommand"},
	} {
		out, err := runCmd(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want it to mention %q\n%s", tc.args, err, tc.want, out)
		}
	}
}
