// Package soak runs both reconcilers for thousands of ticks in one process
// and checks that nothing leaks: goroutines, heap, file descriptors, and
// instances recycled after failures.
package soak

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"go.uber.org/goleak"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

// ticksPerPlugin is the soak's length; -short runs a tenth of it.
const ticksPerPlugin = 10_000

func openFDs(tb testing.TB) int {
	tb.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		tb.Skipf("cannot count file descriptors: %v", err)
	}
	return len(ents)
}

func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func TestSoakNoLeaks(t *testing.T) {
	n := ticksPerPlugin
	if testing.Short() {
		n /= 10
	}
	ctx := context.Background()
	wasm := map[string]string{
		"budget_reset": plugintest.Build(t, "../../plugins/budget_reset"),
		"worker_ttl":   plugintest.Build(t, "../../plugins/worker_ttl"),
	}
	eng, err := plugintest.Engine()
	if err != nil {
		t.Fatal(err)
	}
	// Warm the shared engine's compilation before taking the baselines.
	for _, w := range wasm {
		p, err := eng.Load(ctx, w, host.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		p.Close(ctx)
	}
	opts := goleak.IgnoreCurrent()
	fdsBefore := openFDs(t)

	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "soak.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var runners []*host.Runner
	var plugins []*host.Plugin
	for _, name := range []string{"budget_reset", "worker_ttl"} {
		p, err := eng.Load(ctx, wasm[name], host.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		r, err := host.NewRunner(ctx, db, p, host.RunnerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		plugins, runners = append(plugins, p), append(runners, r)
	}

	// Every tick has work: one due budget with a usage row and one expired
	// worker, written by the host side between ticks.
	var heapWarm uint64
	var guestWarm [2]uint64
	var processed [2]int64
	for i := 0; i < n; i++ {
		now := int64(1_000_000 + i*1_000)
		id := fmt.Sprintf("b%d", i%50)
		if _, err := db.SQL.Exec(`INSERT INTO ff_budget_policy (partition_key, budget_id, policy_json, created_at_ms, updated_at_ms, next_reset_at_ms)
VALUES (0, ?, '{"reset_interval_ms":1000000000}', 0, 0, ?)
ON CONFLICT DO UPDATE SET next_reset_at_ms = excluded.next_reset_at_ms`, id, now-1); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL.Exec(`INSERT OR REPLACE INTO ff_budget_usage VALUES (0, ?, 'tokens', 7, NULL, 0)`, id); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL.Exec(`INSERT INTO ff_worker_registry VALUES ('ns', ?, 'w', 'a', '', ?, 10, 0)`, fmt.Sprint("w", i), now-100); err != nil {
			t.Fatal(err)
		}
		for j, r := range runners {
			rep, err := r.Tick(ctx, now)
			if err != nil {
				t.Fatalf("tick %d of %s: %v", i, r.Plugin().Name(), err)
			}
			processed[j] += rep.Processed
		}
		if i == n/10 {
			heapWarm = heapAfterGC()
		}
		if i == n/2 { // a guest's heap settles after a few thousand ticks
			for j, r := range runners {
				guestWarm[j] = r.MemoryBytes()
			}
		}
	}
	heapEnd := heapAfterGC()
	if processed[0] != int64(n) || processed[1] != int64(n) {
		t.Errorf("processed %v over %d ticks, want %d each", processed, n, n)
	}
	// Flat: growth after warm-up stays within a few MiB (not a timing bound).
	if heapEnd > heapWarm+8<<20 {
		t.Errorf("heap grew from %d to %d bytes after warm-up", heapWarm, heapEnd)
	}
	t.Logf("%d ticks per plugin; heap after warm-up %d KiB, at end %d KiB", n, heapWarm>>10, heapEnd>>10)
	// The guests reuse one instance each; its linear memory must not keep
	// growing (it only grows, so any leak shows here).
	for j, r := range runners {
		if end := r.MemoryBytes(); end > guestWarm[j]+4<<20 {
			t.Errorf("%s guest memory grew from %d to %d bytes after warm-up", r.Plugin().Name(), guestWarm[j], end)
		} else {
			t.Logf("%s guest memory %d KiB after warm-up, %d KiB at end", r.Plugin().Name(), guestWarm[j]>>10, end>>10)
		}
	}

	for _, r := range runners {
		r.Close(ctx)
	}
	for _, p := range plugins {
		p.Close(ctx)
	}
	db.Close()
	if after := openFDs(t); after > fdsBefore {
		t.Errorf("file descriptors: %d before, %d after closing everything", fdsBefore, after)
	}
	goleak.VerifyNone(t, opts)
}
