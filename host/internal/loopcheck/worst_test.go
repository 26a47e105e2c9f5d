package loopcheck_test

import (
	"context"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/ffwasmhost/ffwasmhost/host/internal/loopcheck"
	enc "github.com/ffwasmhost/ffwasmhost/host/internal/wasmenc"
)

// worstCase is a module built to cost as much as the bounds b let it: to
// compile, in memory, or in code the rewrite adds.
type worstCase struct {
	name  string
	build func(b loopcheck.Bounds) []byte
}

// filled returns a module of as many copies of fn as the function and
// code bounds allow, each with type 0 (() -> ()) or typeOf, and one more
// function, the last, that takes and returns an i32.
func filled(b loopcheck.Bounds, fn enc.Func, typeOf uint32) []byte {
	// Leave room for the checks the rewrite adds: a fraction of
	// the code for these shapes, measured by trying.
	n := b.Functions - 1
	size := len(fn.Code) + 16
	n = min(n, b.CodeBytes/size)
	m := enc.Module{
		Types:    []enc.FuncType{{}, {Params: []byte{enc.I32}, Results: []byte{enc.I32}}},
		Memories: [][]byte{{0x00, 1}},
	}
	for range n {
		m.Funcs = append(m.Funcs, fn)
		m.TypeOf = append(m.TypeOf, typeOf)
	}
	m.Funcs = append(m.Funcs, enc.Func{Code: enc.Code(enc.Op(enc.OpLocalGet, 0), enc.Op(enc.OpEnd))})
	m.TypeOf = append(m.TypeOf, 1)
	return m.Encode()
}

// repeat returns unit repeated to fill about n bytes of code.
func repeat(unit []byte, n int) []byte {
	return slices.Repeat(unit, max(1, n/len(unit)))
}

// shrinkToFit builds with ever smaller fractions of the bounds until
// Instrument accepts the module: the shape's largest module that loads.
func shrinkToFit(t testing.TB, w worstCase, b loopcheck.Bounds) []byte {
	t.Helper()
	for f := 1.0; f > 0.001; f *= 0.97 {
		s := b
		s.CodeBytes = int(float64(b.CodeBytes) * f)
		s.FunctionBytes = int(float64(b.FunctionBytes) * f)
		wasm := w.build(s)
		if _, err := loopcheck.Instrument(wasm, b); err == nil {
			return wasm
		} else if !strings.Contains(err.Error(), " bound ") {
			t.Fatalf("%s: %v", w.name, err)
		}
	}
	t.Fatalf("%s: no fraction of the bounds fits them", w.name)
	return nil
}

