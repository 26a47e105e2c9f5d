package host_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	enc "github.com/ffwasmhost/ffwasmhost/host/internal/wasmenc"
)

// fxGuardModule is a hand-built plugin for the deadline and load-bound
// tests. Functions: 0 describe, 1 scan_tick, 2 _initialize, 3 fib
// ((i64) -> i64, naive and loop-free), 4 twice ((i32) -> (), calls itself
// twice a level, loop-free), 5 spin (a loop), 6 start. The bodies left
// empty do nothing (describe returns the descriptor, scan_tick 0).
type fxGuardModule struct {
	describe, tick, init, start []byte // instructions, without the end
	exportInit                  bool
	hasStart                    bool
	startType                   uint32 // type index of function 6; 0 is () -> ()
	globals                     int    // mutable i32 globals, all 0
}

// Instructions the bodies use.
var (
	fxEnd = []byte{enc.OpEnd}
	// fxSpin loops forever.
	fxSpin = enc.Code(enc.Op(enc.OpLoop, enc.BlockEmpty), enc.Op(enc.OpBr, 0), fxEnd)
)

func fxI64(v int64) []byte { return append([]byte{enc.OpI64Const}, sleb(v)...) }

func sleb(v int64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func (m fxGuardModule) bytes(name string) []byte {
	desc := fxTinyDesc(name)
	const i64LtU, i64Sub, i64Add, i32Sub = 0x54, 0x7D, 0x7C, 0x6B
	describe := m.describe
	if describe == nil {
		describe = fxI64(int64(uint64(enc.DescAt)<<32 | uint64(len(desc))))
	}
	tick := m.tick
	if tick == nil {
		tick = enc.I32Const(0)
	}
	fib := enc.Code(enc.Op(enc.OpLocalGet, 0), fxI64(2), []byte{i64LtU, enc.OpIf, enc.I64},
		enc.Op(enc.OpLocalGet, 0),
		[]byte{enc.OpElse},
		enc.Op(enc.OpLocalGet, 0), fxI64(1), []byte{i64Sub}, enc.Op(enc.OpCall, 3),
		enc.Op(enc.OpLocalGet, 0), fxI64(2), []byte{i64Sub}, enc.Op(enc.OpCall, 3),
		[]byte{i64Add, enc.OpEnd})
	twice := enc.Code(enc.Op(enc.OpLocalGet, 0), enc.Op(enc.OpIf, enc.BlockEmpty),
		enc.Op(enc.OpLocalGet, 0), enc.I32Const(1), []byte{i32Sub}, enc.Op(enc.OpCall, 4),
		enc.Op(enc.OpLocalGet, 0), enc.I32Const(1), []byte{i32Sub}, enc.Op(enc.OpCall, 4),
		fxEnd)
	mod := enc.Module{
		Types: []enc.FuncType{{}, {Results: []byte{enc.I64}}, {Params: []byte{enc.I64}, Results: []byte{enc.I32}},
			{Params: []byte{enc.I64}, Results: []byte{enc.I64}}, {Params: []byte{enc.I32}}},
		Memories: [][]byte{{0x00, 1}},
		Exports: []enc.Export{{Name: "memory", Kind: enc.KindMemory}, {Name: "describe", Kind: enc.KindFunc, Index: 0},
			{Name: "scan_tick", Kind: enc.KindFunc, Index: 1}},
		Funcs: []enc.Func{
			{Code: append(describe, enc.OpEnd)}, {Code: append(tick, enc.OpEnd)}, {Code: append(m.init, enc.OpEnd)},
			{Code: append(fib, enc.OpEnd)}, {Code: append(twice, enc.OpEnd)},
			{Code: append(fxSpin, enc.OpEnd)}, {Code: append(m.start, enc.OpEnd)},
		},
		TypeOf: []uint32{1, 2, 0, 3, 4, 0, m.startType},
	}
	for range m.globals {
		mod.Globals = append(mod.Globals, enc.Global{Type: enc.I32, Mutable: true, Init: enc.I32Const(0)})
	}
	if m.exportInit {
		mod.Exports = append(mod.Exports, enc.Export{Name: "_initialize", Kind: enc.KindFunc, Index: 2})
	}
	if m.hasStart {
		start := uint32(6)
		mod.Start = &start
	}
	data := append([]byte{1, 0x00}, enc.I32Const(enc.DescAt)...)
	data = append(enc.AppendU32(append(data, enc.OpEnd), uint32(len(desc))), desc...)
	mod.Extra = []enc.Section{{ID: enc.SecData, Body: data}}
	return mod.Encode()
}

// fxGuardEngine is an engine of its own, with its compilation cache in
// memory (a module compiles afresh) and the load deadline given.
func fxGuardEngine(t *testing.T, loadTimeout time.Duration) *host.Engine {
	t.Helper()
	eng, err := host.NewEngine(host.EngineConfig{LoadTimeout: loadTimeout, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close(context.Background()) })
	return eng
}

// TestLoadRunsEveryEntryPointUnderTheDeadline loads modules whose start
// function, _initialize or describe spins: each is refused once the load
// deadline passes, with an error naming the file.
func TestLoadRunsEveryEntryPointUnderTheDeadline(t *testing.T) {
	t.Parallel()
	eng := fxGuardEngine(t, 300*time.Millisecond)
	for _, tc := range []struct {
		name string
		mod  fxGuardModule
		want string
	}{
		{"start spins", fxGuardModule{hasStart: true, start: fxSpin}, "start instance: start function"},
		{"start recurses without loops", fxGuardModule{hasStart: true, start: enc.Code(fxI64(60), enc.Op(enc.OpCall, 3), enc.Op(enc.OpDrop))}, "start instance: start function"},
		{"_initialize spins", fxGuardModule{exportInit: true, init: fxSpin}, "start instance: _initialize"},
		{"describe recurses", fxGuardModule{describe: enc.Code(enc.I32Const(62), enc.Op(enc.OpCall, 4), fxI64(0))}, "describe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := strings.ReplaceAll(tc.name, " ", "_") + ".wasm"
			start := time.Now()
			_, err := eng.LoadBytes(context.Background(), file, tc.mod.bytes("guard"), host.Limits{})
			fxWantErr(t, err, []error{host.ErrTimeout}, "load plugin "+file, tc.want, "not done within the load deadline of 300ms")
			if d := time.Since(start); d > fxSlowBound {
				t.Errorf("the load took %v", d)
			}
		})
	}
}

