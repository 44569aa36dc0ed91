//go:build goexperiment.simd

package backend

// SIMD reports whether this binary was built with GOEXPERIMENT=simd, which
// the pure-Go backend needs for its vectorised (AVX2/AVX-512) matrix
// kernels; without it the same products run about ten times slower.
const SIMD = true
