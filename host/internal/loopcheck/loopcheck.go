// Package loopcheck rewrites a WebAssembly module so that the host can stop
// it within a bounded amount of guest work, whatever the shape of its code.
// It adds two mutable i32 globals, an interrupt flag and a budget, and a
// check at the entry of every function, at the top of every loop body and
// after every call that returns into more code:
//
//	if interrupt != 0 { unreachable }
//	budget -= cost
//	if budget <= 0 { budget = YieldEvery; memory.grow(0) }
//
// The host stops the module by setting the exported interrupt flag from
// another goroutine. Compiled wasm code cannot be preempted by the Go
// scheduler, so with every P running guest code no goroutine would be left
// to set the flag (and a garbage collection would wait forever for the
// guests to stop); the no-op memory.grow leaves the compiled code for
// wazero's Go code, where the scheduler can preempt it.
//
// Each check charges the budget 1 + n/CostUnit, where n is the most bytes
// of code that can run from the check before the next one: between two
// checks code only runs forward (a branch back goes to a loop's check), so
// one pass backwards over a body finds, for every instruction, the longest
// forward path from it to a check, a return or the body's end. A function
// whose body starts, after a few plain instructions, with a loop (the Go
// compiler's output has one around every body) lets that loop's check
// serve as its entry check. So between two exits to Go the module runs at
// most YieldEvery*CostUnit bytes of code plus what one check charges (one
// function body at most), whatever the shape of its code: loops,
// recursion without loops, long code run while a deep recursion unwinds.
//
// Instrument also refuses what could otherwise slip through the rewrite:
// an invalid module that the appended globals and exports would make valid
// (a reference to a global index past the module's own), a module using the
// reserved export prefix, sections out of order, a start function of the
// wrong type, a ref.func of a function only the rewrite's export of the
// start function would declare. It reads code as wazero v1.12 runs it,
// not as the specification says where the two differ (a SIMD opcode is one
// byte), so that no instruction hides from it. And it enforces the load
// Bounds, which keep compiling a file finite in time and memory.
//
// The start section is removed and its function exported as StartName: the
// runtime would run it while instantiating, before the host can reach the
// flag, so the host calls it itself, under a deadline.
//
// Only the global, export, start and code sections change, and only by
// appending globals, appending exports, dropping the start section and
// inserting instructions, so no function, global or type index moves and
// every other section is copied as is.
//
// It works on bytes alone: it must not import wazero or any other package
// of the host.
package loopcheck

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// ReservedPrefix starts every name the host adds to a module's exports; a
// module that exports such a name itself is refused.
const ReservedPrefix = "__ffhost_"

// GlobalName is the export name of the interrupt flag: a mutable i32 that
// is 0 while the module may run. Set it to 1 and the module traps with
// `unreachable` at its next check.
const GlobalName = ReservedPrefix + "interrupt"

// StartName is the export name of the module's start function, when it has
// one: a () -> () function the host must call once on each new instance,
// before anything else.
const StartName = ReservedPrefix + "start"

// YieldEvery is the budget: how many cost units the module runs between two
// exits to the host's Go code.
const YieldEvery = 8192

// CostUnit is how many bytes of code one unit of the budget covers. A check
// charges 1 + n/CostUnit, where n is the most code that can run from it
// before the next check, so between two exits to Go the module runs at
// most YieldEvery*CostUnit (128 KiB) bytes of code plus what one check
// charges (at most a function body).
const CostUnit = 16

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

var sectionNames = map[byte]string{
	secCustom: "custom", secType: "type", secImport: "import", secFunction: "function",
	secTable: "table", secMemory: "memory", secGlobal: "global", secExport: "export",
	secStart: "start", secElement: "element", secCode: "code", secData: "data",
	secDataCount: "data count", secTag: "tag",
}

