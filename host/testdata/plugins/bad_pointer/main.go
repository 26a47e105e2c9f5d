// Command bad_pointer is an adversarial fixture: it calls the ffhost functions directly with pointers and lengths outside its memory; its tick fails with "bad pointers refused" if the host answered each with an error, or "UNEXPECTED" otherwise.
package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/abi/guest"
)

//go:wasmimport ffhost sql_exec
func rawExec(sqlPtr, sqlLen, argsPtr, argsLen, outPtr, outCap uint32) uint64

//go:wasmimport ffhost sql_query
func rawQuery(sqlPtr, sqlLen, argsPtr, argsLen, outPtr, outCap uint32) uint64

//go:wasmimport ffhost fetch
func rawFetch(outPtr, outCap uint32) int32

//go:wasmimport ffhost tx_begin
func rawBegin(outPtr, outCap uint32) uint64

//go:wasmimport ffhost tx_commit
func rawCommit(outPtr, outCap uint32) uint64

//go:wasmimport ffhost tx_rollback
func rawRollback(outPtr, outCap uint32) uint64

//go:wasmimport ffhost log
func rawLog(level int32, msgPtr, msgLen uint32)

//go:wasmimport ffhost tick_error
func rawTickError(msgPtr, msgLen uint32)

const bad = 0xFFFFFFF0

func init() {
	guest.Register(guest.Plugin{Name: "bad_pointer", Version: "0.0.1", Tick: tick})
}

func addr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

func status(r uint64) string { s, _ := abi.Unpack(r); return s.String() }

func tick(context.Context, *guest.Conn, int64) (guest.Report, error) {
	out := make([]byte, 256)
	sel := []byte("SELECT 1")
	garbage := []byte{0xff, 0xff, 0xff, 0x7f, 1}
	o, s, g := addr(out), addr(sel), addr(garbage)
	n := uint32(len(sel))

	var got []string
	unexpected := false
	check := func(name, have string, want ...string) {
		got = append(got, name+"="+have)
		for _, w := range want {
			if have == w {
				return
			}
		}
		unexpected = true
		got[len(got)-1] += fmt.Sprintf(" (want %s)", strings.Join(want, " or "))
	}

	check("exec sql ptr", status(rawExec(bad, 16, 0, 0, o, 256)), "invalid")
	check("exec sql len", status(rawExec(s, bad, 0, 0, o, 256)), "invalid")
	check("exec sql wraps", status(rawExec(bad, 0x20, 0, 0, o, 256)), "invalid")
	check("exec args ptr", status(rawExec(s, n, bad, 16, o, 256)), "invalid")
	check("exec args garbage", status(rawExec(s, n, g, uint32(len(garbage)), o, 256)), "invalid")
	check("query out ptr", status(rawQuery(s, n, 0, 0, bad, 256)), "invalid")
	r := rawQuery(s, n, 0, 0, o, 0) // result kept for fetch
	check("query out cap 0", status(r), "ok")
	_, size := abi.Unpack(r)
	check("fetch bad ptr", fmt.Sprint(rawFetch(bad, size)), "-1")
	check("fetch none kept", fmt.Sprint(rawFetch(o, 256)), "-1")
	check("commit bad out", status(rawCommit(bad, 256)), "invalid")
	if st := status(rawBegin(bad, 256)); st == "ok" {
		check("begin bad out", st, "ok")
		check("rollback bad out", status(rawRollback(bad, 256)), "ok")
	} else {
		check("begin bad out", st, "invalid")
	}
	rawLog(0, bad, 64)
	rawLog(1<<30, o, 0xFFFFFFFF)
	rawTickError(bad, 64)
	check("host still answers", status(rawQuery(s, n, 0, 0, o, 256)), "ok")
	runtime.KeepAlive(out)
	runtime.KeepAlive(sel)
	runtime.KeepAlive(garbage)

	msg := "bad pointers refused: " + strings.Join(got, ", ")
	if unexpected {
		msg = "UNEXPECTED: " + msg
	}
	return guest.Report{}, errors.New(msg)
}

func main() {}
