//go:build linux && (amd64 || arm64)

package host

import (
	"context"
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// withLinearMemory makes the instances started with ctx keep their linear
// memory in an anonymous mapping of their own instead of the Go heap.
//
// The mapping is the size of the memory limit, made once and never moved:
// growth costs no copy, and pages cost resident memory only once the guest
// touches them. Closing the instance unmaps it, so its pages go back to the
// OS at once. On the Go heap (WithMemoryCapacityFromMax) every instance
// instead counted its whole limit as live heap, doubling the GC's goal, and
// an instance started on recycled heap had its whole limit zeroed, and so
// made resident, by the Go runtime: ~10 ms and up to 64 MiB of RSS per
// instance at the default limit (BENCHMARKS.md).
//
// Memory is unmapped when wazero closes the instance, which the host does
// only once no call into it is running (Runner serializes ticks and Close;
// a Plugin is closed after its Runners).
func withLinearMemory(ctx context.Context) context.Context {
	return experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(allocateLinearMemory))
}

func allocateLinearMemory(capacity, max uint64) experimental.LinearMemory {
	if max > 0 && max <= maxMemoryBytes {
		b, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_READ|syscall.PROT_WRITE,
			syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|syscall.MAP_NORESERVE)
		if err == nil {
			// Transparent huge pages where the kernel allows them: a new
			// instance's first touches of its memory (data segments, the Go
			// runtime's heap) then fault 2 MiB at a time instead of 4 KiB,
			// which is most of what a fresh mapping costs. Best effort.
			_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE)
			return &mappedMemory{buf: b}
		}
	}
	return &heapMemory{buf: make([]byte, 0, capacity)}
}

// mappedMemory is a linear memory in its own mapping of max bytes.
type mappedMemory struct{ buf []byte }

func (m *mappedMemory) Reallocate(size uint64) []byte {
	if m.buf == nil || size > uint64(len(m.buf)) {
		return nil // over the limit: memory.grow fails
	}
	return m.buf[:size:size]
}

func (m *mappedMemory) Free() {
	if m.buf != nil {
		_ = syscall.Munmap(m.buf)
		m.buf = nil
	}
}

// heapMemory is the fallback when a mapping cannot be made: a Go slice
// that grows by copying, as wazero does without an allocator.
type heapMemory struct{ buf []byte }

func (m *heapMemory) Reallocate(size uint64) []byte {
	if size > uint64(cap(m.buf)) {
		nb := make([]byte, size)
		copy(nb, m.buf)
		m.buf = nb
	}
	m.buf = m.buf[:size]
	return m.buf
}

func (m *heapMemory) Free() { m.buf = nil }
