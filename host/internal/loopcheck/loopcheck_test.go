package loopcheck_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/ffwasmhost/ffwasmhost/host/internal/loopcheck"
	enc "github.com/ffwasmhost/ffwasmhost/host/internal/wasmenc"
)

// fixture returns testdata/name.wasm, assembled from testdata/name.wat.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFixturesMatchTheirSource re-assembles every testdata/*.wat and
// compares the result with the committed .wasm beside it.
func TestFixturesMatchTheirSource(t *testing.T) {
	wat2wasm, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Skip("wat2wasm (wabt) is not on PATH: the committed .wasm fixtures are not re-checked against their .wat")
	}
	sources, _ := filepath.Glob("testdata/*.wat")
	if len(sources) == 0 {
		t.Fatal("no testdata/*.wat")
	}
	for _, src := range sources {
		out := filepath.Join(t.TempDir(), "out.wasm")
		if msg, err := exec.Command(wat2wasm, src, "-o", out).CombinedOutput(); err != nil {
			t.Errorf("wat2wasm %s: %v: %s", src, err, msg)
			continue
		}
		got, _ := os.ReadFile(out)
		want, err := os.ReadFile(strings.TrimSuffix(src, ".wat") + ".wasm")
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s.wasm is not what wat2wasm makes of %s (%v): run wat2wasm %s -o %s.wasm",
				strings.TrimSuffix(src, ".wat"), src, err, src, strings.TrimSuffix(src, ".wat"))
		}
	}
}

// instantiate instruments wasm and instantiates it in a runtime of its own
// with an "env" module exporting g, an i32 global of 7.
func instantiate(t testing.TB, wasm []byte) api.Module {
	t.Helper()
	out, err := loopcheck.Instrument(wasm, loopcheck.Bounds{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	env := enc.Module{
		Globals: []enc.Global{{Type: enc.I32, Init: enc.I32Const(7)}},
		Exports: []enc.Export{{Name: "g", Kind: enc.KindGlobal}},
	}
	if _, err := rt.InstantiateWithConfig(ctx, env.Encode(), wazero.NewModuleConfig().WithName("env")); err != nil {
		t.Fatal(err)
	}
	mod, err := rt.InstantiateWithConfig(ctx, out, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatalf("instantiate instrumented module: %v", err)
	}
	return mod
}

func flagOf(t testing.TB, mod api.Module) api.MutableGlobal {
	t.Helper()
	flag, ok := mod.ExportedGlobal(loopcheck.GlobalName).(api.MutableGlobal)
	if !ok {
		t.Fatalf("no mutable global %q exported", loopcheck.GlobalName)
	}
	return flag
}

// wantStopped waits for a call's error on done and checks it is the trap
// the flag causes.
func wantStopped(t testing.TB, what string, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "unreachable") {
			t.Fatalf("%s stopped with %v, want an unreachable trap", what, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not stop within 30 s of the flag being set", what)
	}
}

func TestInstrumentedModuleRunsAndStops(t *testing.T) {
	for _, tc := range []struct {
		fixture string
		get     uint64
	}{
		{"basic", 42},   // existing globals keep their index
		{"noglobal", 7}, // the imported one too
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			mod := instantiate(t, fixture(t, tc.fixture))
			ctx := context.Background()
			if res, err := mod.ExportedFunction("count").Call(ctx); err != nil || res[0] != 5 {
				t.Fatalf("count() = %v, %v; want 5: the loop must still run", res, err)
			}
			if res, err := mod.ExportedFunction("get").Call(ctx); err != nil || res[0] != tc.get {
				t.Fatalf("get() = %v, %v; want %d", res, err, tc.get)
			}
			flag := flagOf(t, mod)
			if flag.Get() != 0 {
				t.Fatalf("flag starts at %d, want 0", flag.Get())
			}
			done := make(chan error, 1)
			go func() { _, err := mod.ExportedFunction("spin").Call(ctx); done <- err }()
			select {
			case err := <-done:
				t.Fatalf("spin returned %v before the flag was set", err)
			case <-time.After(50 * time.Millisecond):
			}
			flag.Set(1)
			wantStopped(t, "spin", done)
		})
	}
}

