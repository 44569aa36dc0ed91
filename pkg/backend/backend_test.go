package backend

import (
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
)

func TestResolve(t *testing.T) {
	t.Setenv(EnvVar, "")
	if got := Resolve(""); got != Default {
		t.Errorf("Resolve(\"\") = %q, want %q", got, Default)
	}
	t.Setenv(EnvVar, "xla:/x.so")
	if got := Resolve(""); got != "xla:/x.so" {
		t.Errorf("Resolve from env = %q", got)
	}
	if got := Resolve("go"); got != "go" {
		t.Errorf("flag must win over env, got %q", got)
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct{ config, want string }{
		{"tpu", "unknown backend"},
		{"xla:/definitely/not/here.so", "not found"},
	} {
		_, err := New(tc.config)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			if tc.config == "xla:/definitely/not/here.so" && !xlaCompiledIn() && err != nil {
				continue
			}
			t.Errorf("New(%q) error = %v, want it to mention %q", tc.config, err, tc.want)
		}
	}
}

func TestGoBackendRuns(t *testing.T) {
	b, err := New("go")
	if err != nil {
		t.Fatal(err)
	}
	got := graph.MustExecOnce(b, func(x *graph.Node) *graph.Node { return graph.MulScalar(x, 2) }, []float32{1, 2})
	if v := got.Value().([]float32); v[0] != 2 || v[1] != 4 {
		t.Errorf("got %v", v)
	}
}

func TestWithSequentialOps(t *testing.T) {
	for _, tc := range []struct{ name, arg, want string }{
		{"go", "", "go:ops_sequential"},
		{"simplego", "", "simplego:ops_sequential"},
		{"go", "ops_parallel", "go:ops_parallel"},
		{"go", "foo", "go:foo,ops_sequential"},
	} {
		if got := withSequentialOps(tc.name, tc.arg); got != tc.want {
			t.Errorf("withSequentialOps(%q, %q) = %q, want %q", tc.name, tc.arg, got, tc.want)
		}
	}
}

func TestWithNoAsyncPreemption(t *testing.T) {
	for _, c := range []struct {
		in, want string
		added    bool
	}{
		{"", "asyncpreemptoff=1", true},
		{"gctrace=1", "gctrace=1,asyncpreemptoff=1", true},
		{"asyncpreemptoff=0", "asyncpreemptoff=0", false},
		{"gctrace=1, asyncpreemptoff=1", "gctrace=1, asyncpreemptoff=1", false},
	} {
		got, added := WithNoAsyncPreemption(c.in)
		if got != c.want || added != c.added {
			t.Errorf("WithNoAsyncPreemption(%q) = %q, %t; want %q, %t", c.in, got, added, c.want, c.added)
		}
	}
}
