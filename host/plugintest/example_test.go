package plugintest_test

import (
	"fmt"

	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
)

// A plugin is tested alone: build it to wasm, bind it to a fresh database,
// tick it at a chosen now_ms and look at the rows. In a test, New(t, ...)
// does what Open and Close do here.
func Example() {
	wasm, err := plugintest.BuildWasm("../../plugins/worker_ttl")
	if err != nil {
		fmt.Println(err)
		return
	}
	h, err := plugintest.Open(wasm, plugintest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()
	// Heartbeat at 1000 ms with a 500 ms TTL: expired from 1501 ms on.
	h.Exec(`INSERT INTO ff_worker_registry VALUES ('ns', 'w1', 'w', 'lane', '', 1000, 500, 0)`)
	for _, now := range []int64{1500, 1501} {
		rep := h.MustTick(now)
		left, _ := h.Int(`SELECT count(*) FROM ff_worker_registry`)
		fmt.Printf("now=%d processed=%d workers left=%d\n", now, rep.Processed, left)
	}
	// Output:
	// now=1500 processed=0 workers left=1
	// now=1501 processed=1 workers left=0
}

// A failed tick the daemon wrote down (ffwasmhost run --fixtures) becomes a
// test: load its rows, tick at its now_ms.
func ExampleHarness_LoadFixture() {
	wasm, err := plugintest.BuildWasm("../../plugins/worker_ttl")
	if err != nil {
		fmt.Println(err)
		return
	}
	h, err := plugintest.Open(wasm, plugintest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()
	f := h.LoadFixture("testdata/worker_ttl-2000-p0.json")
	rep := h.MustTick(f.NowMS)
	left, _ := h.Int(`SELECT count(*) FROM ff_worker_registry`)
	fmt.Printf("processed=%d workers left=%d\n", rep.Processed, left)
	// Output:
	// processed=1 workers left=1
}
