//go:build !wasip1

package main

import (
	"unsafe"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// rawQuery fails outside wasm, where there is no host.
func rawQuery(unsafe.Pointer, uint32, unsafe.Pointer, uint32, unsafe.Pointer, uint32) uint64 {
	return abi.Pack(abi.StatusInvalid, 0)
}
