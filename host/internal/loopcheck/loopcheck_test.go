package loopcheck_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/ffwasmhost/ffwasmhost/host/internal/loopcheck"
)

// module assembles a binary module from (id, body) section pairs.
func module(sections ...[]byte) []byte {
	b := []byte("\x00asm\x01\x00\x00\x00")
	for _, s := range sections {
		b = append(b, s[0], byte(len(s)-1)) // every test section is < 128 bytes
		b = append(b, s[1:]...)
	}
	return b
}

func sec(id byte, body ...byte) []byte { return append([]byte{id}, body...) }

// Sections of the test modules. Types: 0 () -> (), 1 () -> i32.
var (
	types   = sec(1, 2, 0x60, 0, 0, 0x60, 0, 1, 0x7F)
	imports = sec(2, 1, 3, 'e', 'n', 'v', 1, 'g', 0x03, 0x7F, 0) // global i32 const env.g
	// Functions: 0 spin, 1 count (loop runs 5 times, returns 5), 2 get (returns the defined global).
	funcs   = sec(3, 3, 0, 1, 1)
	memory  = sec(5, 1, 0, 1)                    // one memory, one page
	globals = sec(6, 1, 0x7F, 1, 0x41, 42, 0x0B) // global (mut i32) (i32.const 42)
	exports = sec(7, 3,
		4, 's', 'p', 'i', 'n', 0, 0,
		5, 'c', 'o', 'u', 'n', 't', 0, 1,
		3, 'g', 'e', 't', 0, 2)
	code = sec(10, 3,
		// spin: loop br 0 end
		7, 0, 0x03, 0x40, 0x0C, 0, 0x0B, 0x0B,
		// count: local i32; loop: local+1; br_if (local < 5); end; local.get
		23, 1, 1, 0x7F,
		0x03, 0x40,
		0x20, 0, 0x41, 1, 0x6A, 0x21, 0,
		0x20, 0, 0x41, 5, 0x48, 0x0D, 0,
		0x0B, 0x20, 0, 0x0B,
		// get: global.get 1
		4, 0, 0x23, 1, 0x0B)
)

func instantiate(t *testing.T, wasm []byte) api.Module {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	env := module(sec(6, 1, 0x7F, 0, 0x41, 7, 0x0B), sec(7, 1, 1, 'g', 0x03, 0)) // global i32 7, exported as g
	if _, err := rt.InstantiateWithConfig(ctx, env, wazero.NewModuleConfig().WithName("env")); err != nil {
		t.Fatal(err)
	}
	mod, err := rt.Instantiate(ctx, wasm)
	if err != nil {
		t.Fatalf("instantiate instrumented module: %v", err)
	}
	return mod
}

func TestInstrumentedModuleRunsAndStops(t *testing.T) {
	for _, tc := range []struct {
		name string
		wasm []byte
	}{
		{"all sections", module(types, imports, funcs, memory, globals, exports, code)},
		{"no global section", module(types, imports, funcs, memory, exports, codeWithoutGlobal())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := loopcheck.Instrument(tc.wasm)
			if err != nil {
				t.Fatal(err)
			}
			mod := instantiate(t, out)
			ctx := context.Background()

			res, err := mod.ExportedFunction("count").Call(ctx)
			if err != nil || res[0] != 5 {
				t.Fatalf("count() = %v, %v; want 5: the loop must still run", res, err)
			}
			if get := mod.ExportedFunction("get"); tc.name == "all sections" {
				res, err := get.Call(ctx)
				if err != nil || res[0] != 42 {
					t.Fatalf("get() = %v, %v; want 42: existing globals keep their index", res, err)
				}
			}
			flag, ok := mod.ExportedGlobal(loopcheck.GlobalName).(api.MutableGlobal)
			if !ok {
				t.Fatalf("no mutable global %q exported", loopcheck.GlobalName)
			}
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
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "unreachable") {
					t.Fatalf("spin stopped with %v, want an unreachable trap", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("spin did not stop within 10 s of the flag being set")
			}
		})
	}
}