// Bounds limit what compiling a module may cost. Instrument checks them
// before the runtime sees the module: a few bytes of the binary format can
// declare work or memory out of all proportion to the file's size. A zero
// field takes the field of DefaultBounds.
type Bounds struct {
	// Functions is the most functions a module may define.
	Functions int
	// FunctionBytes is the most bytes of code one function body may have.
	FunctionBytes int
	// Locals is the most locals one function may declare.
	Locals int
	// TotalLocals is the most locals all functions together may declare.
	TotalLocals int
	// Nesting is the deepest blocks (block, loop, if) may nest in one body.
	Nesting int
	// CodeBytes is the most bytes the code section may have.
	CodeBytes int
	// BlockWork bounds the sum, over all functions, of the square of each
	// one's number of blocks and branches (with the checks the rewrite
	// adds). wazero's compiler takes time that grows with the square of a
	// function's blocks when they follow one another (it walks the chain of
	// dominators for each), so bytes alone do not bound it.
	BlockWork int64
	// TableElements is the most elements one table may hold, initially
	// and by growing: a table's declared maximum is lowered to it (added
	// where there is none), so table.grow past it fails. Tables live
	// outside linear memory, eight bytes an element.
	TableElements int
	// MemoryPages, if not 0, lowers a memory's declared maximum to it, so
	// that a module declaring a larger maximum than the host allows still
	// loads; memory.grow past it fails. (The runtime refuses a module
	// whose initial memory is larger.)
	MemoryPages uint32
	// FunctionImportsOnly refuses a module that imports anything but
	// functions (a table, a memory, a global, a tag): a host that
	// provides functions only could not satisfy it, and the runtime would
	// fail it later with a vaguer error.
	FunctionImportsOnly bool
}

// MaxTables is the most tables a module may define.
const MaxTables = 8

// DefaultBounds are the bounds that fit the largest real plugins with wide
// headroom while keeping a worst-case module's compile under about a second
// and a few hundred MB.
var DefaultBounds = Bounds{
	Functions:     20_000,
	FunctionBytes: 128 << 10,
	Locals:        50_000,
	TotalLocals:   500_000,
	Nesting:       2_000,
	CodeBytes:     8 << 20,
	BlockWork:     100_000_000,
	TableElements: 100_000,
}

