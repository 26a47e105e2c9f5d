package host_test

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	enc "github.com/ffwasmhost/ffwasmhost/host/internal/wasmenc"
	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
)

// TestTimeoutsWhileEveryPSpins runs more spinning plugins at once than the
// Go scheduler has Ps. Compiled wasm cannot be preempted, so each tick's
// timeout fires only because the guests' loop checks yield to the
// scheduler now and then; without that the test hangs.
func TestTimeoutsWhileEveryPSpins(t *testing.T) {
	// Not parallel: it changes GOMAXPROCS for the whole process.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	tickAllAtOnce(t, fxWasm(t, "loop"), "spinning", nil)
}

// tickAllAtOnce ticks more harnesses of wasm at once than there are Ps,
// each with a 300ms tick timeout, runs during (if set) once they started,
// and checks that every tick failed with that timeout and that all stopped
// within fxSlowBound; what names the guests in the message.
func tickAllAtOnce(t *testing.T, wasm, what string, during func()) {
	t.Helper()
	n := runtime.GOMAXPROCS(0) + 1
	hs := make([]*plugintest.Harness, n)
	for i := range hs {
		hs[i] = plugintest.New(t, wasm, plugintest.Options{Limits: host.Limits{TickTimeout: 300 * time.Millisecond}})
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, h := range hs {
		wg.Go(func() { _, errs[i] = h.Tick(1) })
	}
	if during != nil {
		during()
	}
	wg.Wait()
	for _, err := range errs {
		fxWantErr(t, err, []error{host.ErrTimeout}, "300ms")
	}
	if d := time.Since(start); d > fxSlowBound {
		t.Errorf("%d %s ticks with a 300ms timeout on 2 Ps took %v to stop", n, what, d)
	}
}

// TestTimeoutsWhileEveryPRecursesWithoutLoops is
// TestTimeoutsWhileEveryPSpins for guests without a loop: naive fib(47),
// and a function calling itself twice a level, 62 levels deep. Only the
// checks at function entry and after calls stop them. A garbage
// collection runs meanwhile: it must stop every goroutine, guests
// included, so it completes only because the guests yield.
func TestTimeoutsWhileEveryPRecursesWithoutLoops(t *testing.T) {
	// Not parallel: it changes GOMAXPROCS for the whole process.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	for _, tc := range []struct {
		name string
		tick []byte
	}{
		{"fib(47)", enc.Code(fxI64(47), enc.Op(enc.OpCall, 3), enc.Op(enc.OpDrop), enc.I32Const(0))},
		{"two calls a level, 62 deep", enc.Code(enc.I32Const(62), enc.Op(enc.OpCall, 4), enc.I32Const(0))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wasm := fxWrite(t, t.TempDir(), "recursion.wasm", fxGuardModule{tick: tc.tick}.bytes("recursion"))
			gc := make(chan struct{})
			tickAllAtOnce(t, wasm, "recursing", func() {
				go func() {
					time.Sleep(50 * time.Millisecond) // the guests have every P
					runtime.GC()
					close(gc)
				}()
			})
			select {
			case <-gc:
			case <-time.After(fxSlowBound):
				t.Fatal("a garbage collection did not complete")
			}
		})
	}
}