// TestSpinningModulesYieldToTheScheduler runs more spinning instances than
// the Go scheduler has Ps. Compiled wasm cannot be preempted, so only the
// inserted yields let the goroutine that sets the flags run at all.
func TestSpinningModulesYieldToTheScheduler(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	out, err := loopcheck.Instrument(module(types, imports, funcs, memory, globals, exports, code))
	if err != nil {
		t.Fatal(err)
	}
	const n = 3
	done := make(chan error, n)
	var flags []api.MutableGlobal
	for range n {
		mod := instantiate(t, out)
		flags = append(flags, mod.ExportedGlobal(loopcheck.GlobalName).(api.MutableGlobal))
		go func() { _, err := mod.ExportedFunction("spin").Call(context.Background()); done <- err }()
	}
	time.Sleep(100 * time.Millisecond) // needs a P: the spinners must yield one
	for _, f := range flags {
		f.Set(1)
	}
	for range n {
		if err := <-done; err == nil || !strings.Contains(err.Error(), "unreachable") {
			t.Fatalf("spin stopped with %v, want an unreachable trap", err)
		}
	}
}

// codeWithoutGlobal is code with get reading the imported global 0, for a
// module that defines no global of its own.
func codeWithoutGlobal() []byte {
	c := bytes.Clone(code)
	c[len(c)-2] = 0
	return c
}

func TestInstrumentIsDeterministicAndKeepsOtherSections(t *testing.T) {
	custom := sec(0, 4, 'n', 'o', 't', 'e', 1, 2, 3)
	in := module(types, imports, funcs, memory, globals, exports, code, custom)
	a, err := loopcheck.Instrument(in)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := loopcheck.Instrument(in)
	if !bytes.Equal(a, b) {
		t.Fatal("two runs differ: the compilation cache would miss")
	}
	for _, s := range [][]byte{types, imports, funcs, memory, custom} {
		if !bytes.Contains(a, s[1:]) {
			t.Errorf("section %d was not copied as is", s[0])
		}
	}
	// Two loops, one check each: global.get 2 (1 imported + 1 defined), if, unreachable, end.
	if n := bytes.Count(a, []byte{0x03, 0x40, 0x23, 2, 0x04, 0x40, 0x00, 0x0B}); n != 2 {
		t.Errorf("found %d checks after loop headers, want 2", n)
	}
}

