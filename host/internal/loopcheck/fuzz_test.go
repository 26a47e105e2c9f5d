package loopcheck_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/ffwasmhost/ffwasmhost/host/internal/loopcheck"
	enc "github.com/ffwasmhost/ffwasmhost/host/internal/wasmenc"
)

// The fuzz targets check the rewrite in both directions against wazero,
// with the features the host's runtime has (wazero's defaults, core 2.0):
//
//   - wazero accepts the original: Instrument accepts it (unless a load
//     bound refuses it), wazero accepts the output, and the output behaves
//     the same on a run that ends;
//   - wazero refuses the original: Instrument refuses it, or wazero refuses
//     the output.
//
// They compile with wazero's interpreter, which validates a module with
// the same code as the compiler (decoding and validation are the
// runtime's, before either engine sees the module) and compiles far
// faster.
//
// Run each for a while, one process at a time:
//
//	go test -run '^$' -fuzz '^FuzzInstrument$' -fuzztime 20m -parallel 1 ./host/internal/loopcheck/

// oracle is wazero, as the fuzz targets consult it.
type oracle struct {
	ctx context.Context
	rt  wazero.Runtime
}

func newOracle(f *testing.F) *oracle {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	f.Cleanup(func() { rt.Close(ctx) })
	return &oracle{ctx, rt}
}

// valid compiles wasm, reporting a panic of wazero's as an error: wazero
// v1.12 panics on some malformed modules (a truncated (ref null ht) local
// declaration), which Instrument refuses before wazero sees them.
func (o *oracle) valid(wasm []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("wazero panicked: %v", p)
		}
	}()
	m, err := o.rt.CompileModule(o.ctx, wasm)
	if err == nil {
		m.Close(o.ctx)
	}
	return err
}

// check is the property every target checks, for a module wasm. With
// raw set, wasm is arbitrary bytes, which wazero may decode into
// allocations of gigabytes (a count or a length read from garbage): then
// when Instrument refuses the bytes before their code, or finds them
// malformed, wazero is not asked.
func (o *oracle) check(t *testing.T, wasm []byte, raw bool) {
	out, ierr := loopcheck.Instrument(wasm, loopcheck.Bounds{})
	if ierr != nil && raw && (malformed(ierr) || !strings.HasPrefix(ierr.Error(), "code section: ")) {
		// Refused before the code section: some section past the one
		// refused may hold a count that wazero would allocate. (The
		// structured target covers those refusals with wazero.)
		return
	}
	if ierr != nil && (documented(ierr) || risky(wasm)) {
		// refused for a documented reason, or a module whose counts could
		// make wazero allocate gigabytes: it would not get to wazero
		return
	}
	werr := o.valid(wasm)
	switch {
	case werr == nil && ierr != nil:
		t.Fatalf("wazero accepts the module but Instrument refuses it: %v", ierr)
	case werr != nil && ierr == nil && strings.HasPrefix(werr.Error(), "wazero panicked"):
		t.Fatalf("Instrument accepts a module on which wazero panics: %v", werr)
	case ierr != nil:
		return
	}
	oerr := o.valid(out)
	switch {
	case werr == nil && oerr != nil:
		t.Fatalf("wazero accepts the module but not its instrumented copy: %v", oerr)
	case werr != nil && oerr == nil:
		t.Fatalf("wazero refuses the module (%v) but accepts its instrumented copy", werr)
	case werr == nil:
		sameBehavior(t, wasm, out)
	}
}

