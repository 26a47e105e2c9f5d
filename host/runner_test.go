package host_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/internal/wasmenc"
	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

// fxSlowBound is how long a tick that must be cut short may take at most on
// a noisy 2-core machine: far more than any timeout used here, far less
// than "never returns".
const fxSlowBound = 30 * time.Second

// fxGoodRows counts the rows the good fixture has written.
const fxGoodRows = `SELECT count(*) FROM ff_worker_registry_event WHERE namespace = 'good'`

func TestTickTrapGetsFreshInstance(t *testing.T) {
	t.Parallel()
	h := plugintest.New(t, fxWasm(t, "trap"))
	_, err := h.Tick(1)
	fxWantErr(t, err, []error{host.ErrTrap}, "deliberate panic")
	if n := h.Runner.MemoryBytes(); n != 0 {
		t.Errorf("after a trap the runner still holds an instance of %d bytes", n)
	}
	// The fixture reports how many ticks its instance has run: 1 on the
	// first tick after the trap proves the instance is new, 2 on the next
	// proves it is then reused.
	for want := int64(1); want <= 2; want++ {
		if rep := h.MustTick(0); rep.Processed != want {
			t.Errorf("tick %d after the trap: instance has run %d ticks, want %d", want, rep.Processed, want)
		}
	}
}

func TestTickTimeoutThenNextTickRuns(t *testing.T) {
	t.Parallel()
	h := plugintest.New(t, fxWasm(t, "loop"), plugintest.Options{Limits: host.Limits{TickTimeout: 300 * time.Millisecond}})
	start := time.Now()
	_, err := h.Tick(1)
	fxWantErr(t, err, []error{host.ErrTimeout}, "300ms")
	if d := time.Since(start); d > fxSlowBound {
		t.Errorf("a 300ms tick timeout took %v to stop the loop", d)
	}
	if rep := h.MustTick(0); rep.Processed != 1 {
		t.Errorf("the tick after a timeout ran on an instance that had run %d ticks, want a fresh one", rep.Processed)
	}
}

func TestTickHonoursCallerContext(t *testing.T) {
	t.Parallel()
	h := plugintest.New(t, fxWasm(t, "loop"))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err := h.Runner.Tick(ctx, 1)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Tick with a cancelled context: %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > fxSlowBound {
		t.Errorf("cancelling took %v to stop the loop", d)
	}
	if rep := h.MustTick(0); rep.Processed != 1 {
		t.Errorf("after a cancelled tick: instance had run %d ticks, want a fresh one", rep.Processed)
	}
}

// TestLoopInTxReleasesWriteLock: a plugin that spins inside its transaction
// holds the write lock until its tick times out; then its write is rolled
// back and another connection can write at once.
func TestLoopInTxReleasesWriteLock(t *testing.T) {
	t.Parallel()
	h := plugintest.New(t, fxWasm(t, "loop_in_tx"), plugintest.Options{Limits: host.Limits{TickTimeout: 3 * time.Second}})
	done := make(chan error, 1)
	go func() {
		_, err := h.Tick(1)
		done <- err
	}()
	var tickErr error
	sawLocked := false
wait:
	for {
		select {
		case tickErr = <-done:
			break wait
		case <-time.After(20 * time.Millisecond):
		}
		if !sawLocked {
			if err := testutil.TryWriteLock(h.Path); err != nil {
				if !strings.Contains(err.Error(), "locked") && !strings.Contains(err.Error(), "busy") {
					t.Fatalf("BEGIN IMMEDIATE beside the looping plugin: %v", err)
				}
				sawLocked = true
			}
		}
	}
	if !sawLocked {
		t.Error("another connection could write while the plugin spun in its transaction; the fixture did not hold the lock")
	}
	fxWantErr(t, tickErr, []error{host.ErrTimeout, host.ErrLeftOpen})
	if err := testutil.TryWriteLock(h.Path); err != nil {
		t.Errorf("right after the timeout another writer cannot take the lock: %v", err)
	}
	if n, _ := h.Int(`SELECT count(*) FROM ff_worker_registry WHERE namespace = 'loop_in_tx'`); n != 0 {
		t.Errorf("the timed-out transaction's row is in the database (%d rows)", n)
	}
}

func TestTxLeftOpenRolledBack(t *testing.T) {
	t.Parallel()
	h := plugintest.New(t, fxWasm(t, "tx_left_open"))
	for range 2 {
		_, err := h.Tick(1)
		fxWantErr(t, err, []error{host.ErrLeftOpen})
		if n, _ := h.Int(`SELECT count(*) FROM ff_worker_registry WHERE namespace = 'tx_left_open'`); n != 0 {
			t.Errorf("the transaction left open was not rolled back: %d rows", n)
		}
		if err := testutil.TryWriteLock(h.Path); err != nil {
			t.Errorf("after the tick another writer cannot take the lock: %v", err)
		}
	}
}

func TestMemoryBombFailsCleanly(t *testing.T) {
	t.Parallel()
	h := plugintest.New(t, fxWasm(t, "memory_bomb"), plugintest.Options{Limits: host.Limits{MemoryBytes: 32 << 20}})
	for range 2 {
		_, err := h.Tick(1)
		fxWantErr(t, err, []error{host.ErrTrap}, "out of memory")
		if n := h.Runner.MemoryBytes(); n != 0 {
			t.Errorf("after running out of memory the runner still holds a %d-byte instance", n)
		}
	}
	// The host is fine: another plugin, here a hand-assembled one that
	// compiles in no time, loads and ticks.
	other := plugintest.New(t, fxWrite(t, t.TempDir(), "tiny.wasm", wasmenc.Plugin{Desc: fxTinyDesc("tiny")}.Encode()))
	other.MustTick(1)
}

func TestDryRunSeesOwnChangesAndLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := plugintest.New(t, fxWasm(t, "good"), plugintest.Options{DryRun: true, Setup: func(db *sql.DB) error {
		testutil.SeedEveryTable(t, db)
		return nil
	}})
	before := fxDump(t, h.DB)
	for i := int64(1); i <= 3; i++ {
		if rep := h.MustTick(i); rep.Processed != i {
			t.Errorf("dry-run tick %d saw %d of its rows, want %d", i, rep.Processed, i)
		}
	}
	if n := fxCount(t, h.DB, fxGoodRows); n != 0 {
		t.Errorf("during the dry run another connection sees %d of its rows", n)
	}
	if err := h.Runner.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if after := fxDump(t, h.DB); after != before {
		t.Errorf("dry run changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if _, err := h.Tick(4); !errors.Is(err, host.ErrClosed) {
		t.Errorf("Tick after Close: %v, want ErrClosed", err)
	}
	if err := testutil.TryWriteLock(h.Path); err != nil {
		t.Errorf("after the dry run the write lock is still held: %v", err)
	}
}
