package host

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/host/store"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

// memoryOnlyWasm is a module with one exported page of memory and nothing
// else: the smallest guest a host function can be called for.
var memoryOnlyWasm = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
	0x05, 0x03, 0x01, 0x00, 0x01, // memory section: one memory, min 1 page
	0x07, 0x0a, 0x01, 0x06, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0x00, // export "memory"
}

// FuzzHostFunctions calls every ffhost function with arbitrary pointers,
// lengths and guest memory contents. Whatever the guest passes, the host
// must answer with a status (or ignore the call) and never panic.
func FuzzHostFunctions(f *testing.F) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	mod, err := rt.Instantiate(ctx, memoryOnlyWasm)
	if err != nil {
		f.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(f.TempDir(), "fuzz.db"), sqlite.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		f.Fatal(err)
	}
	conn, err := db.OpenConn(ctx, store.ConnSpec{Plugin: "fuzz", Writes: []string{"ff_worker_registry"},
		MaxCallBytes: DefaultLimits.MaxCallBytes, MaxResultBytes: DefaultLimits.MaxResultBytes})
	if err != nil {
		f.Fatal(err)
	}
	defer conn.Close(ctx)

	args, _ := abi.AppendArgs(nil, []any{int64(1), "x", nil})
	seedMem := append([]byte("SELECT ?, ?, ?"), args...)
	f.Add(uint8(0), seedMem, uint32(0), uint32(14), uint32(14), uint32(len(args)), uint32(1024), uint32(256))
	f.Add(uint8(1), seedMem, uint32(0), uint32(14), uint32(14), uint32(len(args)), uint32(1024), uint32(4))
	f.Add(uint8(2), []byte{}, uint32(0xFFFFFFF0), uint32(0x20), uint32(0), uint32(0), uint32(0), uint32(0))
	f.Add(uint8(3), []byte("DROP TABLE ff_worker_registry"), uint32(0), uint32(29), uint32(0), uint32(0), uint32(65535), uint32(16))
	f.Add(uint8(6), []byte("hello"), uint32(4), uint32(0), uint32(5), uint32(0), uint32(0), uint32(0))

	f.Fuzz(func(t *testing.T, which uint8, memory []byte, a, b, c, d, e, g uint32) {
		if len(memory) > 4096 {
			memory = memory[:4096]
		}
		mod.Memory().Write(0, memory)
		st := &callState{conn: conn, limits: DefaultLimits, log: slog.New(slog.DiscardHandler)}
		fn := hostFuncs[int(which)%len(hostFuncs)]
		stack := make([]uint64, max(len(fn.params), len(fn.results)))
		for i, v := range []uint32{a, b, c, d, e, g}[:len(fn.params)] {
			stack[i] = api.EncodeU32(v)
		}
		if len(fn.params) > 0 && fn.params[0] == api.ValueTypeI64 {
			stack[0], stack[1] = uint64(a)<<32|uint64(b), uint64(c)
		}
		// The connection rolls back whatever the call left open.
		err := conn.Tick(ctx, 1, func() { fn.fn(withState(ctx, st), mod, stack) })
		if err != nil && !errors.Is(err, store.ErrLeftOpen) {
			t.Fatalf("%s: %v", fn.name, err)
		}
	})
}