// TestStartFunctionRunsBeforeInitialize checks that a module's start
// function runs once per instance, before _initialize: start sets global
// 0, which _initialize and scan_tick require.
func TestStartFunctionRunsBeforeInitialize(t *testing.T) {
	t.Parallel()
	trapUnlessSet := enc.Code(enc.Op(enc.OpGlobalGet, 0), []byte{enc.OpI32Eqz}, enc.Op(enc.OpIf, enc.BlockEmpty), []byte{enc.OpUnreachable}, fxEnd)
	m := fxGuardModule{
		globals: 1, hasStart: true, exportInit: true,
		start: enc.Code(enc.I32Const(1), enc.Op(enc.OpGlobalSet, 0)),
		init:  trapUnlessSet,
		tick:  enc.Code(trapUnlessSet, enc.I32Const(0)),
	}
	p, err := fxGuardEngine(t, 0).LoadBytes(context.Background(), "start.wasm", m.bytes("start"), host.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	if p.Name() != "start" {
		t.Errorf("name %q", p.Name())
	}
}

// TestLoadRefuses covers what the rewrite refuses, as the host reports
// it: an invalid module the rewrite would make valid, and every load
// bound, each named with its value and limit.
func TestLoadRefuses(t *testing.T) {
	t.Parallel()
	eng := fxGuardEngine(t, 0)
	deep := enc.Code(enc.Op(enc.OpBlock, enc.BlockEmpty), enc.Op(enc.OpBlock, enc.BlockEmpty), fxEnd, fxEnd)
	for _, tc := range []struct {
		name string
		mod  fxGuardModule
		lim  host.Limits
		want string
	}{
		{"global.set of the flag", fxGuardModule{tick: enc.Code(enc.I32Const(0), enc.Op(enc.OpGlobalSet, 0), enc.I32Const(0))}, host.Limits{},
			"read module: code section: function body 1: instruction at offset 3: global index 0 out of range (the module has 0 globals)"},
		{"start function with a parameter", fxGuardModule{hasStart: true, startType: 4}, host.Limits{},
			"read module: start section: function 6 has 1 parameters and 0 results, a start function has none"},
		{"a type index out of range, on which wazero panics", fxGuardModule{startType: 99}, host.Limits{},
			"read module: function section: function 6: type index 99 out of range (the module has 5 types)"},
		{"functions", fxGuardModule{}, host.Limits{MaxFunctions: 6}, "function count 7 exceeds the max-functions bound 6"},
		{"function bytes", fxGuardModule{}, host.Limits{MaxFunctionBytes: 20}, "exceeds the max-function-bytes bound 20"},
		{"nesting", fxGuardModule{init: deep}, host.Limits{MaxNesting: 1}, "block nesting 2 exceeds the max-nesting bound 1"},
		{"code bytes", fxGuardModule{}, host.Limits{MaxCodeBytes: 100}, "exceeds the max-code-bytes bound 100"},
		{"block work", fxGuardModule{}, host.Limits{MaxBlockWork: 10}, "exceeds the max-block-work bound 10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := eng.LoadBytes(context.Background(), "refused.wasm", tc.mod.bytes("refused"), tc.lim)
			fxWantErr(t, err, nil, "load plugin refused.wasm: ", tc.want)
		})
	}
	// The locals bounds: a module of its own, with locals.
	locals := func(n uint32, funcs int) []byte {
		m := enc.Module{Types: []enc.FuncType{{}}, Memories: [][]byte{{0x00, 1}}}
		for range funcs {
			m.Funcs = append(m.Funcs, enc.Func{Locals: []enc.Locals{{N: n, Type: enc.I64}}, Code: fxEnd})
		}
		return m.Encode()
	}
	_, err := eng.LoadBytes(context.Background(), "locals.wasm", locals(101, 1), host.Limits{MaxLocals: 100})
	fxWantErr(t, err, nil, "load plugin locals.wasm: ", "locals 101 exceeds the max-locals bound 100")
	_, err = eng.LoadBytes(context.Background(), "locals.wasm", locals(100, 3), host.Limits{MaxTotalLocals: 250})
	fxWantErr(t, err, nil, "load plugin locals.wasm: ", "locals over all functions 300 exceeds the max-total-locals bound 250")
}