func TestInstrumentRefuses(t *testing.T) {
	valid := module(types, imports, funcs, memory, globals, exports, code)
	for _, tc := range []struct {
		name string
		wasm []byte
		want string
	}{
		{"empty", nil, "bad magic"},
		{"not wasm", []byte("#!/bin/sh\necho hi\n"), "bad magic"},
		{"version 2", append([]byte("\x00asm\x02\x00\x00\x00"), valid[8:]...), "unsupported binary version"},
		{"truncated", valid[:len(valid)-3], "unexpected end of data"},
		{"unknown section", module(sec(99, 0)), "unknown section id 99"},
		{"no memory", module(types, sec(3, 1, 0), sec(10, 1, 2, 0, 0x0B)), "no memory"},
		{"unknown opcode", module(types, sec(3, 1, 0), memory, sec(10, 1, 4, 0, 0xFF, 0x0B, 0x0B)), "function body 0: instruction at offset 1: unknown opcode 0xff"},
		{"unknown 0xfc opcode", module(types, sec(3, 1, 0), memory, sec(10, 1, 5, 0, 0xFC, 99, 0x0B, 0x0B)), "unknown opcode 0xfc 99"},
		{"exports the flag already", module(types, sec(3, 1, 0), memory,
			append(sec(7, 1, byte(len(loopcheck.GlobalName))), append([]byte(loopcheck.GlobalName), 0, 0)...),
			sec(10, 1, 2, 0, 0x0B)), "already exports"},
		{"four billion locals", module(types, sec(3, 1, 0), memory, sec(10, 1, 8, 1, 0xD8, 0xD8, 0xD8, 0xD8, 0x0F, 0x7F, 0x0B)), "function body 0: declares more than 50000 locals"},
		{"25,000 and 25,001 locals", module(types, sec(3, 1, 0), memory, sec(10, 1, 10, 2, 0xA8, 0xC3, 0x01, 0x7F, 0xA9, 0xC3, 0x01, 0x7E, 0x0B)), "declares more than 50000 locals"},
		{"bytes after the last body", module(types, sec(3, 1, 0), memory, sec(10, 1, 2, 0, 0x0B, 0x0B)), "1 bytes after the last function body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loopcheck.Instrument(tc.wasm)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Instrument = %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// FuzzInstrument checks that Instrument never panics on any input, and
// that what it returns is a module it can parse again (which then refuses
// to be instrumented twice).
func FuzzInstrument(f *testing.F) {
	f.Add(module(types, imports, funcs, memory, globals, exports, code))
	f.Add(module(types, imports, funcs, memory, exports, codeWithoutGlobal()))
	f.Add(module(types, sec(3, 1, 0), memory, sec(10, 1, 2, 0, 0x0B)))
	f.Fuzz(func(t *testing.T, wasm []byte) {
		out, err := loopcheck.Instrument(wasm)
		if err != nil {
			return
		}
		if _, err := loopcheck.Instrument(out); err == nil || !strings.Contains(err.Error(), "already exports") {
			t.Fatalf("instrumenting the output again: %v, want it refused as already instrumented", err)
		}
	})
}

// FuzzInstrumentBody fuzzes one function body inside a fixed module: what
// wazero accepts, Instrument must accept, and wazero must accept the
// instrumented copy. The sections around the body are fixed: wazero's own
// decoder can exhaust a fuzz worker's memory on a section that claims
// billions of entries. It found that a body declaring four billion locals
// does that in the host too (hence MaxLocals) and that Instrument refused
// (ref null ht) locals.
func FuzzInstrumentBody(f *testing.F) {
	f.Add([]byte{0, 0x03, 0x40, 0x0C, 0, 0x0B, 0x0B})                                               // loop br 0 end
	f.Add([]byte{1, 1, 0x7F, 0x03, 0x40, 0x20, 0, 0x0D, 0, 0x0B, 0x0B})                             // loop with br_if
	f.Add([]byte{0, 0x02, 0x40, 0x03, 0x7F, 0x41, 1, 0x0B, 0x1A, 0x0B, 0x0B})                       // loop with a result
	f.Add([]byte{0, 0x41, 0, 0xFC, 0x0B, 0, 0x1A, 0x0B})                                            // 0xfc opcode
	f.Add([]byte{0, 0xFD, 0x0C, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0x1A, 0x0B}) // v128.const
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > 1<<12 {
			return
		}
		fn := binary.AppendUvarint(nil, uint64(len(body))) // LEB128
		fn = append(fn, body...)
		c := binary.AppendUvarint([]byte{10}, uint64(1+len(fn)))
		c = append(c, 1)
		c = append(c, fn...)
		wasm := append(module(types, sec(3, 1, 0), memory), c...)
		out, ierr := loopcheck.Instrument(wasm)
		if ierr != nil && strings.Contains(ierr.Error(), "locals") {
			return // refused before wazero, which would allocate them all
		}
		in, err := rt.CompileModule(ctx, wasm)
		if err != nil {
			return
		}
		in.Close(ctx)
		if ierr != nil {
			t.Fatalf("wazero accepts the module but Instrument refuses it: %v", ierr)
		}
		got, err := rt.CompileModule(ctx, out)
		if err != nil {
			t.Fatalf("wazero accepts the module but not its instrumented copy: %v", err)
		}
		got.Close(ctx)
	})
}