// documented reports whether err refuses a module that may be valid, for
// a reason the ABI documents: a load bound, a reserved export name, no
// memory of its own or imported.
func documented(err error) bool {
	for _, s := range []string{" bound ", "reserved for the host", "the module has no memory", "run past the end of table", "may import only functions"} {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

// malformed reports whether err says the bytes do not decode.
func malformed(err error) bool {
	for _, s := range []string{"unexpected end of data", "LEB128", "u32 out of range", "bytes after the last", "unknown section id"} {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

// risky reports whether wazero could allocate out of proportion to wasm's
// size when decoding it: a vector longer than its section, an element
// section (whose segments hold vectors of their own), a name section, or a
// function declaring over 50,000 locals. Instrument refuses such a module
// before wazero sees it, so the targets skip wazero for those it refuses.
func risky(wasm []byte) bool {
	if len(wasm) < 8 {
		return false
	}
	for pos := 8; pos < len(wasm); {
		id := wasm[pos]
		size, n := binary.Uvarint(wasm[pos+1:])
		if n <= 0 || size > uint64(len(wasm)-pos-1-n) {
			return false // wazero stops at the bad size
		}
		body := wasm[pos+1+n : pos+1+n+int(size)]
		pos += 1 + n + int(size)
		count, k := binary.Uvarint(body)
		switch {
		case id == enc.SecElement, id == enc.SecCustom && bytes.HasPrefix(body, []byte("\x04name")):
			return true
		case id != enc.SecCustom && (k <= 0 || id != enc.SecStart && id != enc.SecDataCount && count > uint64(len(body))):
			return true // wazero may read a count from what follows
		case id == enc.SecCode && k > 0:
			for i, b := uint64(0), body[k:]; i < count && len(b) > 0; i++ {
				size, n := binary.Uvarint(b)
				if n <= 0 || size > uint64(len(b)-n) {
					break
				}
				fn := b[n : n+int(size)]
				b = b[n+int(size):]
				groups, m := binary.Uvarint(fn)
				locals := uint64(0)
				for j := uint64(0); j < groups && m > 0 && m < len(fn); j++ {
					c, l := binary.Uvarint(fn[m:])
					if l <= 0 {
						break
					}
					locals += c
					m += l + 1
				}
				if locals > 50_000 {
					return true
				}
			}
		}
	}
	return false
}

// sameBehavior runs every exported function without parameters of the
// original and of the instrumented module, each on a fresh instance, and
// compares what they return, or that they trap, when both runs end within
// a few milliseconds. Modules with imports are not run.
func sameBehavior(t *testing.T, orig, out []byte) {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCloseOnContextDone(true))
	defer rt.Close(ctx)
	a, err := rt.CompileModule(ctx, orig)
	if err != nil || len(a.ImportedFunctions())+len(a.ImportedMemories()) > 0 || len(a.ExportedFunctions()) == 0 {
		return
	}
	b, err := rt.CompileModule(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	for name, def := range a.ExportedFunctions() {
		if len(def.ParamTypes()) > 0 {
			continue
		}
		want, werr, wdone := run(ctx, rt, a, name, false)
		got, gerr, gdone := run(ctx, rt, b, name, true)
		if !wdone || !gdone {
			continue
		}
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%s: original %v, %v; instrumented %v, %v", name, want, werr, got, gerr)
		}
		if werr == nil && !equalResults(want, got) {
			t.Fatalf("%s: original returns %v, instrumented %v", name, want, got)
		}
	}
}

// run instantiates m (calling its start function as the host does, for
// an instrumented module) and calls name, giving up after a few
// milliseconds. done is false if it gave up.
func run(ctx context.Context, rt wazero.Runtime, m wazero.CompiledModule, name string, instrumented bool) (res []uint64, err error, done bool) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	mod, err := rt.InstantiateModule(ctx, m, wazero.NewModuleConfig().WithName(""))
	if err == nil && instrumented {
		if start := mod.ExportedFunction(loopcheck.StartName); start != nil {
			_, err = start.Call(ctx)
		}
	}
	if err == nil {
		res, err = mod.ExportedFunction(name).Call(ctx)
	}
	if mod != nil {
		mod.Close(context.Background())
	}
	if ctx.Err() != nil {
		return nil, nil, false
	}
	return res, err, true
}

// equalResults compares results bit for bit, except NaNs, whose payloads
// may differ between runs of the same code.
func equalResults(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(isNaN64(a[i]) && isNaN64(b[i])) && !(isNaN32(a[i]) && isNaN32(b[i])) {
			return false
		}
	}
	return true
}

func isNaN64(v uint64) bool {
	return v&0x7FF0000000000000 == 0x7FF0000000000000 && v&0xFFFFFFFFFFFFF != 0
}
func isNaN32(v uint64) bool { return v>>32 == 0 && v&0x7F800000 == 0x7F800000 && v&0x7FFFFF != 0 }

// FuzzInstrument fuzzes whole modules, seeded with the fixtures and the
// attack shapes.
func FuzzInstrument(f *testing.F) {
	for _, name := range []string{"basic", "noglobal", "recursion", "start"} {
		f.Add(fixture(f, name))
	}
	for _, r := range refusals {
		f.Add(r.wasm)
	}
	f.Add(hiddenLoopModule())
	for _, w := range worstCases {
		f.Add(w.build(loopcheck.Bounds{Functions: 3, FunctionBytes: 64, Locals: 3, TotalLocals: 9, Nesting: 4, CodeBytes: 256}))
	}
	o := newOracle(f)
	f.Fuzz(func(t *testing.T, wasm []byte) {
		if len(wasm) > 1<<16 {
			return
		}
		o.check(t, wasm, true)
	})
}

// FuzzInstrumentBody fuzzes one function body, of type (i32) -> i32,
// inside a fixed module with a global, a table and a memory. It found
// that a body declaring four billion locals makes wazero allocate them all
// (hence the locals bound) and that Instrument refused (ref null ht)
// locals.
func FuzzInstrumentBody(f *testing.F) {
	for _, body := range [][]byte{
		{0, 0x03, 0x40, 0x0C, 0, 0x0B, 0x0B},                                                 // loop br 0 end
		{1, 1, 0x7F, 0x03, 0x40, 0x20, 0, 0x0D, 0, 0x0B, 0x0B},                               // loop with br_if
		{0, 0x02, 0x40, 0x03, 0x7F, 0x41, 1, 0x0B, 0x1A, 0x0B, 0x0B},                         // loop with a result
		{0, 0x41, 0, 0xFC, 0x0B, 0, 0x1A, 0x0B},                                              // 0xfc opcode
		{0, 0xFD, 0x0C, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0x1A, 0x0B},   // v128.const
		{0, 0x41, 1, 0x24, 1, 0x20, 0, 0x0B},                                                 // global.set 1: past the module's
		{0, 0x23, 2, 0x0B},                                                                   // global.get 2
		{0, 0x20, 0, 0x41, 1, 0x6B, 0x10, 0, 0x20, 0, 0x6A, 0x0B},                            // recursion, then more code
		{0, 0x20, 0, 0x04, 0x7F, 0x20, 0, 0x41, 1, 0x6B, 0x10, 0, 0x05, 0x41, 7, 0x0B, 0x0B}, // if/else with a call
		{0, 0x20, 0, 0x0E, 2, 0, 1, 0, 0x0B},                                                 // br_table
		{0, 0x41, 0, 0x20, 0, 0x11, 0, 0, 0x0B},                                              // call_indirect
		{0, 0x0B, 0x0B},                                                                      // code after the end
		{1, 0xD8, 0xD8, 0xD8, 0xD8, 0x0F, 0x7F, 0x0B},                                        // four billion locals
	} {
		f.Add(body)
	}
	o := newOracle(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > 1<<12 {
			return
		}
		m := enc.Module{
			Types:    []enc.FuncType{{Params: []byte{enc.I32}, Results: []byte{enc.I32}}, {Results: []byte{enc.I32}}},
			Memories: [][]byte{{0x00, 1}},
			Globals:  []enc.Global{{Type: enc.I32, Mutable: true, Init: enc.I32Const(3)}},
			Funcs:    []enc.Func{{Body: body}},
			Extra:    []enc.Section{{ID: enc.SecTable, Body: []byte{1, enc.FuncRef, 0, 1}, Before: enc.SecMemory}},
		}
		o.check(t, m.Encode(), false)
		if len(body) < 64 { // and run it: a second function calls it with 5
			m.Funcs = append(m.Funcs, enc.Func{Code: enc.Code(enc.I32Const(5), enc.Op(enc.OpCall, 0), enc.Op(enc.OpEnd))})
			m.TypeOf = []uint32{0, 1}
			m.Exports = []enc.Export{{Name: "run", Kind: enc.KindFunc, Index: 1}}
			o.check(t, m.Encode(), false)
		}
	})
}

