// Command bad_describe_json is a fixture without the SDK whose describe returns JSON cut off in the middle.
package main

import "unsafe"

const desc = `{"name":"bad_describe_json","abi_version":"1.0","reads":[`

//go:wasmexport describe
func describe() uint64 {
	return uint64(uintptr(unsafe.Pointer(unsafe.StringData(desc))))<<32 | uint64(len(desc))
}

//go:wasmexport scan_tick
func scanTick(int64) int32 { return 0 }

func main() {}
