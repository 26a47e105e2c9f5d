// Package loopcheck rewrites a WebAssembly module so that the host can stop
// it at any loop. It adds two mutable i32 globals and, at the top of every
// loop body, a check:
//
//	if interrupt != 0 { unreachable }
//	budget--
//	if budget == 0 { budget = YieldEvery; memory.grow(0) }
//
// The host stops the module by setting the exported interrupt flag from
// another goroutine. Compiled wasm code cannot be preempted by the Go
// scheduler, so with every P running guest code no goroutine would be left
// to set the flag; the no-op memory.grow every YieldEvery loops leaves the
// compiled code for wazero's Go code, where the scheduler can preempt it.
//
// It replaces wazero's WithCloseOnContextDone, which leaves the compiled
// code for Go at every loop header (~40 ns; the Go compiler's wasm output
// has a loop in nearly every function). The check here costs a few
// instructions.
//
// Only the global, export and code sections change, and only by appending
// globals, appending an export and inserting instructions, so no function,
// global or type index moves and every other section is copied as is.
package loopcheck

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// GlobalName is the export name of the interrupt flag: a mutable i32 that
// is 0 while the module may run. Set it to 1 and the module traps with
// `unreachable` at its next loop header.
const GlobalName = "__ffhost_interrupt"

// YieldEvery is how many loop headers the module passes between two exits
// to the host's Go code: a few hundred microseconds of guest code.
const YieldEvery = 1 << 16

// Section ids, from the WebAssembly core specification.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

// order is each non-custom section's position in a valid module (the tag
// section sits between memory and global).
var order = map[byte]int{
	secType: 1, secImport: 2, secFunction: 3, secTable: 4, secMemory: 5,
	secTag: 6, secGlobal: 7, secExport: 8, secStart: 9, secElement: 10,
	secDataCount: 11, secCode: 12, secData: 13,
}

// Instrument returns a copy of the binary module wasm with the interrupt
// flag exported as GlobalName and the check at every loop. It fails on a
// module it cannot parse, one without a memory, one that already exports
// GlobalName, and one whose code uses an instruction it does not know; the
// error names where.
func Instrument(wasm []byte) ([]byte, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, errors.New("not a WebAssembly module (bad magic number)")
	}
	if string(wasm[4:8]) != "\x01\x00\x00\x00" {
		return nil, fmt.Errorf("unsupported binary version % x", wasm[4:8])
	}
	type section struct {
		id   byte
		body []byte
	}
	var sections []section
	r := reader{b: wasm, pos: 8}
	for !r.done() {
		id := r.byte()
		size := r.u32()
		body := r.bytes(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("section %d at offset %d: %w", id, r.pos, r.err)
		}
		if id != secCustom && order[id] == 0 {
			return nil, fmt.Errorf("unknown section id %d", id)
		}
		sections = append(sections, section{id, body})
	}

	var imported importCounts
	definedGlobals, memories := 0, 0
	for _, s := range sections {
		var err error
		switch s.id {
		case secImport:
			imported, err = countImports(s.body)
		case secGlobal:
			definedGlobals, err = vecLen(s.body)
		case secMemory:
			memories, err = vecLen(s.body)
		case secExport:
			err = checkExportNames(s.body)
		}
		if err != nil {
			return nil, err
		}
	}
	if imported.memories+memories == 0 {
		return nil, errors.New("the module has no memory")
	}
	flag := uint32(imported.globals + definedGlobals)
	check := checkCode(flag, flag+1)

	out := make([]byte, 0, len(wasm)+len(wasm)/16)
	out = append(out, wasm[:8]...)
	emit := func(id byte, body []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	newGlobal := []byte{valI32, 1, opI32Const, 0, opEnd} // interrupt
	newGlobal = append(newGlobal, valI32, 1, opI32Const) // budget
	newGlobal = appendS32(newGlobal, YieldEvery)
	newGlobal = append(newGlobal, opEnd)
	newExport := appendName(nil, GlobalName)
	newExport = append(newExport, externGlobal)
	newExport = appendU32(newExport, flag)

	addedGlobal, addedExport := false, false
	for _, s := range sections {
		// A module without a global or export section gets one just before
		// the first section that must follow it.
		if !addedGlobal && s.id != secCustom && order[s.id] > order[secGlobal] {
			emit(secGlobal, appendVec(nil, 0, 2, nil, newGlobal))
			addedGlobal = true
		}
		if !addedExport && s.id != secCustom && order[s.id] > order[secExport] {
			emit(secExport, appendVec(nil, 0, 1, nil, newExport))
			addedExport = true
		}
		switch s.id {
		case secGlobal:
			b, err := appendToVec(s.body, 2, newGlobal)
			if err != nil {
				return nil, fmt.Errorf("global section: %w", err)
			}
			emit(s.id, b)
			addedGlobal = true
		case secExport:
			b, err := appendToVec(s.body, 1, newExport)
			if err != nil {
				return nil, fmt.Errorf("export section: %w", err)
			}
			emit(s.id, b)
			addedExport = true
		case secCode:
			b, err := instrumentCode(s.body, check)
			if err != nil {
				return nil, fmt.Errorf("code section: %w", err)
			}
			emit(s.id, b)
		default:
			emit(s.id, s.body)
		}
	}
	if !addedGlobal {
		emit(secGlobal, appendVec(nil, 0, 2, nil, newGlobal))
	}
	if !addedExport {
		emit(secExport, appendVec(nil, 0, 1, nil, newExport))
	}
	return out, nil
}

