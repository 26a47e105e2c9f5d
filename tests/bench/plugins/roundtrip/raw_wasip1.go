//go:build wasip1

package main

import "unsafe"

// rawQuery is the ffhost sql_query import itself (see abi/ABI.md), declared
// here so the benchmark can time a host call without database/sql around it.
//
//go:wasmimport ffhost sql_query
func rawQuery(sql unsafe.Pointer, sqlLen uint32, args unsafe.Pointer, argsLen uint32, out unsafe.Pointer, outCap uint32) uint64
