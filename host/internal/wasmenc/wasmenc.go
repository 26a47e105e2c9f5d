// Package wasmenc builds WebAssembly binary modules from Go values, for
// tests: the rewrite's regression tests, its fuzz targets (which vary a
// module's structure, not only its bytes) and the generators of worst-case
// modules at the load bounds. It encodes what it is given without
// validating it, so a test can build an invalid module on purpose. Only
// tests import it; it imports nothing of the host.
package wasmenc

import "encoding/binary"

// Section ids, from the WebAssembly core specification.
const (
	SecCustom    = 0
	SecType      = 1
	SecImport    = 2
	SecFunction  = 3
	SecTable     = 4
	SecMemory    = 5
	SecGlobal    = 6
	SecExport    = 7
	SecStart     = 8
	SecElement   = 9
	SecCode      = 10
	SecData      = 11
	SecDataCount = 12
)

// Value types and external kinds.
const (
	I32       = 0x7F
	I64       = 0x7E
	F32       = 0x7D
	F64       = 0x7C
	FuncRef   = 0x70
	ExternRef = 0x6F

	KindFunc   = 0x00
	KindTable  = 0x01
	KindMemory = 0x02
	KindGlobal = 0x03
)

// FuncType is a function type.
type FuncType struct{ Params, Results []byte }

// Import is one import; Desc is its encoded description after the kind
// byte (a type index for a function, a value type and mutability for a
// global, limits for a memory).
type Import struct {
	Module, Name string
	Kind         byte
	Desc         []byte
}

// Global is a defined global: its value type, whether it is mutable, and
// its initializer, a constant expression without the final end.
type Global struct {
	Type    byte
	Mutable bool
	Init    []byte
}

// Export is one export.
type Export struct {
	Name  string
	Kind  byte
	Index uint32
}

// Locals declares N locals of one value type.
type Locals struct {
	N    uint32
	Type byte
}

// Func is a function body: its locals and its code, which must end with
// the function's end (0x0B); or, if Body is set, the body's bytes as they
// are, locals included.
type Func struct {
	Locals []Locals
	Code   []byte
	Body   []byte
}

// Section is a section the Module fields do not cover (element, data,
// custom, or a second copy of one they do), encoded as given, placed
// before the section with id Before (0: at the end).
type Section struct {
	ID     byte
	Body   []byte
	Before byte
}

// Module is a module. Empty fields write no section, except that Code
// writes a function section (one entry per body, with its TypeOf) and a
// code section.
type Module struct {
	Types    []FuncType
	Imports  []Import
	Memories [][]byte // each encoded limits, e.g. {0x00, 1}
	Globals  []Global
	Exports  []Export
	Start    *uint32
	Funcs    []Func
	TypeOf   []uint32 // type index of each of Funcs; missing ones are 0
	Extra    []Section
}

