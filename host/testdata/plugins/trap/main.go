// Command trap is an adversarial fixture without the SDK: scan_tick panics unrecovered (the instance dies), except at now_ms 0 when it reports how many ticks this instance has run.
package main

import "unsafe"

const desc = `{"name":"trap","abi_version":"1.0","version":"0.0.1","default_interval_ms":0,"reads":[],"writes":[],"description":"panics unrecovered"}`

var calls int64

//go:wasmimport ffhost tick_report
func tickReport(processed, errors int64)

//go:wasmexport describe
func describe() uint64 {
	return uint64(uintptr(unsafe.Pointer(unsafe.StringData(desc))))<<32 | uint64(len(desc))
}

//go:wasmexport scan_tick
func scanTick(now int64) int32 {
	calls++
	if now != 0 {
		panic("trap fixture: deliberate panic")
	}
	tickReport(calls, 0)
	return 0
}

func main() {}
