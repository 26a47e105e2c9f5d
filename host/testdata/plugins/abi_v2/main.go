// Command abi_v2 is a fixture without the SDK whose describe claims ABI 2.0, which a 1.x host must refuse.
package main

import "unsafe"

const desc = `{"name":"abi_v2","abi_version":"2.0","version":"0.0.1","default_interval_ms":1000,"reads":[],"writes":[],"description":"speaks a future ABI"}`

//go:wasmexport describe
func describe() uint64 {
	return uint64(uintptr(unsafe.Pointer(unsafe.StringData(desc))))<<32 | uint64(len(desc))
}

//go:wasmexport scan_tick
func scanTick(int64) int32 { return 0 }

func main() {}
