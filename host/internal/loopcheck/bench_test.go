package loopcheck_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/ffwasmhost/ffwasmhost/host/internal/loopcheck"
)

var guest struct {
	once sync.Once
	wasm []byte
	err  error
}

// guestWasm builds testdata/guest as a WASI reactor, once per process.
func guestWasm(b *testing.B) []byte {
	b.Helper()
	guest.once.Do(func() {
		out := filepath.Join(os.TempDir(), "loopcheck-bench-guest.wasm")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-o", out, "./testdata/guest")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if msg, err := cmd.CombinedOutput(); err != nil {
			guest.err = err
			b.Logf("%s", msg)
			return
		}
		guest.wasm, guest.err = os.ReadFile(out)
	})
	if guest.err != nil {
		b.Fatalf("build the guest: %v", guest.err)
	}
	return guest.wasm
}

// threadCPU returns the CPU time the calling thread has used.
func threadCPU(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rusageThread is RUSAGE_THREAD of Linux's getrusage.
const rusageThread = 1

// BenchmarkGuest runs call-heavy Go code with and without the checks, in
// wazero's compiler as the host does:
//
//	go test -run '^$' -bench Guest -count 6 ./host/internal/loopcheck/ | tee new.txt
//
// and compare bare with checked (benchstat old.txt new.txt for a change
// of the rewrite).
func BenchmarkGuest(b *testing.B) {
	wasm := guestWasm(b)
	checked, err := loopcheck.Instrument(wasm, loopcheck.Bounds{})
	if err != nil {
		b.Fatal(err)
	}
	for _, work := range []struct {
		fn string
		n  uint64
	}{{"fib", 27}, {"json", 2000}, {"sort", 20000}} {
		for _, v := range []struct {
			name string
			wasm []byte
		}{{"bare", wasm}, {"checked", checked}} {
			b.Run(work.fn+"/"+v.name, func(b *testing.B) {
				ctx := context.Background()
				rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
				defer rt.Close(ctx)
				wasi_snapshot_preview1.MustInstantiate(ctx, rt)
				mod, err := rt.InstantiateWithConfig(ctx, v.wasm, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
				if err != nil {
					b.Fatal(err)
				}
				fn := mod.ExportedFunction(work.fn)
				// CPU time of this thread, as well as wall time: on a
				// machine shared with other work it varies far less.
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				cpu0 := threadCPU(b)
				for b.Loop() {
					if _, err := fn.Call(ctx, work.n); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(threadCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}
