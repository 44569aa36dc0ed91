// Package backend selects the GoMLX backend that runs the model: the pure-Go
// SimpleGo backend ("go") on any machine, or XLA through a PJRT plugin
// ("xla:/abs/path/to/plugin.so") on a GPU.
//
// GoMLX itself would try to download a PJRT plugin when none is configured;
// this package never does: it resolves the configuration from a flag or
// $GOMLX_BACKEND, defaults to "go", and checks that a named plugin exists
// before handing the configuration to GoMLX.
package backend

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend" // the pure-Go backend, always available
)

// EnvVar is the environment variable GoMLX reads for its backend configuration.
const EnvVar = compute.ConfigEnvVar

// Default is the configuration used when neither a flag nor $GOMLX_BACKEND names one.
const Default = "go"

// Resolve returns the backend configuration to use: flagValue if set, else
// $GOMLX_BACKEND, else Default.
func Resolve(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if env := os.Getenv(EnvVar); env != "" {
		return env
	}
	return Default
}

// New creates the backend named by config (see Resolve). An "xla:PATH" config
// must name an existing PJRT plugin file by absolute path; anything else is a
// clear error that says what to install.
func New(config string) (b compute.Backend, err error) {
	config = Resolve(config)
	name, arg, _ := strings.Cut(config, ":")
	switch name {
	case "go", "simplego":
		config = withSequentialOps("go", arg)
	case "xla", "stablehlo", "hlo":
		if !xlaCompiledIn() {
			return nil, fmt.Errorf("backend %q: this binary was built without XLA support (CGO_ENABLED=0 or -tags noxla); rebuild with CGO_ENABLED=1 to use a GPU", config)
		}
		if arg == "" {
			return nil, fmt.Errorf("backend %q: name the PJRT plugin by absolute path, e.g. xla:/opt/pjrt/xla_cuda_plugin.so (see README, GPU recipe); automatic downloads are disabled", config)
		}
		if strings.HasPrefix(arg, "/") {
			if _, statErr := os.Stat(arg); statErr != nil {
				return nil, fmt.Errorf("backend %q: PJRT plugin not found: %v (install a CUDA PJRT plugin, see README, GPU recipe)", config, statErr)
			}
		}
	default:
		return nil, fmt.Errorf("unknown backend %q: use \"go\" or \"xla:/abs/path/plugin.so\" (compiled in: %s)", config, strings.Join(compute.List(), ", "))
	}
	// GoMLX reports configuration problems by panicking; turn them into errors.
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("backend %q: %v", config, r)
		}
	}()
	// Never let GoMLX fetch plugins from the network behind the user's back.
	if os.Getenv("GOMLX_NO_AUTO_INSTALL") == "" {
		_ = os.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
	}
	b, err = compute.NewWithConfig(config)
	if err != nil {
		return nil, fmt.Errorf("backend %q: %w", config, err)
	}
	return b, nil
}

// withSequentialOps makes SimpleGo run ops one at a time unless the
// configuration chooses a scheduling mode itself: GoMLX v0.26.0's parallel op
// scheduler can deadlock on graphs with many independent matrix products
// (every Gemma 3n layer), and the products themselves still use every core.
func withSequentialOps(name, arg string) string {
	switch {
	case arg == "":
		return name + ":ops_sequential"
	case strings.Contains(arg, "ops_"):
		return name + ":" + arg
	default:
		return name + ":" + arg + ",ops_sequential"
	}
}

var (
	sharedOnce sync.Once
	shared     compute.Backend
	sharedErr  error
)

// Shared returns one process-wide backend created from $GOMLX_BACKEND (or
// Default). Tests and notebooks use it so that compiled graphs and device
// memory are not duplicated across calls.
func Shared() (compute.Backend, error) {
	sharedOnce.Do(func() { shared, sharedErr = New("") })
	return shared, sharedErr
}

// Build describes how this binary can compute: whether the pure-Go backend
// has its SIMD kernels, which backends are compiled in, the GoMLX module
// version, and the configuration a model command would use now.
type Build struct {
	SIMD     bool     `json:"simd"`
	Backends []string `json:"backends_compiled_in"`
	GoMLX    string   `json:"gomlx"`
	Selected string   `json:"backend"`
}

// BuildInfo returns the Build of this binary; flagValue is a --backend flag
// (or "") as for Resolve.
func BuildInfo(flagValue string) Build {
	b := Build{SIMD: SIMD, Backends: compute.List(), GoMLX: "unknown", Selected: Resolve(flagValue)}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/gomlx/gomlx" {
				b.GoMLX = dep.Version
			}
		}
	}
	return b
}
