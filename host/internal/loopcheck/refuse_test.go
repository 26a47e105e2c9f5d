package loopcheck_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/ffwasmhost/ffwasmhost/host/internal/loopcheck"
	enc "github.com/ffwasmhost/ffwasmhost/host/internal/wasmenc"
)

// small is a valid module with one function (type 0, () -> ()) of code,
// a memory and no globals.
func small(code ...[]byte) enc.Module {
	return enc.Module{
		Types:    []enc.FuncType{{}, {Params: []byte{enc.I32}}},
		Memories: [][]byte{{0x00, 1}},
		Funcs:    []enc.Func{{Code: append(enc.Code(code...), enc.OpEnd)}},
	}
}

func with(m enc.Module, edit func(*enc.Module)) []byte {
	edit(&m)
	return m.Encode()
}

func ptr(v uint32) *uint32 { return &v }

// refusals are modules Instrument must refuse, with what the error says.
// Most are invalid modules that the rewrite would otherwise make valid:
// each is also checked to be one that wazero refuses as it is.
var refusals = []struct {
	name    string
	wasm    []byte
	want    string
	invalid bool // wazero refuses it too
}{
	{"empty", nil, "bad magic", true},
	{"not wasm", []byte("#!/bin/sh\necho hi\n"), "bad magic", true},
	{"version 2", []byte("\x00asm\x02\x00\x00\x00"), "unsupported binary version", true},
	{"truncated", small().Encode()[:20], "unexpected end of data", true},
	{"unknown section", enc.AppendSection([]byte("\x00asm\x01\x00\x00\x00"), 99, nil), "unknown section id 99", true},
	{"no memory", with(small(), func(m *enc.Module) { m.Memories = nil }), "no memory", false},
	{"unknown opcode", small([]byte{0xFF}).Encode(), "function body 0: instruction at offset 1: unknown opcode 0xff", true},
	{"unknown 0xfc opcode", small([]byte{0xFC, 99}).Encode(), "unknown opcode 0xfc 99", true},

	// Globals: the rewrite appends the flag and the budget, which must not
	// become what a reference past the module's own globals reaches.
	{"global.set 0 without globals", small(enc.I32Const(1), enc.Op(enc.OpGlobalSet, 0)).Encode(),
		"function body 0: instruction at offset 3: global index 0 out of range (the module has 0 globals)", true},
	{"global.set 1 without globals", small(enc.I32Const(1), enc.Op(enc.OpGlobalSet, 1)).Encode(), "global index 1 out of range", true},
	{"global.get past an import", with(small(enc.Op(enc.OpGlobalGet, 1), enc.Op(enc.OpDrop)), func(m *enc.Module) {
		m.Imports = []enc.Import{{Module: "env", Name: "g", Kind: enc.KindGlobal, Desc: []byte{enc.I32, 0}}}
	}), "global index 1 out of range (the module has 1 globals)", true},
	{"global.get in dead code", small(enc.Op(enc.OpUnreachable), enc.Op(enc.OpGlobalGet, 0), enc.Op(enc.OpDrop)).Encode(), "global index 0 out of range", true},
	{"global initializer", with(small(), func(m *enc.Module) {
		m.Globals = []enc.Global{{Type: enc.I32, Init: enc.Op(enc.OpGlobalGet, 1)}}
	}), "global section: global 0: global.get 1: global index out of range (the module has 1 globals)", true},
	{"exported global", with(small(), func(m *enc.Module) {
		m.Exports = []enc.Export{{Name: "flag", Kind: enc.KindGlobal, Index: 0}}
	}), `export section: export 0: "flag": global index 0 out of range`, true},
	{"element segment offset", with(small(), func(m *enc.Module) {
		m.Extra = []enc.Section{
			{ID: enc.SecTable, Body: []byte{1, enc.FuncRef, 0, 1}, Before: enc.SecMemory},
			{ID: enc.SecElement, Body: []byte{1, 0, enc.OpGlobalGet, 0, enc.OpEnd, 1, 0}, Before: enc.SecCode},
		}
	}), "element section: element segment 0: offset: global.get 0: global index out of range", true},
	{"element init expression", with(small(), func(m *enc.Module) {
		m.Extra = []enc.Section{
			{ID: enc.SecElement, Body: []byte{1, 5, enc.FuncRef, 1, enc.OpGlobalGet, 0, enc.OpEnd}, Before: enc.SecCode},
		}
	}), "element segment 0: element 0: global.get 0: global index out of range", true},
	{"data segment offset", with(small(), func(m *enc.Module) {
		m.Extra = []enc.Section{{ID: enc.SecData, Body: []byte{1, 0, enc.OpGlobalGet, 1, enc.OpEnd, 1, 'x'}}}
	}), "data section: data segment 0: offset: global.get 1: global index out of range", true},

	// Names the host adds.
	{"exports the flag's name", with(small(), func(m *enc.Module) {
		m.Exports = []enc.Export{{Name: loopcheck.GlobalName, Kind: enc.KindFunc}}
	}), `name "__ffhost_interrupt": the prefix __ffhost_ is reserved`, false},
	{"exports the start name", with(small(), func(m *enc.Module) {
		m.Exports = []enc.Export{{Name: loopcheck.StartName, Kind: enc.KindFunc}}
	}), `name "__ffhost_start"`, false},
	{"exports another reserved name", with(small(), func(m *enc.Module) {
		m.Exports = []enc.Export{{Name: "__ffhost_budget", Kind: enc.KindFunc}}
	}), "reserved for the host", false},

	// Sections: the rewrite adds a global and an export section where
	// the module has none, and drops the start section.
	{"duplicate export section", with(small(), func(m *enc.Module) {
		m.Exports = []enc.Export{{Name: "a", Kind: enc.KindFunc}}
		m.Extra = []enc.Section{{ID: enc.SecExport, Body: []byte{0}, Before: enc.SecCode}}
	}), "export section at offset", true},
	{"global section after exports", with(small(), func(m *enc.Module) {
		m.Extra = []enc.Section{{ID: enc.SecGlobal, Body: []byte{0}, Before: enc.SecCode}}
		m.Exports = []enc.Export{{Name: "a", Kind: enc.KindFunc}}
	}), "global section at offset", true},
	{"code before function", with(small(), func(m *enc.Module) {
		m.Extra = []enc.Section{{ID: enc.SecCode, Body: []byte{0}, Before: enc.SecType}}
		m.Funcs = nil
	}), "type section at offset", true},
	{"start function with a parameter", with(small(), func(m *enc.Module) {
		m.TypeOf = []uint32{1}
		m.Start = ptr(0)
	}), "start section: function 0 has 1 parameters and 0 results", true},
	{"ref.func of the start function, declared by nothing else", with(small([]byte{0xD2, 0}, enc.Op(enc.OpDrop)), func(m *enc.Module) {
		m.Start = ptr(0) // the rewrite exports it: that must not declare it
	}), "function body 0: instruction at offset 1: ref.func 0: the function is not declared", true},
	// wazero v1.12 panics on these, where it should refuse them.
	{"function type index out of range", with(small(), func(m *enc.Module) { m.TypeOf = []uint32{48} }),
		"function section: function 0: type index 48 out of range (the module has 2 types)", true},
	{"call of a function out of range", small(enc.Op(enc.OpCall, 5)).Encode(),
		"function body 0: instruction at offset 1: function index 5 out of range (the module has 1)", true},
	{"call_indirect of a type out of range", with(small(enc.I32Const(0), enc.Op(enc.OpCallInd, 9, 0)), func(m *enc.Module) {
		m.Extra = []enc.Section{{ID: enc.SecTable, Body: []byte{1, enc.FuncRef, 0, 1}, Before: enc.SecMemory}}
	}), "type index 9 out of range (the module has 2)", true},
	{"start function index out of range", with(small(), func(m *enc.Module) { m.Start = ptr(1) }),
		"start section: function index 1 out of range", true},
	{"start section with trailing bytes", with(small(), func(m *enc.Module) {
		m.Extra = []enc.Section{{ID: 8, Body: []byte{0, 0}, Before: enc.SecCode}}
	}), "start section: 1 bytes after the function index", true},
	{"more bodies than functions", with(small(), func(m *enc.Module) {
		m.Extra = []enc.Section{{ID: enc.SecFunction, Body: []byte{1, 0}, Before: enc.SecMemory}}
		m.Funcs = nil
		m.Extra = append(m.Extra, enc.Section{ID: enc.SecCode, Body: []byte{2, 2, 0, enc.OpEnd, 2, 0, enc.OpEnd}, Before: 0})
	}), "2 function bodies for 1 functions declared", true},
	{"functions without code", with(small(), func(m *enc.Module) {
		m.Extra = []enc.Section{{ID: enc.SecFunction, Body: []byte{1, 0}, Before: enc.SecMemory}}
		m.Funcs = nil
	}), "1 functions declared and no code section", true},
	{"global section short of its count", with(small(), func(m *enc.Module) {
		// two globals declared, one encoded: appending the flag and
		// the budget must not complete it
		m.Extra = []enc.Section{{ID: enc.SecGlobal, Body: []byte{2, enc.I32, 0, enc.OpI32Const, 0, enc.OpEnd}, Before: enc.SecCode}}
	}), "global section: global 1: unexpected end of data", true},
	{"bytes after the last body", with(small(), func(m *enc.Module) {
		m.Funcs = nil
		m.Extra = []enc.Section{
			{ID: enc.SecFunction, Body: []byte{1, 0}, Before: enc.SecMemory},
			{ID: enc.SecCode, Body: []byte{1, 2, 0, enc.OpEnd, enc.OpEnd}},
		}
	}), "1 bytes after the last function body", true},
	{"code after the function's end", small([]byte{enc.OpEnd, enc.OpNop}).Encode(), "code after the function's end", true},
	{"no end", with(small(), func(m *enc.Module) {
		m.Funcs[0].Code = enc.Code(enc.Op(enc.OpBlock, enc.BlockEmpty), enc.Op(enc.OpEnd))
	}), "function body 0: no end of the function at offset 4", true},
	{"end inside an immediate", with(small(), func(m *enc.Module) {
		m.Funcs[0].Code = enc.I32Const(11) // 0x41 0x0b: the 0x0b is the constant
	}), "no end", true},
}