// FuzzInstrumentStructure builds modules from the fuzzer's bytes with the
// encoder, choosing among the shapes that reach the rewrite's refusals:
// global indices in code, initializers, element and data offsets and
// exports, reserved export names, start functions of any type, and code
// with loops, calls and branches.
func FuzzInstrumentStructure(f *testing.F) {
	for _, seed := range []string{"", "\x00\x01\x02\x03", "\x05\x05\x05\x05\x05\x05\x05\x05", "\xff\x00\xff\x00\x13\x37", "start\x00\x00\x00\x01global\x02"} {
		f.Add([]byte(seed))
	}
	o := newOracle(f)
	f.Fuzz(func(t *testing.T, seed []byte) {
		if len(seed) > 256 {
			return
		}
		o.check(t, structured(seed), false)
	})
}

// structured builds a module from seed, one choice per byte (0 once the
// bytes run out).
func structured(seed []byte) []byte {
	pick := func(n int) int {
		if len(seed) == 0 || n <= 0 {
			return 0
		}
		v := int(seed[0]) % n
		seed = seed[1:]
		return v
	}
	m := enc.Module{
		Types: []enc.FuncType{{}, {Params: []byte{enc.I32}, Results: []byte{enc.I32}}, {Results: []byte{enc.I32}}},
	}
	if pick(4) != 0 {
		m.Memories = [][]byte{{0x00, byte(pick(3))}}
	}
	imported := pick(3)
	for range imported {
		m.Imports = append(m.Imports, enc.Import{Module: "env", Name: "g", Kind: enc.KindGlobal, Desc: []byte{enc.I32, 0}})
	}
	gidx := func() uint32 { return uint32(pick(6)) } // often past the module's globals
	for range pick(3) {
		init := enc.I32Const(int32(pick(100)))
		if pick(3) == 0 {
			init = enc.Op(enc.OpGlobalGet, gidx())
		}
		m.Globals = append(m.Globals, enc.Global{Type: enc.I32, Mutable: pick(2) == 0, Init: init})
	}
	nfuncs := 1 + pick(3)
	for range nfuncs {
		var code []byte
		for range pick(8) {
			switch pick(10) {
			case 0:
				code = append(code, enc.Code(enc.Op(enc.OpGlobalGet, gidx()), enc.Op(enc.OpDrop))...)
			case 1:
				code = append(code, enc.Code(enc.I32Const(1), enc.Op(enc.OpGlobalSet, gidx()))...)
			case 2:
				code = append(code, enc.Code(enc.Op(enc.OpLoop, enc.BlockEmpty), enc.I32Const(0), enc.Op(enc.OpBrIf, 0), enc.Op(enc.OpEnd))...)
			case 3:
				code = append(code, enc.Op(enc.OpCall, uint32(pick(nfuncs+1)))...)
			case 4:
				code = append(code, enc.Code(enc.I32Const(int32(pick(3))), enc.Op(enc.OpIf, enc.BlockEmpty), enc.Op(enc.OpNop), enc.Op(enc.OpElse), enc.Op(enc.OpReturn), enc.Op(enc.OpEnd))...)
			case 5:
				code = append(code, enc.Code(enc.Op(enc.OpBlock, enc.BlockEmpty), enc.Op(enc.OpBr, uint32(pick(3))), enc.Op(enc.OpEnd))...)
			case 6:
				code = append(code, enc.OpUnreachable)
			case 7:
				code = append(code, enc.Op(enc.OpNop)...)
			case 8:
				code = append(code, byte(pick(256)))
			default:
				code = append(code, enc.I32Const(int32(pick(1000)))...)
			}
		}
		m.Funcs = append(m.Funcs, enc.Func{Code: append(code, enc.OpEnd)})
		m.TypeOf = append(m.TypeOf, 0)
	}
	m.TypeOf[0] = uint32(pick(3)) // a start function of any type

	names := []string{"a", "b", loopcheck.GlobalName, loopcheck.StartName, "__ffhost_x", "__ffhos"}
	for range pick(4) {
		kind := []byte{enc.KindFunc, enc.KindGlobal, enc.KindMemory}[pick(3)]
		m.Exports = append(m.Exports, enc.Export{Name: names[pick(len(names))], Kind: kind, Index: uint32(pick(4))})
	}
	if pick(2) == 0 {
		s := uint32(pick(nfuncs + 1))
		m.Start = &s
	}
	if pick(3) == 0 { // an active data segment at a global's value
		off := enc.I32Const(0)
		if pick(2) == 0 {
			off = enc.Op(enc.OpGlobalGet, gidx())
		}
		m.Extra = append(m.Extra, enc.Section{ID: enc.SecData, Body: append(append([]byte{1, 0}, off...), enc.OpEnd, 1, 'x')})
	}
	if pick(3) == 0 { // a table and an element segment
		off := enc.I32Const(0)
		if pick(2) == 0 {
			off = enc.Op(enc.OpGlobalGet, gidx())
		}
		seg := append(append([]byte{1, 0}, off...), enc.OpEnd, 1, 0)
		if pick(2) == 0 { // an expression: ref.func or global.get
			seg = append(append([]byte{1, 4}, off...), enc.OpEnd, 1)
			seg = append(seg, enc.Op(enc.OpGlobalGet, gidx())...)
			seg = append(seg, enc.OpEnd)
		}
		m.Extra = append(m.Extra,
			enc.Section{ID: enc.SecTable, Body: []byte{1, enc.FuncRef, 0, 4}, Before: enc.SecMemory},
			enc.Section{ID: enc.SecElement, Body: seg, Before: enc.SecDataCount})
	}
	if pick(8) == 0 { // a section out of place
		m.Extra = append(m.Extra, enc.Section{ID: byte(1 + pick(12)), Body: []byte{0}, Before: byte(pick(13))})
	}
	return m.Encode()
}
