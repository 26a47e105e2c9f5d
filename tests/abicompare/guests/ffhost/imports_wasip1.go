//go:build wasip1

package main

import "unsafe"

//go:wasmimport ffhost sql_exec
func sqlExec(sql unsafe.Pointer, sqlLen uint32, args unsafe.Pointer, argsLen uint32, out unsafe.Pointer, outCap uint32) uint64

//go:wasmimport ffhost tx_begin
func txBegin(out unsafe.Pointer, outCap uint32) uint64

//go:wasmimport ffhost tx_commit
func txCommit(out unsafe.Pointer, outCap uint32) uint64