var worstCases = []worstCase{
	{"nested blocks", func(b loopcheck.Bounds) []byte {
		n := b.Nesting
		code := slices.Repeat([]byte{enc.OpBlock, enc.BlockEmpty}, n)
		code = append(code, enc.Op(enc.OpBr, uint32(n-1))...)
		code = append(code, slices.Repeat([]byte{enc.OpEnd}, n+1)...)
		return filled(b, enc.Func{Code: code}, 0)
	}},
	{"nested loops", func(b loopcheck.Bounds) []byte {
		n := b.Nesting
		code := slices.Repeat([]byte{enc.OpLoop, enc.BlockEmpty}, n)
		code = append(code, slices.Repeat([]byte{enc.OpEnd}, n+1)...)
		return filled(b, enc.Func{Code: code}, 0)
	}},
	{"locals", func(b loopcheck.Bounds) []byte {
		last := uint32(b.Locals - 1)
		code := enc.Code(enc.Op(enc.OpLocalGet, last), enc.Op(enc.OpLocalSet, 0), enc.Op(enc.OpLocalGet, 0), enc.Op(enc.OpLocalSet, last), enc.Op(enc.OpEnd))
		n := b.TotalLocals / b.Locals
		m := enc.Module{Types: []enc.FuncType{{}}, Memories: [][]byte{{0x00, 1}}}
		for range n {
			m.Funcs = append(m.Funcs, enc.Func{Locals: []enc.Locals{{N: uint32(b.Locals), Type: enc.I64}}, Code: code})
		}
		return m.Encode()
	}},
	{"deep stack", func(b loopcheck.Bounds) []byte {
		k := b.FunctionBytes / 4
		code := slices.Repeat(enc.Op(enc.OpLocalGet, 0), k)
		code = append(code, slices.Repeat([]byte{enc.OpI32Add}, k-1)...)
		code = append(code, enc.OpEnd)
		return filled(b, enc.Func{Code: code}, 1)
	}},
	{"if sequence", func(b loopcheck.Bounds) []byte {
		// blocks one after the other: the compiler walks a chain of
		// dominators as long as the function for each
		unit := enc.Code(enc.Op(enc.OpLocalGet, 0), enc.Op(enc.OpIf, enc.BlockEmpty), enc.Op(enc.OpEnd))
		code := append(repeat(unit, b.FunctionBytes-16), enc.Op(enc.OpLocalGet, 0)...)
		return filled(b, enc.Func{Code: append(code, enc.OpEnd)}, 1)
	}},
	{"br_if sequence", func(b loopcheck.Bounds) []byte {
		unit := enc.Code(enc.Op(enc.OpBlock, enc.BlockEmpty), enc.Op(enc.OpLocalGet, 0), enc.Op(enc.OpBrIf, 0), enc.Op(enc.OpEnd))
		code := append(repeat(unit, b.FunctionBytes-16), enc.Op(enc.OpLocalGet, 0)...)
		return filled(b, enc.Func{Code: append(code, enc.OpEnd)}, 1)
	}},
	{"branchy", func(b loopcheck.Bounds) []byte {
		unit := enc.Code(enc.Op(enc.OpLocalGet, 0), enc.Op(enc.OpIf, enc.BlockEmpty), enc.Op(enc.OpLocalGet, 0), enc.I32Const(1), []byte{enc.OpI32Add}, enc.Op(enc.OpLocalSet, 0), enc.Op(enc.OpEnd))
		code := append(repeat(unit, b.FunctionBytes-16), enc.Op(enc.OpLocalGet, 0)...)
		return filled(b, enc.Func{Code: append(code, enc.OpEnd)}, 1)
	}},
	{"calls", func(b loopcheck.Bounds) []byte {
		// call the first function, drop: a check after every 4 bytes
		unit := enc.Code(enc.Op(enc.OpLocalGet, 0), enc.Op(enc.OpCall, 0), enc.Op(enc.OpDrop))
		code := append(repeat(unit, b.FunctionBytes-16), enc.Op(enc.OpLocalGet, 0)...)
		return filled(b, enc.Func{Code: append(code, enc.OpEnd)}, 1)
	}},
	{"loops", func(b loopcheck.Bounds) []byte {
		code := repeat([]byte{enc.OpLoop, enc.BlockEmpty, enc.OpEnd}, b.FunctionBytes-16)
		return filled(b, enc.Func{Code: append(code, enc.OpEnd)}, 0)
	}},
	{"functions", func(b loopcheck.Bounds) []byte {
		return filled(b, enc.Func{Code: []byte{enc.OpEnd}}, 0)
	}},
}

// TestWorstCasesLoadAtTheBounds checks that each worst case, at the
// default bounds, is accepted (so that the figures measured for it are
// those of a module that loads) and that the module Instrument returns
// compiles.
func TestWorstCasesLoadAtTheBounds(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles modules of megabytes")
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	for _, w := range worstCases {
		t.Run(w.name, func(t *testing.T) {
			wasm := shrinkToFit(t, w, loopcheck.DefaultBounds)
			out, err := loopcheck.Instrument(wasm, loopcheck.DefaultBounds)
			if err != nil {
				t.Fatal(err)
			}
			m, err := rt.CompileModule(ctx, out)
			if err != nil {
				t.Fatalf("wazero refuses the instrumented module: %v", err)
			}
			m.Close(ctx)
		})
	}
}

// TestMeasureWorstCase compiles one worst case at the default bounds with
// the compiler the host uses and logs how long that took. It measures, it
// asserts nothing: run it alone, under /usr/bin/time for the peak RSS:
//
//	go test -c -o /tmp/lc.test ./host/internal/loopcheck/
//	LOOPCHECK_WORST='nested blocks' /usr/bin/time -v /tmp/lc.test -test.run TestMeasureWorstCase -test.v
func TestMeasureWorstCase(t *testing.T) {
	name := os.Getenv("LOOPCHECK_WORST")
	if name == "" {
		t.Skip("set LOOPCHECK_WORST to the name of a worst case")
	}
	i := slices.IndexFunc(worstCases, func(w worstCase) bool { return w.name == name })
	if i < 0 {
		t.Fatalf("no worst case %q", name)
	}
	wasm := shrinkToFit(t, worstCases[i], loopcheck.DefaultBounds)
	start := time.Now()
	out, err := loopcheck.Instrument(wasm, loopcheck.DefaultBounds)
	if err != nil {
		t.Fatal(err)
	}
	instrumented := time.Since(start)
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	defer rt.Close(ctx)
	start = time.Now()
	if _, err := rt.CompileModule(ctx, out); err != nil {
		t.Fatal(err)
	}
	compiled := time.Since(start)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("%s: %d bytes, %d instrumented; instrument %v, compile %v; Go heap total alloc %d MiB",
		name, len(wasm), len(out), instrumented.Round(time.Millisecond), compiled.Round(time.Millisecond), ms.TotalAlloc>>20)
}
