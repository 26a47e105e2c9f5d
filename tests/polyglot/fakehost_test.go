package polyglot

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// reply is a scripted answer of the fake host to one SQL or transaction call.
type reply struct {
	status  uint32
	payload []byte
	// noFetch makes a later fetch of this payload fail, as a broken host's would.
	noFetch bool
}

// fakeHost is a scripted stand-in for ffwasmhost's host module: each SQL
// and transaction call takes the next reply queued for its function (or
// succeeds with an empty result), and everything the guest does is
// recorded. It runs one module at a time, with WASI, on wazero directly,
// and records the guest's sleeps instead of sleeping.
type fakeHost struct {
	replies map[string][]reply // by host function name

	calls   []string // "sql_exec SQL|ARGS", "fetch N", "tx_begin", ...
	logs    []string // "LEVEL MESSAGE"
	sleeps  []time.Duration
	report  [2]int64
	tickErr string
	more    bool              // tick_more was called
	config  map[string]string // config_get's values by key

	pending []byte // a payload too big for the guest's buffer, until fetch
	noFetch bool

	// skipInit leaves _initialize uncalled, as a host that ignores it would.
	skipInit bool
}

// queue adds replies for fn.
func (h *fakeHost) queue(fn string, rs ...reply) {
	if h.replies == nil {
		h.replies = map[string][]reply{}
	}
	h.replies[fn] = append(h.replies[fn], rs...)
}

// next returns the reply for a call of fn.
func (h *fakeHost) next(fn string, def []byte) reply {
	if q := h.replies[fn]; len(q) > 0 {
		h.replies[fn] = q[1:]
		return q[0]
	}
	return reply{payload: def}
}

// answer delivers r as the ABI says: into the out buffer if it fits, else
// kept for fetch.
func (h *fakeHost) answer(m api.Module, r reply, out, cap uint32) uint64 {
	h.pending, h.noFetch = nil, false
	if uint32(len(r.payload)) <= cap {
		if !m.Memory().Write(out, r.payload) {
			return abi.Pack(abi.StatusInvalid, 0)
		}
	} else {
		h.pending, h.noFetch = r.payload, r.noFetch
	}
	return uint64(r.status)<<32 | uint64(len(r.payload))
}

func read(m api.Module, ptr, n uint32) []byte {
	b, ok := m.Memory().Read(ptr, n)
	if !ok {
		panic(fmt.Sprintf("guest range %d+%d is outside its memory", ptr, n))
	}
	return append([]byte(nil), b...)
}

// formatArgs renders an argument encoding for the call log.
func formatArgs(b []byte) string {
	if len(b) == 0 {
		return "(none)"
	}
	vals, err := abi.DecodeArgs(b, nil)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	var s []string
	for _, v := range vals {
		switch x := v.(type) {
		case []byte:
			s = append(s, fmt.Sprintf("blob:%x", x))
		case string:
			s = append(s, fmt.Sprintf("text:%q", x))
		case nil:
			s = append(s, "null")
		default:
			s = append(s, fmt.Sprintf("%T:%v", x, x))
		}
	}
	return strings.Join(s, ",")
}

