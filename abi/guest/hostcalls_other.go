//go:build !wasip1

package guest

import (
	"unsafe"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// Outside wasm there is no host: every call fails as invalid, which the
// driver turns into ErrNotInHost before it gets here.

func notInHost() uint64 { return abi.Pack(abi.StatusInvalid, 0) }

func hostExec(unsafe.Pointer, uint32, unsafe.Pointer, uint32, unsafe.Pointer, uint32) uint64 {
	return notInHost()
}

func hostQuery(unsafe.Pointer, uint32, unsafe.Pointer, uint32, unsafe.Pointer, uint32) uint64 {
	return notInHost()
}

func hostFetch(unsafe.Pointer, uint32) int32     { return -1 }
func hostBegin(unsafe.Pointer, uint32) uint64    { return notInHost() }
func hostCommit(unsafe.Pointer, uint32) uint64   { return notInHost() }
func hostRollback(unsafe.Pointer, uint32) uint64 { return notInHost() }
func hostLog(int32, unsafe.Pointer, uint32)      {}
func hostTickReport(int64, int64)                {}
func hostTickError(unsafe.Pointer, uint32)       {}

const inHost = false
