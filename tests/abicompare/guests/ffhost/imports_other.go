//go:build !wasip1

package main

import (
	"unsafe"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// Outside wasm there is no host.

func sqlExec(unsafe.Pointer, uint32, unsafe.Pointer, uint32, unsafe.Pointer, uint32) uint64 {
	return abi.Pack(abi.StatusInvalid, 0)
}
func txBegin(unsafe.Pointer, uint32) uint64  { return abi.Pack(abi.StatusInvalid, 0) }
func txCommit(unsafe.Pointer, uint32) uint64 { return abi.Pack(abi.StatusInvalid, 0) }