// TestSpinningModulesYieldToTheScheduler runs more spinning instances than
// the Go scheduler has Ps: loops, and loop-free recursion. Compiled wasm
// cannot be preempted, so only the inserted yields let the goroutine that
// sets the flags run at all, and let a garbage collection stop the world.
func TestSpinningModulesYieldToTheScheduler(t *testing.T) {
	for _, tc := range []struct {
		name, fixture, fn string
		args              []uint64
	}{
		{"loop", "basic", "spin", nil},
		{"fib(47)", "recursion", "fib", []uint64{47}},
		{"two calls a level, 62 deep", "recursion", "twice", []uint64{62}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
			n := runtime.GOMAXPROCS(0) + 2
			done := make(chan error, n)
			var flags []api.MutableGlobal
			for range n {
				mod := instantiate(t, fixture(t, tc.fixture))
				flags = append(flags, flagOf(t, mod))
				go func() { _, err := mod.ExportedFunction(tc.fn).Call(context.Background(), tc.args...); done <- err }()
			}
			runtime.Gosched()
			time.Sleep(50 * time.Millisecond) // needs a P: the guests must yield one
			runtime.GC()                      // needs every guest to stop at a yield
			for _, f := range flags {
				f.Set(1)
			}
			for range n {
				wantStopped(t, tc.fn, done)
			}
		})
	}
}

// TestStartFunctionIsExportedNotRun checks that the rewrite removes the
// start section, exports its function as StartName, and that a start
// function that spins can be stopped.
func TestStartFunctionIsExportedNotRun(t *testing.T) {
	mod := instantiate(t, fixture(t, "start"))
	ctx := context.Background()
	ran := mod.ExportedFunction("ran")
	if res, _ := ran.Call(ctx); res[0] != 0 {
		t.Fatalf("the start function ran %d times at instantiation, want 0", res[0])
	}
	start := mod.ExportedFunction(loopcheck.StartName)
	if start == nil {
		t.Fatalf("no export %q", loopcheck.StartName)
	}
	if _, err := start.Call(ctx); err != nil {
		t.Fatal(err)
	}
	if res, _ := ran.Call(ctx); res[0] != 1 {
		t.Fatalf("the start function ran %d times, want 1", res[0])
	}
	done := make(chan error, 1)
	go func() { _, err := start.Call(ctx); done <- err }() // the second run spins
	time.Sleep(20 * time.Millisecond)
	flagOf(t, mod).Set(1)
	wantStopped(t, "the start function", done)

	out, _ := loopcheck.Instrument(fixture(t, "basic"), loopcheck.Bounds{})
	if bytes.Contains(out, []byte(loopcheck.StartName)) {
		t.Errorf("a module without a start function exports %q", loopcheck.StartName)
	}
}