// instantiate compiles wasm and starts it against h, running _initialize.
func (h *fakeHost) instantiate(t *testing.T, wasm []byte) api.Module {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)

	sql := func(fn string, def []byte) func(context.Context, api.Module, uint32, uint32, uint32, uint32, uint32, uint32) uint64 {
		return func(_ context.Context, m api.Module, sqlPtr, sqlLen, argsPtr, argsLen, out, cap uint32) uint64 {
			h.calls = append(h.calls, fn+" "+string(read(m, sqlPtr, sqlLen))+"|"+formatArgs(read(m, argsPtr, argsLen)))
			return h.answer(m, h.next(fn, def), out, cap)
		}
	}
	tx := func(fn string) func(context.Context, api.Module, uint32, uint32) uint64 {
		return func(_ context.Context, m api.Module, out, cap uint32) uint64 {
			h.calls = append(h.calls, fn)
			return h.answer(m, h.next(fn, nil), out, cap)
		}
	}
	fetch := func(_ context.Context, m api.Module, out, cap uint32) int32 {
		h.calls = append(h.calls, fmt.Sprintf("fetch %d", cap))
		p, broken := h.pending, h.noFetch
		h.pending = nil
		if p == nil || broken || cap < uint32(len(p)) || !m.Memory().Write(out, p) {
			return -1
		}
		return int32(len(p))
	}
	logLine := func(_ context.Context, m api.Module, level int32, ptr, n uint32) {
		h.logs = append(h.logs, fmt.Sprintf("%d %s", level, read(m, ptr, n)))
	}
	tickReport := func(_ context.Context, processed, errors int64) { h.report = [2]int64{processed, errors} }
	tickError := func(_ context.Context, m api.Module, ptr, n uint32) { h.tickErr = string(read(m, ptr, n)) }
	tickMore := func(context.Context) { h.more = true }
	configGet := func(_ context.Context, m api.Module, keyPtr, keyLen, out, cap uint32) uint64 {
		key := string(read(m, keyPtr, keyLen))
		h.calls = append(h.calls, abi.FnConfigGet+" "+key)
		v, ok := h.config[key]
		if !ok {
			return h.answer(m, reply{status: uint32(abi.StatusInvalid), payload: []byte(`config key "` + key + `" is not declared by the plugin`)}, out, cap)
		}
		return h.answer(m, reply{payload: []byte(v)}, out, cap)
	}
	emptyResult := []byte{0, 0, 0, 0, 0, 0, 0, 0} // no columns, no rows
	_, err := rt.NewHostModuleBuilder(abi.HostModule).
		NewFunctionBuilder().WithFunc(sql(abi.FnExec, make([]byte, 16))).Export(abi.FnExec).
		NewFunctionBuilder().WithFunc(sql(abi.FnQuery, emptyResult)).Export(abi.FnQuery).
		NewFunctionBuilder().WithFunc(fetch).Export(abi.FnFetch).
		NewFunctionBuilder().WithFunc(tx(abi.FnBegin)).Export(abi.FnBegin).
		NewFunctionBuilder().WithFunc(tx(abi.FnCommit)).Export(abi.FnCommit).
		NewFunctionBuilder().WithFunc(tx(abi.FnRollback)).Export(abi.FnRollback).
		NewFunctionBuilder().WithFunc(logLine).Export(abi.FnLog).
		NewFunctionBuilder().WithFunc(tickReport).Export(abi.FnTickReport).
		NewFunctionBuilder().WithFunc(tickError).Export(abi.FnTickError).
		NewFunctionBuilder().WithFunc(tickMore).Export(abi.FnTickMore).
		NewFunctionBuilder().WithFunc(configGet).Export(abi.FnConfigGet).
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := wazero.NewModuleConfig().WithName("").WithStartFunctions().
		WithNanosleep(func(ns int64) { h.sleeps = append(h.sleeps, time.Duration(ns)) })
	mod, err := rt.InstantiateWithConfig(ctx, wasm, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if init := mod.ExportedFunction(abi.ExportInitialize); init != nil && !h.skipInit {
		if _, err := init.Call(ctx); err != nil {
			t.Fatalf("_initialize: %v", err)
		}
	}
	return mod
}

// describe calls the module's describe and returns the descriptor's bytes.
func describeJSON(t *testing.T, mod api.Module) []byte {
	t.Helper()
	res, err := mod.ExportedFunction(abi.ExportDescribe).Call(context.Background())
	if err != nil {
		t.Fatalf("describe: %v", err)
	}
	ptr, n := abi.UnpackPtr(res[0])
	return read(mod, ptr, n)
}

// scanTick calls the module's scan_tick and returns its result.
func scanTick(t *testing.T, mod api.Module, now int64) int32 {
	t.Helper()
	res, err := mod.ExportedFunction(abi.ExportScanTick).Call(context.Background(), api.EncodeI64(now))
	if err != nil {
		t.Fatalf("scan_tick(%d): %v", now, err)
	}
	return int32(res[0])
}

// queryResult encodes a query result.
func queryResult(cols []string, rows ...[]any) []byte {
	b, at := abi.AppendColumns(nil, cols)
	abi.SetRowCount(b, at, uint32(len(rows)))
	for _, r := range rows {
		for _, v := range r {
			var err error
			if b, err = abi.AppendValue(b, v); err != nil {
				panic(err)
			}
		}
	}
	return b
}

// execResult encodes an exec result.
func execResult(rowsAffected, lastInsertID int64) []byte {
	return abi.AppendExecResult(nil, rowsAffected, lastInsertID)
}