// Value types, extern kinds and opcodes used in what Instrument writes.
const (
	valI32        = 0x7F
	externGlobal  = 0x03
	blockEmpty    = 0x40
	opUnreachable = 0x00
	opIf          = 0x04
	opEnd         = 0x0B
	opDrop        = 0x1A
	opGlobalGet   = 0x23
	opGlobalSet   = 0x24
	opMemoryGrow  = 0x40
	opI32Const    = 0x41
	opI32Eqz      = 0x45
	opI32Sub      = 0x6B
)

// checkCode is the check inserted at each loop header, given the indices
// of the interrupt and budget globals.
func checkCode(flag, budget uint32) []byte {
	b := appendU32([]byte{opGlobalGet}, flag)
	b = append(b, opIf, blockEmpty, opUnreachable, opEnd)
	b = appendU32(append(b, opGlobalGet), budget)
	b = append(b, opI32Const, 1, opI32Sub)
	b = appendU32(append(b, opGlobalSet), budget)
	b = appendU32(append(b, opGlobalGet), budget)
	b = append(b, opI32Eqz, opIf, blockEmpty, opI32Const)
	b = appendS32(b, YieldEvery)
	b = appendU32(append(b, opGlobalSet), budget)
	return append(b, opI32Const, 0, opMemoryGrow, 0, opDrop, opEnd)
}

type importCounts struct{ globals, memories int }

func countImports(sec []byte) (importCounts, error) {
	var c importCounts
	r := reader{b: sec}
	n := int(r.u32())
	for i := 0; i < n && r.err == nil; i++ {
		r.name()
		r.name()
		switch kind := r.byte(); kind {
		case 0x00: // function: type index
			r.u32()
		case 0x01: // table: reference type, limits
			r.refType()
			r.limits()
		case 0x02: // memory: limits
			r.limits()
			c.memories++
		case 0x03: // global: value type, mutability
			r.valType()
			r.byte()
			c.globals++
		case 0x04: // tag: attribute, type index
			r.byte()
			r.u32()
		default:
			r.fail(fmt.Errorf("unknown import kind 0x%02x", kind))
		}
	}
	if r.err == nil && !r.done() {
		r.err = fmt.Errorf("%d bytes after the last import", len(sec)-r.pos)
	}
	if r.err != nil {
		return c, fmt.Errorf("import section: %w", r.err)
	}
	return c, nil
}

func checkExportNames(sec []byte) error {
	r := reader{b: sec}
	n := int(r.u32())
	for i := 0; i < n && r.err == nil; i++ {
		if r.name() == GlobalName {
			return fmt.Errorf("export section: the module already exports %q", GlobalName)
		}
		r.byte()
		r.u32()
	}
	if r.err == nil && !r.done() {
		r.err = fmt.Errorf("%d bytes after the last export", len(sec)-r.pos)
	}
	if r.err != nil {
		return fmt.Errorf("export section: %w", r.err)
	}
	return nil
}

func vecLen(sec []byte) (int, error) {
	r := reader{b: sec}
	n := r.u32()
	return int(n), r.err
}

// appendToVec returns the vector sec with more encoded elements, items,
// whose number is added.
func appendToVec(sec []byte, added uint32, items []byte) ([]byte, error) {
	r := reader{b: sec}
	n := r.u32()
	if r.err != nil {
		return nil, r.err
	}
	return appendVec(make([]byte, 0, len(sec)+len(items)+5), n, added, sec[r.pos:], items), nil
}

// appendVec appends a vector of n+added elements: the n encoded in elems,
// then the added ones encoded in items.
func appendVec(b []byte, n, added uint32, elems, items []byte) []byte {
	b = appendU32(b, n+added)
	b = append(b, elems...)
	return append(b, items...)
}

func appendName(b []byte, s string) []byte {
	b = appendU32(b, uint32(len(s)))
	return append(b, s...)
}

// appendS32 appends v as a signed LEB128 number, as i32.const takes it.
func appendS32(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// appendU32 appends v as unsigned LEB128, which is Go's uvarint encoding.
func appendU32(b []byte, v uint32) []byte { return binary.AppendUvarint(b, uint64(v)) }

// instrumentCode rewrites every function body of the code section sec.
func instrumentCode(sec []byte, check []byte) ([]byte, error) {
	r := reader{b: sec}
	n := r.u32()
	if r.err != nil {
		return nil, r.err
	}
	out := make([]byte, 0, len(sec)+len(sec)/8)
	out = appendU32(out, n)
	var body []byte
	for i := uint32(0); i < n; i++ {
		size := r.u32()
		code := r.bytes(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("function %d: %w", i, r.err)
		}
		var err error
		body, err = instrumentBody(body[:0], code, check)
		if err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, err)
		}
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	if !r.done() {
		return nil, fmt.Errorf("%d bytes after the last function body", len(sec)-r.pos)
	}
	return out, nil
}

// MaxLocals is the most locals one function may declare, the limit web
// engines apply. The binary format lets a few bytes declare four billion,
// and wazero allocates them all when it compiles: a 40-byte file would
// crash the host out of memory.
const MaxLocals = 50_000

// instrumentBody appends code, with check inserted after every loop's
// block type, to out.
func instrumentBody(out, code, check []byte) ([]byte, error) {
	r := reader{b: code}
	groups := r.u32()
	var locals uint64
	for i := uint32(0); i < groups && r.err == nil; i++ {
		locals += uint64(r.u32())
		r.valType()
		if locals > MaxLocals {
			return nil, fmt.Errorf("declares more than %d locals", MaxLocals)
		}
	}
	copied := 0
	for !r.done() && r.err == nil {
		at := r.pos
		op := r.byte()
		if op == opLoop {
			r.blockType()
			out = append(out, code[copied:r.pos]...)
			out = append(out, check...)
			copied = r.pos
			continue
		}
		if err := r.skipImmediates(op); err != nil {
			return nil, fmt.Errorf("instruction at offset %d: %w", at, err)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return append(out, code[copied:]...), nil
}
