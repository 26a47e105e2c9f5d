//go:build !wasip1

package guest

import (
	"unsafe"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// Outside wasm there is no host: every call fails as invalid, which the
// SDK turns into ErrNotInHost before it gets here. The calls are variables
// so that the package's own tests can stand in for the host.

func notInHost() uint64 { return abi.Pack(abi.StatusInvalid, 0) }

var (
	hostExec = func(unsafe.Pointer, uint32, unsafe.Pointer, uint32, unsafe.Pointer, uint32) uint64 {
		return notInHost()
	}
	hostQuery = func(unsafe.Pointer, uint32, unsafe.Pointer, uint32, unsafe.Pointer, uint32) uint64 {
		return notInHost()
	}
	hostFetch     = func(unsafe.Pointer, uint32) int32 { return -1 }
	hostBegin     = func(unsafe.Pointer, uint32) uint64 { return notInHost() }
	hostCommit    = func(unsafe.Pointer, uint32) uint64 { return notInHost() }
	hostRollback  = func(unsafe.Pointer, uint32) uint64 { return notInHost() }
	hostLog       = func(int32, unsafe.Pointer, uint32) {}
	hostConfigGet = func(unsafe.Pointer, uint32, unsafe.Pointer, uint32) uint64 { return notInHost() }

	hostTickPartition = func() int32 { return -1 }
	hostSQLDialect    = func() int32 { return -1 }
)

// inHost is false outside wasm; tests that stand in for the host set it.
var inHost = false