// Encode returns the binary module.
func (m Module) Encode() []byte {
	b := []byte("\x00asm\x01\x00\x00\x00")
	emit := func(id byte, body []byte) {
		for _, x := range m.Extra {
			if x.Before == id {
				b = AppendSection(b, x.ID, x.Body)
			}
		}
		if body != nil {
			b = AppendSection(b, id, body)
		}
	}
	emit(SecType, vec(len(m.Types), func(i int, b []byte) []byte {
		t := m.Types[i]
		b = append(b, 0x60)
		b = append(AppendU32(b, uint32(len(t.Params))), t.Params...)
		return append(AppendU32(b, uint32(len(t.Results))), t.Results...)
	}))
	emit(SecImport, vec(len(m.Imports), func(i int, b []byte) []byte {
		im := m.Imports[i]
		b = AppendName(AppendName(b, im.Module), im.Name)
		return append(append(b, im.Kind), im.Desc...)
	}))
	emit(SecFunction, vec(len(m.Funcs), func(i int, b []byte) []byte {
		t := uint32(0)
		if i < len(m.TypeOf) {
			t = m.TypeOf[i]
		}
		return AppendU32(b, t)
	}))
	emit(SecMemory, vec(len(m.Memories), func(i int, b []byte) []byte { return append(b, m.Memories[i]...) }))
	emit(SecGlobal, vec(len(m.Globals), func(i int, b []byte) []byte {
		g := m.Globals[i]
		mut := byte(0)
		if g.Mutable {
			mut = 1
		}
		return append(append(b, g.Type, mut), append(g.Init, 0x0B)...)
	}))
	emit(SecExport, vec(len(m.Exports), func(i int, b []byte) []byte {
		e := m.Exports[i]
		return AppendU32(append(AppendName(b, e.Name), e.Kind), e.Index)
	}))
	var start []byte
	if m.Start != nil {
		start = AppendU32(nil, *m.Start)
	}
	emit(SecStart, start)
	emit(SecElement, nil)
	emit(SecDataCount, nil)
	emit(SecCode, vec(len(m.Funcs), func(i int, b []byte) []byte {
		f := m.Funcs[i]
		if f.Body != nil {
			return append(AppendU32(b, uint32(len(f.Body))), f.Body...)
		}
		body := AppendU32(nil, uint32(len(f.Locals)))
		for _, l := range f.Locals {
			body = append(AppendU32(body, l.N), l.Type)
		}
		body = append(body, f.Code...)
		return append(AppendU32(b, uint32(len(body))), body...)
	}))
	emit(SecData, nil)
	emit(0, nil)
	return b
}

// vec encodes a vector of n items, or returns nil for none.
func vec(n int, item func(i int, b []byte) []byte) []byte {
	if n == 0 {
		return nil
	}
	b := AppendU32(nil, uint32(n))
	for i := range n {
		b = item(i, b)
	}
	return b
}

// AppendSection appends a section with its id and size.
func AppendSection(b []byte, id byte, body []byte) []byte {
	b = AppendU32(append(b, id), uint32(len(body)))
	return append(b, body...)
}

// AppendU32 appends v as unsigned LEB128.
func AppendU32(b []byte, v uint32) []byte { return binary.AppendUvarint(b, uint64(v)) }

// AppendS32 appends v as signed LEB128, as i32.const takes it.
func AppendS32(b []byte, v int32) []byte { return AppendS64(b, int64(v)) }

// AppendName appends a name: its length, then its bytes.
func AppendName(b []byte, s string) []byte { return append(AppendU32(b, uint32(len(s))), s...) }

// Op returns the bytes of an instruction: its opcode, then its immediates
// as unsigned LEB128 numbers (an index, a label, a block type 0x40 as 64).
func Op(op byte, imm ...uint32) []byte {
	b := []byte{op}
	for _, v := range imm {
		b = AppendU32(b, v)
	}
	return b
}

// Code concatenates instructions.
func Code(ins ...[]byte) []byte {
	var b []byte
	for _, i := range ins {
		b = append(b, i...)
	}
	return b
}

// Opcodes the tests use.
const (
	OpUnreachable = 0x00
	OpNop         = 0x01
	OpBlock       = 0x02
	OpLoop        = 0x03
	OpIf          = 0x04
	OpElse        = 0x05
	OpEnd         = 0x0B
	OpBr          = 0x0C
	OpBrIf        = 0x0D
	OpReturn      = 0x0F
	OpCall        = 0x10
	OpCallInd     = 0x11
	OpDrop        = 0x1A
	OpLocalGet    = 0x20
	OpLocalSet    = 0x21
	OpLocalTee    = 0x22
	OpGlobalGet   = 0x23
	OpGlobalSet   = 0x24
	OpI32Load     = 0x28
	OpI32Store    = 0x36
	OpI32Const    = 0x41
	OpI64Const    = 0x42
	OpI32Eqz      = 0x45
	OpI32LtU      = 0x49
	OpI32Add      = 0x6A
	OpI32Sub      = 0x6B
	OpI64Add      = 0x7C
	OpI64Sub      = 0x7D
	OpI64LtU      = 0x54
	OpI64DivU     = 0x80

	BlockEmpty = 0x40
)

// I32Const is i32.const v.
func I32Const(v int32) []byte { return AppendS32([]byte{OpI32Const}, v) }
