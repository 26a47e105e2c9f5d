//go:build !(linux && (amd64 || arm64))

package host

import "context"

// withLinearMemory leaves linear memory to wazero (the Go heap, with
// WithMemoryCapacityFromMax) where memory_mmap.go does not build.
func withLinearMemory(ctx context.Context) context.Context { return ctx }