func TestInstrumentRefuses(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loopcheck.Instrument(tc.wasm, loopcheck.Bounds{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Instrument = %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if _, werr := rt.CompileModule(ctx, tc.wasm); tc.invalid && werr == nil {
				t.Errorf("wazero accepts the module: the test case is not the invalid module it means to be")
			}
		})
	}
}

// TestInstrumentRefusesPastTheBounds checks each bound at its limit and
// one past it, and that the error names the bound, the value and the
// limit.
func TestInstrumentRefusesPastTheBounds(t *testing.T) {
	fn := func(locals uint32, code ...[]byte) enc.Func {
		f := enc.Func{Code: append(enc.Code(code...), enc.OpEnd)}
		if locals > 0 {
			f.Locals = []enc.Locals{{N: locals, Type: enc.I32}}
		}
		return f
	}
	funcs := func(n int, f enc.Func) []byte {
		m := small()
		m.Funcs = nil
		for range n {
			m.Funcs = append(m.Funcs, f)
		}
		return m.Encode()
	}
	nested := func(n int) enc.Func {
		return fn(0, bytes.Repeat([]byte{enc.OpBlock, enc.BlockEmpty}, n), bytes.Repeat([]byte{enc.OpEnd}, n))
	}
	// The size of the entry check in front of a function without locals
	// whose body has fewer than 64*CostUnit bytes.
	entry := entrySize(t)
	for _, tc := range []struct {
		name    string
		bounds  loopcheck.Bounds
		atLimit []byte
		over    []byte
		want    string
	}{
		{"functions", loopcheck.Bounds{Functions: 3}, funcs(3, fn(0)), funcs(4, fn(0)),
			"function section: function count 4 exceeds the max-functions bound 3"},
		{"function bytes before the checks", loopcheck.Bounds{FunctionBytes: 1000}, funcs(1, fn(0, bytes.Repeat([]byte{enc.OpNop}, 1000-entry-2))),
			funcs(1, fn(0, bytes.Repeat([]byte{enc.OpNop}, 1000))),
			"function body 0: size 1002 exceeds the max-function-bytes bound 1000"},
		{"function bytes with the checks", loopcheck.Bounds{FunctionBytes: 1000}, funcs(1, fn(0, bytes.Repeat([]byte{enc.OpNop}, 1000-entry-2))),
			funcs(1, fn(0, bytes.Repeat([]byte{enc.OpNop}, 1000-entry-1))),
			"function body 0: size with the host's checks 1001 exceeds the max-function-bytes bound 1000"},
		{"locals", loopcheck.Bounds{Locals: 100}, funcs(1, fn(100)), funcs(1, fn(101)),
			"function body 0: locals 101 exceeds the max-locals bound 100"},
		{"four billion locals", loopcheck.Bounds{}, funcs(1, fn(50_000)), funcs(1, fn(1<<32-1)),
			"exceeds the max-locals bound 50000"},
		{"total locals", loopcheck.Bounds{TotalLocals: 300}, funcs(3, fn(100)), funcs(4, fn(100)),
			"function body 3: locals over all functions 400 exceeds the max-total-locals bound 300"},
		{"nesting", loopcheck.Bounds{Nesting: 50}, funcs(1, nested(50)), funcs(1, nested(51)),
			"function body 0: instruction at offset 101: block nesting 51 exceeds the max-nesting bound 50"},
		{"code bytes", loopcheck.Bounds{CodeBytes: 1 + 2*(3+entry)}, funcs(2, fn(0)), funcs(3, fn(0)),
			fmt.Sprintf("function body 2: code section size with the host's checks %d exceeds the max-code-bytes bound %d", 1+3*(3+entry), 1+2*(3+entry))},
		{"code bytes before the checks", loopcheck.Bounds{CodeBytes: 10}, nil, funcs(4, fn(0)),
			"code section: size 13 exceeds the max-code-bytes bound 10"},
		{"block work", loopcheck.Bounds{BlockWork: 3 * 9}, funcs(3, nested(1)), funcs(4, nested(1)),
			"function body 3: block work 36 exceeds the max-block-work bound 27 (this function has 3 blocks)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.atLimit != nil {
				out, err := loopcheck.Instrument(tc.atLimit, tc.bounds)
				if err != nil {
					t.Fatalf("at the limit: %v", err)
				}
				compile(t, out)
			}
			_, err := loopcheck.Instrument(tc.over, tc.bounds)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("past the limit: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// entrySize is the size of the check the rewrite puts at the entry of a
// function with a short body.
func entrySize(t testing.TB) int {
	t.Helper()
	in := small().Encode()
	out, err := loopcheck.Instrument(in, loopcheck.Bounds{})
	if err != nil {
		t.Fatal(err)
	}
	return len(section(t, out, enc.SecCode)) - len(section(t, in, enc.SecCode))
}
