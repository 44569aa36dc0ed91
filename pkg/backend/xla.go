//go:build cgo && !noxla && linux && amd64

package backend

import _ "github.com/gomlx/gomlx/backends/xla" // XLA through a PJRT plugin (GPU)

func xlaCompiledIn() bool { return true }
