// Command missing_scan_tick is a fixture without the SDK that exports describe but no scan_tick.
package main

import "unsafe"

const desc = `{"name":"missing_scan_tick","abi_version":"1.0","version":"0.0.1","default_interval_ms":0,"reads":[],"writes":[],"description":"no scan_tick"}`

//go:wasmexport describe
func describe() uint64 {
	return uint64(uintptr(unsafe.Pointer(unsafe.StringData(desc))))<<32 | uint64(len(desc))
}

func main() {}
