package daemon

import (
	"encoding/json"
	"testing"
)

// tinySpec describes a minimal plugin module assembled by tinyWasm: it
// declares a descriptor and, on every tick, reports Processed items and
// returns Status. Different Versions give different bytes (and sha256).
type tinySpec struct {
	Name       string
	Version    string
	IntervalMS int64
	Processed  int64
	Status     int32 // scan_tick's result: 0 ok, else the tick fails
	More       bool  // scan_tick calls tick_more (ABI 1.1)
}

// tinyWasm assembles spec into a WebAssembly binary by hand, so the
// daemon's tests need neither the Go wasm toolchain nor the seconds (tens
// under -race) a standard-Go plugin takes to compile. The module:
//
//	(import "ffhost" "tick_report" (func (param i64 i64)))
//	(import "ffhost" "tick_more" (func))  ;; with More
//	(memory (export "memory") 1)
//	(func (export "describe") (result i64) (i64.const PTR<<32|LEN))
//	(func (export "scan_tick") (param i64) (result i32)
//	  (call 0 (i64.const PROCESSED) (i64.const 0)) (call 1) (i32.const STATUS))
//	(data (i32.const PTR) "DESCRIPTOR JSON")
func tinyWasm(tb testing.TB, spec tinySpec) []byte {
	tb.Helper()
	abiVersion := "1.0"
	if spec.More {
		abiVersion = "1.1"
	}
	desc, err := json.Marshal(map[string]any{
		"name": spec.Name, "abi_version": abiVersion, "version": spec.Version,
		"default_interval_ms": spec.IntervalMS, "reads": []string{}, "writes": []string{},
		"description": "tiny test plugin " + spec.Name,
	})
	if err != nil {
		tb.Fatal(err)
	}
	const ptr = 1024
	const (
		i32, i64  = 0x7f, 0x7e
		funcType  = 0x60
		end       = 0x0b
		i32Const  = 0x41
		i64Const  = 0x42
		call      = 0x10
		kindFunc  = 0x00
		kindMem   = 0x02
		secType   = 1
		secImport = 2
		secFunc   = 3
		secMem    = 5
		secExport = 7
		secCode   = 10
		secData   = 11
	)
	types := vec(
		cat([]byte{funcType}, vec(), vec([]byte{i64})),              // 0: () -> i64
		cat([]byte{funcType}, vec([]byte{i64}), vec([]byte{i32})),   // 1: (i64) -> i32
		cat([]byte{funcType}, vec([]byte{i64}, []byte{i64}), vec()), // 2: (i64, i64) -> ()
		cat([]byte{funcType}, vec(), vec()),                         // 3: () -> ()
	)
	importList := [][]byte{cat(name("ffhost"), name("tick_report"), []byte{kindFunc, 2})}
	var callMore []byte
	if spec.More {
		importList = append(importList, cat(name("ffhost"), name("tick_more"), []byte{kindFunc, 3}))
		callMore = []byte{call, 1}
	}
	imports := vec(importList...)
	nImp := byte(len(importList))
	funcs := vec([]byte{0}, []byte{1})
	mems := vec([]byte{0x00, 0x01}) // min 1 page, no max
	exports := vec(
		cat(name("memory"), []byte{kindMem, 0}),
		cat(name("describe"), []byte{kindFunc, nImp}),
		cat(name("scan_tick"), []byte{kindFunc, nImp + 1}),
	)
	describe := cat([]byte{0, i64Const}, sleb(int64(ptr)<<32|int64(len(desc))), []byte{end})
	tick := cat([]byte{0, i64Const}, sleb(spec.Processed), []byte{i64Const}, sleb(0), []byte{call, 0}, callMore,
		[]byte{i32Const}, sleb(int64(spec.Status)), []byte{end})
	code := vec(cat(uleb(uint64(len(describe))), describe), cat(uleb(uint64(len(tick))), tick))
	data := vec(cat([]byte{0x00, i32Const}, sleb(ptr), []byte{end}, uleb(uint64(len(desc))), desc))
	return cat([]byte("\x00asm\x01\x00\x00\x00"),
		section(secType, types), section(secImport, imports), section(secFunc, funcs), section(secMem, mems),
		section(secExport, exports), section(secCode, code), section(secData, data))
}

// withCustomSection returns wasm with a custom section appended: a
// different file (and sha256) that loads exactly like the original.
func withCustomSection(wasm []byte, label string) []byte {
	return cat(wasm, section(0, cat(name(label), []byte("x"))))
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// vec encodes a WebAssembly vector: a count, then the items.
func vec(items ...[]byte) []byte { return cat(uleb(uint64(len(items))), cat(items...)) }

func name(s string) []byte { return cat(uleb(uint64(len(s))), []byte(s)) }

func section(id byte, content []byte) []byte {
	return cat([]byte{id}, uleb(uint64(len(content))), content)
}

func uleb(v uint64) []byte {
	var out []byte
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b |= 0x80
		}
		out = append(out, b)
		if v == 0 {
			return out
		}
	}
}

func sleb(v int64) []byte {
	var out []byte
	for {
		b := byte(v & 0x7f)
		v >>= 7
		done := (v == 0 && b&0x40 == 0) || (v == -1 && b&0x40 != 0)
		if !done {
			b |= 0x80
		}
		out = append(out, b)
		if done {
			return out
		}
	}
}