// withDefaults returns b with every zero field taken from DefaultBounds.
func (b Bounds) withDefaults() Bounds {
	d := DefaultBounds
	for _, f := range []struct{ v, def *int }{
		{&b.Functions, &d.Functions}, {&b.FunctionBytes, &d.FunctionBytes},
		{&b.Locals, &d.Locals}, {&b.TotalLocals, &d.TotalLocals},
		{&b.Nesting, &d.Nesting}, {&b.CodeBytes, &d.CodeBytes},
		{&b.TableElements, &d.TableElements},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	if b.BlockWork <= 0 {
		b.BlockWork = d.BlockWork
	}
	return b
}

// boundError reports a bound exceeded: what, its value and the bound,
// named as the host's --limit option names it.
func boundError(what string, value int, bound string, limit int) error {
	return fmt.Errorf("%s %d exceeds the %s bound %d", what, value, bound, limit)
}

// Instrument returns a copy of the binary module wasm with the interrupt
// flag exported as GlobalName, the checks inserted, and the start function,
// if any, exported as StartName instead. It fails on a module it cannot
// parse, one without a memory, one that refers to a global it does not
// have or exports a name with ReservedPrefix, one whose code uses an
// instruction it does not know, and one past a bound of b; the error names
// where.
func Instrument(wasm []byte, b Bounds) ([]byte, error) {
	b = b.withDefaults()
	m, err := parseModule(wasm)
	if err != nil {
		return nil, err
	}
	if err := m.validate(b); err != nil {
		return nil, err
	}
	flag := m.globals
	ck := checks{flag: flag, budget: flag + 1}
	tables, err := m.clampLimits(secTable, uint64(b.TableElements))
	if err != nil {
		return nil, err
	}
	memories, err := m.clampLimits(secMemory, uint64(b.MemoryPages))
	if err != nil {
		return nil, err
	}

	out := make([]byte, 0, len(wasm)+len(wasm)/4)
	out = append(out, wasm[:8]...)
	emit := func(id byte, body []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	newGlobals := []byte{valI32, 1, opI32Const, 0, opEnd}  // interrupt
	newGlobals = append(newGlobals, valI32, 1, opI32Const) // budget
	newGlobals = appendS32(newGlobals, YieldEvery)
	newGlobals = append(newGlobals, opEnd)
	newExports := appendName(nil, GlobalName)
	newExports = append(newExports, externGlobal)
	newExports = appendU32(newExports, flag)
	added := uint32(1)
	if m.hasStart {
		newExports = appendName(newExports, StartName)
		newExports = append(newExports, externFunc)
		newExports = appendU32(newExports, m.start)
		added++
	}

	// A module without a global or export section gets one just before the
	// first section that must follow it, or else before the custom
	// sections that end the module: the module's last bytes stay its last
	// (wazero refuses a module that ends with an empty custom section, and
	// must refuse the rewritten module too).
	tail := len(m.sections)
	for tail > 0 && m.sections[tail-1].id == secCustom {
		tail--
	}
	addedGlobal, addedExport := false, false
	for i, s := range m.sections {
		last := i == tail
		if !addedGlobal && (last || s.id != secCustom && order[s.id] > order[secGlobal]) {
			emit(secGlobal, appendVec(nil, 0, 2, nil, newGlobals))
			addedGlobal = true
		}
		if !addedExport && (last || s.id != secCustom && order[s.id] > order[secExport]) {
			emit(secExport, appendVec(nil, 0, added, nil, newExports))
			addedExport = true
		}
		switch s.id {
		case secGlobal:
			emit(s.id, appendToVec(s.body, 2, newGlobals))
			addedGlobal = true
		case secExport:
			emit(s.id, appendToVec(s.body, added, newExports))
			addedExport = true
		case secStart:
			// dropped: exported as StartName above
		case secTable:
			emit(s.id, tables)
		case secMemory:
			emit(s.id, memories)
		case secCode:
			body, err := instrumentCode(s.body, ck, b, m)
			if err != nil {
				return nil, fmt.Errorf("code section: %w", err)
			}
			emit(s.id, body)
		default:
			emit(s.id, s.body)
		}
	}
	if !addedGlobal {
		emit(secGlobal, appendVec(nil, 0, 2, nil, newGlobals))
	}
	if !addedExport {
		emit(secExport, appendVec(nil, 0, added, nil, newExports))
	}
	return out, nil
}

// section is one section of a module: its id and its body.
type section struct {
	id   byte
	body []byte
}

// module is what Instrument needs to know of a module, gathered while
// every section except code is checked.
type module struct {
	sections []section
	types    []funcType
	funcs    []uint32 // type index of every function, imported first
	imported int      // imported functions
	globals  uint32   // imported and defined globals
	memories int      // imported and defined memories
	defined  int      // entries of the function section
	tables   []table  // imported and defined
	hasStart bool
	start    uint32 // the start function's index
	// funcImports are the functions imported, in order.
	funcImports []Import
	// declared are the functions that code may name in ref.func: those
	// exported or named in an element segment or a global's initializer.
	// The rewrite's export of the start function must not declare it.
	declared map[uint32]bool
}

// importKinds names the kinds of import.
var importKinds = map[byte]string{0x00: "function", 0x01: "table", 0x02: "memory", 0x03: "global", 0x04: "tag"}

// table is what the rewrite needs to know of a table: its initial size,
// and for an element segment's offset whether it is the module's own.
type table struct {
	min     uint64
	defined bool
}

// funcType is a function type, by how many parameters and results it has:
// all a start function's type check needs.
type funcType struct{ params, results uint32 }

// parseModule splits wasm into its sections, refusing an unknown section,
// a duplicate and one out of order.
func parseModule(wasm []byte) (*module, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, errors.New("not a WebAssembly module (bad magic number)")
	}
	if string(wasm[4:8]) != "\x01\x00\x00\x00" {
		return nil, fmt.Errorf("unsupported binary version % x", wasm[4:8])
	}
	m := &module{declared: map[uint32]bool{}}
	r := reader{b: wasm, pos: 8}
	last := byte(secCustom)
	for !r.done() {
		at := r.pos
		id := r.byte()
		size := r.u32()
		body := r.bytes(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("section %d at offset %d: %w", id, at, r.err)
		}
		if id != secCustom {
			if order[id] == 0 {
				return nil, fmt.Errorf("unknown section id %d at offset %d", id, at)
			}
			if last != secCustom && order[id] <= order[last] {
				return nil, fmt.Errorf("%s section at offset %d after the %s section: sections must be in order, each at most once",
					sectionNames[id], at, sectionNames[last])
			}
			last = id
		}
		m.sections = append(m.sections, section{id, body})
	}
	return m, nil
}

// validate reads every section but code, filling m, and refuses what the
// rewrite must not let through (see Instrument).
func (m *module) validate(b Bounds) error {
	// Global indices are checked against the module's own count, which the
	// imports and the global section give, whatever comes first in a
	// malformed module: count them first.
	for _, s := range m.sections {
		var err error
		switch s.id {
		case secType:
			err = m.readTypes(s.body)
		case secImport:
			err = m.readImports(s.body, b.FunctionImportsOnly)
		case secFunction:
			err = m.readFunctions(s.body, b)
		case secMemory:
			var n uint32
			n, err = vecLen(s.body)
			m.memories += int(n)
		case secGlobal:
			var n uint32
			n, err = vecLen(s.body)
			m.globals += n
		}
		if err != nil {
			return fmt.Errorf("%s section: %w", sectionNames[s.id], err)
		}
	}
	for i, t := range m.funcs {
		if int(t) >= len(m.types) {
			sec := "function"
			if i < m.imported {
				sec = "import"
			}
			return fmt.Errorf("%s section: function %d: type index %d out of range (the module has %d types)", sec, i, t, len(m.types))
		}
	}
	codeSeen := false
	for _, s := range m.sections {
		var err error
		switch s.id {
		case secTable:
			err = m.readTables(s.body, b)
		case secGlobal:
			err = m.readGlobals(s.body)
		case secExport:
			err = m.readExports(s.body)
		case secStart:
			err = m.readStart(s.body)
		case secElement:
			err = m.readElements(s.body)
		case secData:
			err = m.readData(s.body)
		case secCode:
			codeSeen = true
			if len(s.body) > b.CodeBytes {
				err = boundError("size", len(s.body), "max-code-bytes", b.CodeBytes)
				break
			}
			var n uint32
			if n, err = vecLen(s.body); err == nil && int(n) != m.defined {
				err = fmt.Errorf("%d function bodies for %d functions declared", n, m.defined)
			}
		}
		if err != nil {
			return fmt.Errorf("%s section: %w", sectionNames[s.id], err)
		}
	}
	if !codeSeen && m.defined > 0 {
		return fmt.Errorf("function section: %d functions declared and no code section", m.defined)
	}
	if m.memories == 0 {
		return errors.New("the module has no memory")
	}
	return nil
}

// each reads a vector from sec, calling item for each element, and refuses
// bytes after its last element.
func each(sec []byte, what string, item func(i uint32, r *reader) error) error {
	r := reader{b: sec}
	n := r.u32()
	for i := uint32(0); i < n && r.err == nil; i++ {
		if err := item(i, &r); err != nil {
			return fmt.Errorf("%s %d: %w", what, i, err)
		}
		if r.err != nil {
			return fmt.Errorf("%s %d: %w", what, i, r.err)
		}
	}
	if r.err != nil {
		return r.err
	}
	if !r.done() {
		return fmt.Errorf("%d bytes after the last %s", len(sec)-r.pos, what)
	}
	return nil
}

func (m *module) readTypes(sec []byte) error {
	return each(sec, "type", func(_ uint32, r *reader) error {
		if form := r.byte(); form != 0x60 {
			return fmt.Errorf("unsupported type form 0x%02x", form)
		}
		var t funcType
		t.params = r.u32()
		for j := uint32(0); j < t.params && r.err == nil; j++ {
			r.valType()
		}
		t.results = r.u32()
		for j := uint32(0); j < t.results && r.err == nil; j++ {
			r.valType()
		}
		m.types = append(m.types, t)
		return nil
	})
}

func (m *module) readImports(sec []byte, functionsOnly bool) error {
	return each(sec, "import", func(_ uint32, r *reader) error {
		mod, name := r.name(), r.name()
		kind := r.byte()
		if functionsOnly && kind != externFunc && kind <= 0x04 && r.err == nil {
			return fmt.Errorf("%s.%s: a plugin may import only functions, not a %s", mod, name, importKinds[kind])
		}
		switch kind {
		case externFunc: // type index
			m.funcs = append(m.funcs, r.u32())
			m.imported++
			m.funcImports = append(m.funcImports, Import{Module: mod, Name: name})
		case 0x01: // table
			return m.tableType(r, false)
		case 0x02: // memory: limits
			r.limits()
			m.memories++
		case externGlobal: // value type, mutability
			r.valType()
			r.byte()
			m.globals++
		case 0x04: // tag: attribute, type index
			r.byte()
			r.u32()
		default:
			return fmt.Errorf("unknown import kind 0x%02x", kind)
		}
		return nil
	})
}

func (m *module) readFunctions(sec []byte, b Bounds) error {
	n, err := vecLen(sec)
	if err != nil {
		return err
	}
	if int(n) > b.Functions {
		return boundError("function count", int(n), "max-functions", b.Functions)
	}
	return each(sec, "function", func(_ uint32, r *reader) error {
		m.funcs = append(m.funcs, r.u32())
		m.defined++
		return nil
	})
}

func (m *module) readTables(sec []byte, b Bounds) error {
	n, err := vecLen(sec)
	if err == nil && n > MaxTables {
		return fmt.Errorf("%d tables exceed the bound of %d tables", n, MaxTables)
	}
	return each(sec, "table", func(_ uint32, r *reader) error {
		if err := m.tableType(r, true); err != nil {
			return err
		}
		if t := m.tables[len(m.tables)-1]; t.min > uint64(b.TableElements) {
			return boundError("initial size", int(min(t.min, 1<<40)), "max-table-elements", b.TableElements)
		}
		return nil
	})
}

// tableType reads a table type as wazero does, for an import or a
// definition: optionally 0x40 0x00 (then an initializer follows the
// limits), a reference type (one byte, or (ref null? ht)), limits.
func (m *module) tableType(r *reader, defined bool) error {
	init := false
	if r.pos < len(r.b) && r.b[r.pos] == 0x40 {
		r.byte()
		if z := r.byte(); z != 0 {
			return fmt.Errorf("byte 0x%02x after 0x40, want 0x00", z)
		}
		init = true
	}
	if t := r.byte(); t == 0x63 || t == 0x64 {
		r.leb(5) // the heap type
	}
	_, min, _, _ := r.limitsValues()
	m.tables = append(m.tables, table{min: min, defined: defined})
	if init {
		return m.constExpr(r)
	}
	return nil
}

func (m *module) readGlobals(sec []byte) error {
	return each(sec, "global", func(_ uint32, r *reader) error {
		r.valType()
		r.byte()
		return m.constExpr(r)
	})
}

func (m *module) readExports(sec []byte) error {
	return each(sec, "export", func(_ uint32, r *reader) error {
		name := r.name()
		kind := r.byte()
		idx := r.u32()
		if r.err != nil {
			return r.err
		}
		if strings.HasPrefix(name, ReservedPrefix) {
			return fmt.Errorf("name %q: the prefix %s is reserved for the host", name, ReservedPrefix)
		}
		if kind == externGlobal && idx >= m.globals {
			return fmt.Errorf("%q: global index %d out of range (the module has %d globals)", name, idx, m.globals)
		}
		if kind == externFunc {
			m.declared[idx] = true
		}
		return nil
	})
}

func (m *module) readStart(sec []byte) error {
	r := reader{b: sec}
	idx := r.u32()
	if r.err != nil {
		return r.err
	}
	if !r.done() {
		return fmt.Errorf("%d bytes after the function index", len(sec)-r.pos)
	}
	if int(idx) >= len(m.funcs) {
		return fmt.Errorf("function index %d out of range (the module has %d functions)", idx, len(m.funcs))
	}
	if t := m.types[m.funcs[idx]]; t.params != 0 || t.results != 0 {
		return fmt.Errorf("function %d has %d parameters and %d results, a start function has none", idx, t.params, t.results)
	}
	m.hasStart, m.start = true, idx
	return nil
}

func (m *module) readElements(sec []byte) error {
	return each(sec, "element segment", func(_ uint32, r *reader) error {
		flags := r.u32()
		if flags > 7 {
			return fmt.Errorf("unknown flags %d", flags)
		}
		tbl := uint32(0)
		if flags&3 == 2 { // explicit table index
			tbl = r.u32()
		}
		offset, constant := uint64(0), false
		if flags&1 == 0 { // active: offset
			at := r.pos
			if err := m.constExpr(r); err != nil {
				return fmt.Errorf("offset: %w", err)
			}
			offset, constant = i32ConstExpr(r.b[at:r.pos])
		}
		exprs := flags&4 != 0
		if flags&3 != 0 { // element kind or reference type
			if exprs {
				r.valType()
			} else if k := r.byte(); k != 0 {
				return fmt.Errorf("unknown element kind 0x%02x", k)
			}
		}
		n := r.u32()
		// A segment written past the end of the module's own table: wazero
		// v1.12 skips it where instantiation must trap. Refuse it.
		if constant && int(tbl) < len(m.tables) && m.tables[tbl].defined && offset+uint64(n) > m.tables[tbl].min {
			return fmt.Errorf("%d elements at offset %d run past the end of table %d (%d elements)", n, offset, tbl, m.tables[tbl].min)
		}
		for j := uint32(0); j < n && r.err == nil; j++ {
			if !exprs {
				m.declared[r.u32()] = true
				continue
			}
			if err := m.constExpr(r); err != nil {
				return fmt.Errorf("element %d: %w", j, err)
			}
		}
		return nil
	})
}

func (m *module) readData(sec []byte) error {
	return each(sec, "data segment", func(_ uint32, r *reader) error {
		switch flags := r.u32(); flags {
		case 0, 2:
			if flags == 2 {
				r.u32() // memory index
			}
			if err := m.constExpr(r); err != nil {
				return fmt.Errorf("offset: %w", err)
			}
		case 1: // passive
		default:
			return fmt.Errorf("unknown flags %d", flags)
		}
		r.bytes(int(r.u32()))
		return nil
	})
}

// constExpr reads a constant expression up to its end, refusing a
// global.get of a global the module does not have.
func (m *module) constExpr(r *reader) error {
	for r.err == nil {
		switch op := r.byte(); op {
		case opEnd:
			return nil
		case opGlobalGet:
			if idx := r.u32(); r.err == nil && idx >= m.globals {
				return fmt.Errorf("global.get %d: global index out of range (the module has %d globals)", idx, m.globals)
			}
		case opI32Const:
			r.leb(5)
		case 0x42: // i64.const
			r.leb(10)
		case 0x43: // f32.const
			r.bytes(4)
		case 0x44: // f64.const
			r.bytes(8)
		case 0xD0: // ref.null heap type
			r.leb(5)
		case 0xD2: // ref.func
			m.declared[r.u32()] = true
		case 0x6A, 0x6B, 0x6C, 0x7C, 0x7D, 0x7E: // extended-const i32/i64 add sub mul
		case 0xFD: // v128.const
			if sub := r.u32(); sub != 12 {
				return fmt.Errorf("opcode 0xfd %d in a constant expression", sub)
			}
			r.bytes(16)
		default:
			if r.err == nil {
				return fmt.Errorf("opcode 0x%02x in a constant expression", op)
			}
		}
	}
	return r.err
}

// Value types, extern kinds and opcodes used in what Instrument writes.
const (
	valI32        = 0x7F
	externFunc    = 0x00
	externGlobal  = 0x03
	blockEmpty    = 0x40
	opUnreachable = 0x00
	opIf          = 0x04
	opEnd         = 0x0B
	opReturn      = 0x0F
	opCall        = 0x10
	opCallInd     = 0x11
	opCallRef     = 0x14
	opDrop        = 0x1A
	opGlobalGet   = 0x23
	opGlobalSet   = 0x24
	opMemoryGrow  = 0x40
	opI32Const    = 0x41
	opI32LtS      = 0x48
	opI32Sub      = 0x6B
	opRefFunc     = 0xD2
)

// checks writes the inserted instructions, given the indices of the
// interrupt and budget globals.
type checks struct{ flag, budget uint32 }

// appendFlag appends the flag-only check: trap if the flag is set.
func (c checks) appendFlag(b []byte) []byte {
	b = appendU32(append(b, opGlobalGet), c.flag)
	return append(b, opIf, blockEmpty, opUnreachable, opEnd)
}

// appendFull appends the flag check, then charges cost to the budget and,
// when that leaves it at or below 0, refills it and yields to Go.
func (c checks) appendFull(b []byte, cost int32) []byte {
	b = c.appendFlag(b)
	b = appendU32(append(b, opGlobalGet), c.budget)
	b = appendS32(append(b, opI32Const), cost)
	b = append(b, opI32Sub)
	b = appendU32(append(b, opGlobalSet), c.budget)
	b = appendU32(append(b, opGlobalGet), c.budget)
	b = append(b, opI32Const, 1, opI32LtS, opIf, blockEmpty, opI32Const)
	b = appendS32(b, YieldEvery)
	b = appendU32(append(b, opGlobalSet), c.budget)
	return append(b, opI32Const, 0, opMemoryGrow, 0, opDrop, opEnd)
}

// cost is what a check covering n bytes of code charges.
func cost(n int64) int32 { return 1 + int32(min(n, 1<<30))/CostUnit }

func vecLen(sec []byte) (uint32, error) {
	r := reader{b: sec}
	n := r.u32()
	return n, r.err
}

// appendToVec returns the vector sec, which validate has read, with more
// encoded elements, items, whose number is added.
func appendToVec(sec []byte, added uint32, items []byte) []byte {
	r := reader{b: sec}
	n := r.u32()
	return appendVec(make([]byte, 0, len(sec)+len(items)+5), n, added, sec[r.pos:], items)
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

// i32ConstExpr reports the value of a constant expression that is one
// i32.const (then end), as an unsigned offset.
func i32ConstExpr(expr []byte) (uint64, bool) {
	r := reader{b: expr}
	if r.byte() != opI32Const {
		return 0, false
	}
	v := r.s32()
	if r.byte() != opEnd || !r.done() || r.err != nil {
		return 0, false
	}
	return uint64(uint32(v)), true
}

// clampLimits returns the body of the module's section id (a table or a
// memory section) with every entry's maximum lowered to bound, and added
// where there is none; with bound 0, the body as it is. A module without
// the section gets nil, which is never emitted.
func (m *module) clampLimits(id byte, bound uint64) ([]byte, error) {
	var sec []byte
	for _, s := range m.sections {
		if s.id == id {
			sec = s.body
		}
	}
	if sec == nil || bound == 0 {
		return sec, nil
	}
	r := reader{b: sec}
	n := r.u32()
	out := appendU32(make([]byte, 0, len(sec)+8), n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		start := r.pos
		if id == secTable { // everything before the limits, as tableType reads it
			if r.pos < len(r.b) && r.b[r.pos] == 0x40 {
				r.bytes(2)
			}
			if t := r.byte(); t == 0x63 || t == 0x64 {
				r.leb(5)
			}
		}
		out = append(out, sec[start:r.pos]...)
		flags, lo, hi, hasMax := r.limitsValues()
		switch {
		case hasMax && hi < lo:
			// invalid as written: left so, for the runtime to refuse
		case !hasMax || hi > bound:
			// Not below the initial size: one over the bound is refused
			// (tables) or left to the runtime to refuse (memories).
			hi = max(bound, lo)
		}
		out = appendU32(append(out, flags|1), uint32(lo))
		out = appendU32(out, uint32(hi))
		if id == secTable && sec[start] == 0x40 { // the table's initializer follows
			at := r.pos
			if err := m.constExpr(&r); err != nil {
				return nil, fmt.Errorf("%s section: %w", sectionNames[id], err)
			}
			out = append(out, sec[at:r.pos]...)
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("%s section: %w", sectionNames[id], r.err)
	}
	return append(out, sec[r.pos:]...), nil
}
