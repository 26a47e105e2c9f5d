// Command memory_bomb is an adversarial fixture without the SDK: scan_tick allocates and keeps 1 MiB blocks until the instance dies.
package main

import "unsafe"

const desc = `{"name":"memory_bomb","abi_version":"1.0","version":"0.0.1","default_interval_ms":0,"reads":[],"writes":[],"description":"allocates until it dies"}`

var hoard [][]byte

//go:wasmexport describe
func describe() uint64 {
	return uint64(uintptr(unsafe.Pointer(unsafe.StringData(desc))))<<32 | uint64(len(desc))
}

//go:wasmexport scan_tick
func scanTick(int64) int32 {
	for {
		b := make([]byte, 1<<20)
		b[len(b)-1] = 1
		hoard = append(hoard, b)
	}
}

func main() {}
