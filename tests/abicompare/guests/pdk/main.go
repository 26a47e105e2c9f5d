//go:build wasip1

// Command pdk is variant (c) of the ABI comparison: an Extism plugin that
// runs N single-row UPDATEs through one Extism host function, the way
// go-pdk's API leads a plugin author to write it: one Extism memory block
// per argument (the SQL text, the id) and one per result, each copied
// between guest and kernel memory by go-pdk 8 bytes per host call.
//
// Built with the standard toolchain: GOOS=wasip1 GOARCH=wasm go build
// -buildmode=c-shared; the export is //go:wasmexport, not TinyGo's //export.
package main

import (
	"strconv"

	"github.com/extism/go-pdk"
)

// exec(sql, id) -> result: offsets of Extism memory blocks. The result
// block holds rows affected in decimal.
//
//go:wasmimport extism:host/user exec
func hostExec(sql, id uint64) uint64

const stmt = "UPDATE bench_rows SET v = v + 1 WHERE id = ?"

// rows is the number of rows in bench_rows; ids cycle through them.
const rows = 1000

//go:wasmexport run
func run() int32 {
	n, err := strconv.Atoi(pdk.InputString())
	if err != nil {
		pdk.SetError(err)
		return 1
	}
	for i := 0; i < n; i++ {
		q := pdk.AllocateString(stmt)
		a := pdk.AllocateString(strconv.Itoa(i%rows + 1))
		r := pdk.FindMemory(hostExec(q.Offset(), a.Offset()))
		out := r.ReadBytes()
		q.Free()
		a.Free()
		r.Free()
		if string(out) != "1" {
			pdk.SetErrorString("update " + strconv.Itoa(i) + ": " + string(out))
			return 1
		}
	}
	pdk.OutputString(strconv.Itoa(n))
	return 0
}

func main() {}
