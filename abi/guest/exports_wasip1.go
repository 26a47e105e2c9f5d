//go:build wasip1 && !ffextism

package guest

import (
	"runtime"
	"unsafe"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

//lint:ignore U1000 the host calls it: go:wasmexport, which staticcheck does not see
//go:wasmexport describe
func describe() uint64 {
	b := registered.desc
	return abi.PackPtr(uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))), uint32(len(b)))
}

//lint:ignore U1000 the host calls it: go:wasmexport, which staticcheck does not see
//go:wasmexport scan_tick
func scanTick(nowMS int64) int32 {
	rep, err := runTick(nowMS)
	// A wasm reactor runs other goroutines only while an export blocks.
	// database/sql leaves one goroutine per transaction that exits once it
	// runs; yield so they do, or they pile up until memory runs out.
	runtime.Gosched()
	hostTickReport(rep.Processed, rep.Errors)
	if rep.More {
		hostTickMore()
	}
	if err != nil {
		msg := err.Error()
		hostTickError(stringPtr(msg), uint32(len(msg)))
		return 1
	}
	return 0
}
