// Package badenv checks that a hostile environment (a full disk, a
// database that vanishes) fails ticks cleanly: no panic, nothing
// half-applied, recovery once the cause is fixed.
package badenv

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

// TestDiskFullFailsTickWholeAndRecovers fills a size-capped database so
// worker_ttl's event inserts cannot fit: the tick fails, its transaction
// rolls back (every worker is still registered, no event written), and a
// runner on the same file with room finishes the sweep.
func TestDiskFullFailsTickWholeAndRecovers(t *testing.T) {
	const workers = 3000
	const now = int64(1_000_000)
	wasm := plugintest.Build(t, "../../plugins/worker_ttl")
	h := plugintest.New(t, wasm)
	path := h.Path
	// Fill the registry, then cap the file at its current size plus a page.
	h.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ?)
INSERT INTO ff_worker_registry SELECT 'ns', printf('worker-%06d', i), 'w', 'lane', '', 0, 10, 0 FROM n`, workers)
	size, _ := h.Int(`SELECT page_count * page_size FROM pragma_page_count, pragma_page_size`)

	full := plugintestAt(t, wasm, path, size+4096)
	_, err := full.Tick(context.Background(), now)
	if err == nil || !strings.Contains(err.Error(), "full") {
		t.Fatalf("tick on a full database = %v, want database or disk is full", err)
	}
	if n, _ := h.Int(`SELECT count(*) FROM ff_worker_registry`); n != workers {
		t.Errorf("%d workers left after a failed sweep, want all %d (half-applied)", n, workers)
	}
	if n, _ := h.Int(`SELECT count(*) FROM ff_worker_registry_event`); n != 0 {
		t.Errorf("%d events left after a failed sweep, want 0 (half-applied)", n)
	}
	roomy := plugintestAt(t, wasm, path, 0)
	rep, err := roomy.Tick(context.Background(), now)
	if err != nil || rep.Processed != workers {
		t.Fatalf("tick with room = %+v, %v; want %d processed", rep, err, workers)
	}
}

// plugintestAt binds the plugin to the existing database at path with a
// size cap (0: none), returning its runner.
func plugintestAt(tb testing.TB, wasm, path string, maxSize int64) *host.Runner {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path, sqlite.Options{MaxSizeBytes: maxSize})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	eng, err := plugintest.Engine()
	if err != nil {
		tb.Fatal(err)
	}
	p, err := eng.Load(ctx, wasm, host.Limits{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close(ctx) })
	r, err := host.NewRunner(ctx, db, p, host.RunnerOptions{})
	if err != nil {
		tb.Fatal(fmt.Errorf("runner on %s: %w", filepath.Base(path), err))
	}
	tb.Cleanup(func() { r.Close(ctx) })
	return r
}
