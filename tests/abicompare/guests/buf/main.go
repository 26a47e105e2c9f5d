//go:build wasip1

// Command buf is variant (d) of the ABI comparison: an Extism plugin that
// runs N single-row UPDATEs through one Extism host function with one
// Extism memory block reused for every call and a compact binary encoding
// (ffwasmhost's own wire encoding of the arguments, abi.AppendArgs). The
// SQL text is stored in the block once; each call rewrites only the
// arguments and reads back the 16-byte exec result. go-pdk still copies
// guest <-> kernel memory 8 bytes per host call: an Extism host function
// cannot see the guest's own memory.
package main

import (
	"encoding/binary"
	"strconv"

	"github.com/extism/go-pdk"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// exec(buf, sql_len, args_len) -> status<<32 | result_len. The block at
// buf holds the SQL at 0 and the arguments at argsAt; the host writes the
// result (or an error message) at resultAt.
//
//go:wasmimport extism:host/user exec_buf
func hostExecBuf(buf uint64, sqlLen, argsLen uint32) uint64

const stmt = "UPDATE bench_rows SET v = v + 1 WHERE id = ?"

const (
	rows     = 1000
	argsAt   = 64 // SQL fits before it; 8-aligned for go-pdk's 8-byte stores
	resultAt = 1024
	bufSize  = 4096
)

//go:wasmexport run
func run() int32 {
	n, err := strconv.Atoi(pdk.InputString())
	if err != nil {
		pdk.SetError(err)
		return 1
	}
	mem := pdk.Allocate(bufSize)
	defer mem.Free()
	blk := make([]byte, argsAt)
	copy(blk, stmt)
	mem.Store(blk) // the SQL once
	var args []byte
	var res [abi.ExecResultSize]byte
	for i := 0; i < n; i++ {
		args, _ = abi.AppendArgs(args[:0], []any{int64(i%rows + 1)})
		// Store the arguments at argsAt: go-pdk's Memory.Store writes from
		// the block's start, so address the block at an offset.
		at := pdk.NewMemory(mem.Offset()+argsAt, uint64(len(args)))
		at.Store(args)
		st, rn := abi.Unpack(hostExecBuf(mem.Offset(), uint32(len(stmt)), uint32(len(args))))
		result := pdk.NewMemory(mem.Offset()+resultAt, bufSize-resultAt)
		if st != abi.StatusOK || rn != abi.ExecResultSize {
			msg := make([]byte, min(rn, bufSize-resultAt))
			result.Load(msg)
			pdk.SetErrorString("update " + strconv.Itoa(i) + ": " + st.String() + ": " + string(msg))
			return 1
		}
		result.Load(res[:])
		if ra := binary.LittleEndian.Uint64(res[:]); ra != 1 {
			pdk.SetErrorString("update " + strconv.Itoa(i) + ": " + strconv.FormatUint(ra, 10) + " rows")
			return 1
		}
	}
	pdk.OutputString(strconv.Itoa(n))
	return 0
}

func main() {}
