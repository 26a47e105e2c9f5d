package host_test

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
)

// TestTimeoutsWhileEveryPSpins runs more spinning plugins at once than the
// Go scheduler has Ps. Compiled wasm cannot be preempted, so each tick's
// timeout fires only because the guests' loop checks yield to the
// scheduler now and then; without that the test hangs.
func TestTimeoutsWhileEveryPSpins(t *testing.T) {
	// Not parallel: it changes GOMAXPROCS for the whole process.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	const n = 3
	wasm := fxWasm(t, "loop")
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
	wg.Wait()
	for _, err := range errs {
		fxWantErr(t, err, []error{host.ErrTimeout}, "300ms")
	}
	if d := time.Since(start); d > fxSlowBound {
		t.Errorf("%d spinning ticks with a 300ms timeout on 2 Ps took %v to stop", n, d)
	}
}
