// Command dup_name is a fixture without the SDK whose describe declares the name "good", which the good fixture already has.
package main

import "unsafe"

const desc = `{"name":"good","abi_version":"1.0","version":"9.9.9","default_interval_ms":1000,"reads":[],"writes":[],"description":"an impostor"}`

//go:wasmexport describe
func describe() uint64 {
	return uint64(uintptr(unsafe.Pointer(unsafe.StringData(desc))))<<32 | uint64(len(desc))
}

//go:wasmexport scan_tick
func scanTick(int64) int32 { return 0 }

func main() {}
