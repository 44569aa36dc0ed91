//go:build cgo && !noxla && linux && amd64

package backend

import _ "github.com/gomlx/go-xla/compute/xla" // XLA through a PJRT plugin (GPU)

func xlaCompiledIn() bool { return true }