func TestInstrumentIsDeterministicAndKeepsOtherSections(t *testing.T) {
	m := basicModule()
	m.Extra = []enc.Section{{ID: enc.SecCustom, Body: []byte("\x04note\x01\x02\x03")}}
	in := m.Encode()
	a, err := loopcheck.Instrument(in, loopcheck.Bounds{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := loopcheck.Instrument(in, loopcheck.Bounds{})
	if !bytes.Equal(a, b) {
		t.Fatal("two runs differ: the compilation cache would miss")
	}
	for _, id := range []byte{enc.SecType, enc.SecImport, enc.SecFunction, enc.SecMemory, enc.SecCustom} {
		if s := section(t, in, id); !bytes.Contains(a, s) {
			t.Errorf("section %d was not copied as is", id)
		}
	}
}

// section returns the first section with id of wasm, with its header.
func section(t testing.TB, wasm []byte, id byte) []byte {
	t.Helper()
	for pos := 8; pos < len(wasm); {
		start := pos
		size, n := uvarint(wasm[pos+1:])
		pos += 1 + n + int(size)
		if wasm[start] == id {
			return wasm[start:pos]
		}
	}
	t.Fatalf("no section %d", id)
	return nil
}

func uvarint(b []byte) (uint64, int) {
	var v uint64
	for i, c := range b {
		v |= uint64(c&0x7F) << (7 * i)
		if c&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, len(b)
}

// basicModule is basic.wat's shape built with the encoder: functions 0
// spin, 1 count, 2 get (the defined global, index 1).
func basicModule() enc.Module {
	return enc.Module{
		Types:    []enc.FuncType{{}, {Results: []byte{enc.I32}}},
		Imports:  []enc.Import{{Module: "env", Name: "g", Kind: enc.KindGlobal, Desc: []byte{enc.I32, 0}}},
		Memories: [][]byte{{0x00, 1}},
		Globals:  []enc.Global{{Type: enc.I32, Mutable: true, Init: enc.I32Const(42)}},
		Exports:  []enc.Export{{Name: "spin", Kind: enc.KindFunc, Index: 0}, {Name: "get", Kind: enc.KindFunc, Index: 2}},
		Funcs: []enc.Func{
			{Code: enc.Code(enc.Op(enc.OpLoop, enc.BlockEmpty), enc.Op(enc.OpBr, 0), enc.Op(enc.OpEnd), enc.Op(enc.OpEnd))},
			{Code: enc.Code(enc.I32Const(5), enc.Op(enc.OpEnd))},
			{Code: enc.Code(enc.Op(enc.OpGlobalGet, 1), enc.Op(enc.OpEnd))},
		},
		TypeOf: []uint32{0, 1, 1},
	}
}

// checkAt is the start of the check the rewrite inserts, for a module
// with globals globals of its own: global.get flag, if, unreachable, end.
func checkAt(globals byte) []byte {
	return []byte{enc.OpGlobalGet, globals, enc.OpIf, enc.BlockEmpty, enc.OpUnreachable, enc.OpEnd}
}

// charge is the part of a full check that charges cost to the budget.
func charge(globals byte, cost int32) []byte {
	b := append([]byte{enc.OpGlobalGet, globals + 1}, enc.I32Const(cost)...)
	return append(b, enc.OpI32Sub, enc.OpGlobalSet, globals+1)
}

func TestChecksGoWhereTheCodeCanRunLong(t *testing.T) {
	call := func(fn uint32) []byte { return enc.Op(enc.OpCall, fn) }
	end := enc.Op(enc.OpEnd)
	nop := enc.Op(enc.OpNop)
	w := int(loopcheck.CostUnit)
	nops := bytes.Repeat(nop, 3*w)
	loopBack := enc.Code(enc.Op(enc.OpLoop, enc.BlockEmpty), enc.I32Const(1), enc.Op(enc.OpBrIf, 0), end)
	for _, tc := range []struct {
		name   string
		code   []byte
		checks int
		charge int // a charge that must be among them, in bytes
	}{
		{"empty function: entry", enc.Code(end), 1, 0},
		{"entry charges the code up to the next check", enc.Code(nops, end), 1, len(nops) + 1},
		{"a loop at the entry is the entry's check", enc.Code(enc.Op(enc.OpBlock, enc.BlockEmpty), enc.Op(enc.OpLoop, enc.BlockEmpty), nops, end, end, end), 1, 4 + len(nops) + 3},
		{"a loop after other code", enc.Code(nop, enc.Op(enc.OpLoop, enc.BlockEmpty), nops, end, end), 2, len(nops) + 2},
		{"a loop charges the code after it", enc.Code(nop, loopBack, nops, end), 2, 2 + 2 + 1 + len(nops) + 1},
		{"an if charges its longer arm", enc.Code(enc.I32Const(1), enc.Op(enc.OpIf, enc.BlockEmpty), nops, enc.Op(enc.OpElse), nop, end, end), 1, 2 + 2 + len(nops) + 1 + 1 + 1},
		{"a branch out skips code", enc.Code(enc.Op(enc.OpBlock, enc.BlockEmpty), enc.Op(enc.OpBr, 0), nops, end, end), 1, 2 + 2 + 1 + 1},
		{"call then more code", enc.Code(call(0), nops, end), 2, len(nops) + 1},
		{"call in tail position", enc.Code(call(0), end), 1, 2},
		{"call then return", enc.Code(call(0), enc.Op(enc.OpReturn), end), 1, 2},
		{"call then call", enc.Code(call(0), call(0), nop, end), 2, 2},
		{"call then the end of a block", enc.Code(enc.Op(enc.OpBlock, enc.BlockEmpty), call(0), end, end), 2, 2},
		{"call_indirect then more code", enc.Code(enc.I32Const(0), enc.Op(enc.OpCallInd, 0, 0), nop, end), 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := enc.Module{
				Types:    []enc.FuncType{{}},
				Memories: [][]byte{{0x00, 1}},
				Funcs:    []enc.Func{{Code: tc.code}},
				Extra:    []enc.Section{{ID: enc.SecTable, Body: []byte{1, enc.FuncRef, 0, 1}, Before: enc.SecMemory}},
			}
			out, err := loopcheck.Instrument(m.Encode(), loopcheck.Bounds{})
			if err != nil {
				t.Fatal(err)
			}
			code := section(t, out, enc.SecCode)
			if n := bytes.Count(code, checkAt(0)); n != tc.checks {
				t.Errorf("%d checks, want %d", n, tc.checks)
			}
			if c := 1 + int32(tc.charge/w); !bytes.Contains(code, charge(0, c)) {
				t.Errorf("no check charges %d (%d bytes)", c, tc.charge)
			}
			compile(t, out)
		})
	}
}

// compile checks that wazero, with the host's features, accepts wasm.
func compile(t testing.TB, wasm []byte) {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	if _, err := rt.CompileModule(ctx, wasm); err != nil {
		t.Fatalf("wazero refuses the instrumented module: %v", err)
	}
}

// TestChecksRunConcurrentlyWithTheFlag runs the checks under the race
// detector's eye: the flag is written from another goroutine while the
// guest reads it (through wasm, which the detector does not see, but the
// host side must be sound).
func TestChecksRunConcurrentlyWithTheFlag(t *testing.T) {
	mod := instantiate(t, fixture(t, "recursion"))
	flag := flagOf(t, mod)
	var wg sync.WaitGroup
	wg.Go(func() {
		_, err := mod.ExportedFunction("twice").Call(context.Background(), 40)
		if err == nil || !strings.Contains(err.Error(), "unreachable") {
			t.Errorf("twice(40) ended with %v, want the flag's trap", err)
		}
	})
	time.Sleep(20 * time.Millisecond)
	flag.Set(1)
	wg.Wait()
}

// TestInstrumentSeesWhatTheRuntimeSees hides a loop in the bytes of a SIMD
// constant whose opcode is encoded at length: read as the specification
// says, `fd 8c 00` is v128.const (12 in two bytes) and the next 16 bytes
// its value; wazero reads the opcode as the one byte 0x8c and everything
// after as instructions, among them an infinite loop. The rewrite must check
// that loop, and the flag must stop it.
func TestInstrumentSeesWhatTheRuntimeSees(t *testing.T) {
	wasm := hiddenLoopModule()
	out, err := loopcheck.Instrument(wasm, loopcheck.Bounds{})
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(section(t, out, enc.SecCode), checkAt(0)); n != 2 {
		t.Fatalf("%d checks, want 2: the entry's and the hidden loop's", n)
	}
	mod := instantiate(t, wasm)
	done := make(chan error, 1)
	go func() { _, err := mod.ExportedFunction("spin").Call(context.Background()); done <- err }()
	time.Sleep(20 * time.Millisecond)
	flagOf(t, mod).Set(1)
	wantStopped(t, "the hidden loop", done)
}

// hiddenLoopModule exports spin, whose infinite loop hides, to a reader
// of the specification, in the value of a long-encoded v128.const.
func hiddenLoopModule() []byte {
	hidden := []byte{
		enc.OpEnd,                                          // ends the block below, to wazero
		enc.OpLoop, enc.BlockEmpty, enc.OpBr, 0, enc.OpEnd, // spins
		enc.OpBlock, enc.BlockEmpty, // for the end that closes the "constant"'s block
		1, 1, 1, 1, 1, 1, 1, 1, // nops: 16 bytes in all
	}
	code := enc.Code(enc.Op(enc.OpBlock, enc.BlockEmpty), []byte{enc.OpUnreachable, 0xFD, 0x8C, 0x00}, hidden, enc.Op(enc.OpEnd), enc.Op(enc.OpEnd))
	return enc.Module{
		Types:    []enc.FuncType{{}},
		Memories: [][]byte{{0x00, 1}},
		Exports:  []enc.Export{{Name: "spin", Kind: enc.KindFunc}},
		Funcs:    []enc.Func{{Code: code}},
	}.Encode()
}