// TestLoadRefusesACompilePastTheDeadline loads a module that takes
// wazero far longer to compile than the load deadline allows: the load
// gives up at the deadline, and the compile it abandons finishes on its
// own.
func TestLoadRefusesACompilePastTheDeadline(t *testing.T) {
	t.Parallel()
	// Blocks one after another: wazero's compile time grows with the
	// square of their number in one function.
	seq := enc.Code(enc.Op(enc.OpLocalGet, 0), enc.Op(enc.OpIf, enc.BlockEmpty), fxEnd)
	m := enc.Module{Types: []enc.FuncType{{Params: []byte{enc.I32}}}, Memories: [][]byte{{0x00, 1}}}
	for range 4 { // within the block work bound: a file that loads, given time
		m.Funcs = append(m.Funcs, enc.Func{Code: append(bytesRepeat(seq, 4000), enc.OpEnd)})
	}
	eng := fxGuardEngine(t, 20*time.Millisecond)
	start := time.Now()
	_, err := eng.LoadBytes(context.Background(), "slow_compile.wasm", m.Encode(), host.Limits{})
	fxWantErr(t, err, nil, "load plugin slow_compile.wasm: compile: not done within the load deadline of 20ms")
	if d := time.Since(start); d > fxSlowBound {
		t.Errorf("the load took %v", d)
	}
	if errors.Is(err, host.ErrTimeout) {
		t.Errorf("a compile past the deadline is not a tick timeout: %v", err)
	}
}

func bytesRepeat(b []byte, n int) []byte { return []byte(strings.Repeat(string(b), n)) }
