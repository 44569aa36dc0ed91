//go:build !cgo || noxla || !linux || !amd64

package backend

func xlaCompiledIn() bool { return false }
