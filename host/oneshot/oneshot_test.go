package oneshot_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/internal/wasmenc"
	"github.com/ffwasmhost/ffwasmhost/host/oneshot"
	"github.com/ffwasmhost/ffwasmhost/host/plugintest"
	"github.com/ffwasmhost/ffwasmhost/host/store"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

// tiny returns a minimal plugin module named name that reports processed
// items on every tick and returns status.
func tiny(t *testing.T, name string, processed int64, status int32) []byte {
	t.Helper()
	desc, err := json.Marshal(map[string]any{
		"name": name, "abi_version": "1.0", "version": "1", "default_interval_ms": 20,
		"reads": []string{}, "writes": []string{}, "description": "test plugin " + name,
	})
	if err != nil {
		t.Fatal(err)
	}
	return wasmenc.Plugin{Desc: string(desc), Processed: processed, Status: status}.Encode()
}

// fixture is a migrated database, an engine and a plugin directory.
type fixture struct {
	st   *sqlite.Store
	eng  *host.Engine
	opts oneshot.Options
}

func newFixture(t *testing.T, files map[string][]byte) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	plugins := filepath.Join(dir, "plugins")
	if err := os.Mkdir(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, wasm := range files {
		if err := os.WriteFile(filepath.Join(plugins, name), wasm, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "ff.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	eng, err := host.NewEngine(host.EngineConfig{CacheDir: plugintest.CacheDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close(context.Background()) })
	return &fixture{st: st, eng: eng, opts: oneshot.Options{PluginDir: plugins, NowMS: 1_000, Logger: slog.New(slog.DiscardHandler)}}
}

func (f *fixture) tick(t *testing.T, mod func(*oneshot.Options)) (oneshot.Summary, error) {
	t.Helper()
	o := f.opts
	mod(&o)
	return oneshot.Tick(context.Background(), f.st, f.eng, o)
}

func TestTick(t *testing.T) {
	f := newFixture(t, map[string][]byte{
		"alpha.wasm": tiny(t, "alpha", 1, 0),
		"other.wasm": tiny(t, "idle", 0, 0),
		"fail.wasm":  tiny(t, "fail", 0, 1),
		"bad.wasm":   []byte("not wasm"),
	})
	var te *oneshot.TickError
	for _, tc := range []struct {
		name  string
		opts  func(*oneshot.Options)
		check func(oneshot.Summary, error) bool
	}{
		{"one tick", func(o *oneshot.Options) { o.Plugin = "alpha" }, func(s oneshot.Summary, err error) bool {
			return err == nil && s.Plugin == "alpha" && s.Processed == 1 && s.Ticks == 1 && s.Error == ""
		}},
		// Found by describe name even when the file is named otherwise.
		{"until idle, idle", func(o *oneshot.Options) { o.Plugin = "idle"; o.UntilIdle = true }, func(s oneshot.Summary, err error) bool {
			return err == nil && s.Ticks == 1 && s.Processed == 0
		}},
		{"until idle, never idle", func(o *oneshot.Options) { o.Plugin = "alpha"; o.UntilIdle = true; o.MaxTicks = 5 }, func(s oneshot.Summary, err error) bool {
			return errors.As(err, &te) && errors.Is(err, oneshot.ErrNotIdle) && s.Ticks == 5 && s.Processed == 5 && s.Error != ""
		}},
		{"dry run, never idle", func(o *oneshot.Options) { o.Plugin = "alpha"; o.DryRun = true; o.UntilIdle = true; o.MaxTicks = 3 }, func(s oneshot.Summary, err error) bool {
			return errors.Is(err, oneshot.ErrNotIdle) && s.Ticks == 3
		}},
		{"failing tick", func(o *oneshot.Options) { o.Plugin = "fail" }, func(s oneshot.Summary, err error) bool {
			return errors.As(err, &te) && te.Tick == 1 && s.Ticks == 1 && strings.Contains(s.Error, "scan_tick returned 1")
		}},
		{"unknown plugin", func(o *oneshot.Options) { o.Plugin = "nope" }, func(s oneshot.Summary, err error) bool {
			return errors.Is(err, oneshot.ErrUnknownPlugin) && strings.Contains(err.Error(), "known: alpha, fail, idle; 1 invalid files skipped")
		}},
		{"invalid name", func(o *oneshot.Options) { o.Plugin = "Alpha.wasm" }, func(s oneshot.Summary, err error) bool {
			return errors.Is(err, oneshot.ErrUnknownPlugin) && strings.Contains(err.Error(), "lowercase letter")
		}},
		{"missing plugin directory", func(o *oneshot.Options) { o.Plugin = "alpha"; o.PluginDir = filepath.Join(t.TempDir(), "none") }, func(s oneshot.Summary, err error) bool {
			return errors.Is(err, host.ErrNoPluginDir)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := f.tick(t, tc.opts); !tc.check(s, err) {
				t.Errorf("Tick = %+v, %v", s, err)
			}
		})
	}
}

// TestTickLedger: a tick is in the ledger, a dry run's is not.
func TestTickLedger(t *testing.T) {
	f := newFixture(t, map[string][]byte{"alpha.wasm": tiny(t, "alpha", 2, 0)})
	ctx := context.Background()
	if _, err := f.tick(t, func(o *oneshot.Options) { o.Plugin = "alpha"; o.DryRun = true }); err != nil {
		t.Fatal(err)
	}
	if recs, err := f.st.Ticks(ctx); err != nil || len(recs) != 0 {
		t.Fatalf("after a dry run, ledger = %+v, %v; want empty", recs, err)
	}
	if _, err := f.tick(t, func(o *oneshot.Options) { o.Plugin = "alpha" }); err != nil {
		t.Fatal(err)
	}
	recs, err := f.st.Ticks(ctx)
	if err != nil || len(recs) != 1 || recs[0].Plugin != "alpha" || recs[0].Processed != 2 || !strings.HasPrefix(recs[0].Daemon, "ffwasmhost tick on ") {
		t.Fatalf("ledger = %+v, %v", recs, err)
	}
}

// TestNameConflict: a name two files claim is refused, as a daemon would.
func TestNameConflict(t *testing.T) {
	f := newFixture(t, map[string][]byte{"a.wasm": tiny(t, "alpha", 1, 0), "b.wasm": tiny(t, "alpha", 2, 0)})
	_, err := f.tick(t, func(o *oneshot.Options) { o.Plugin = "alpha" })
	if !errors.Is(err, host.ErrNameConflict) || !strings.Contains(err.Error(), "also claimed by") {
		t.Errorf("Tick = %v, want a name conflict", err)
	}
}

// TestTickBesideADaemon: a one-shot tick takes the database's active lock,
// so it refuses to run beside a live daemon (whose ticks of the plugin it
// could overlap) unless forced.
func TestTickBesideADaemon(t *testing.T) {
	f := newFixture(t, map[string][]byte{"alpha.wasm": tiny(t, "alpha", 1, 0)})
	lock, err := sqlite.TryActiveLock(f.st.Path())
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.tick(t, func(o *oneshot.Options) { o.Plugin = "alpha" })
	if !errors.Is(err, oneshot.ErrDaemonActive) || !errors.Is(err, store.ErrActive) || !strings.Contains(err.Error(), sqlite.LockPath(f.st.Path())) ||
		!strings.Contains(err.Error(), "pid ") || !strings.Contains(err.Error(), "--force") {
		t.Errorf("tick beside a daemon = %v, want ErrDaemonActive naming the lock, its holder and --force", err)
	}
	if sum, err := f.tick(t, func(o *oneshot.Options) { o.Plugin = "alpha"; o.Force = true }); err != nil || sum.Ticks != 1 {
		t.Errorf("forced tick = %+v, %v", sum, err)
	}
	lock.Release()
	if _, err := f.tick(t, func(o *oneshot.Options) { o.Plugin = "alpha" }); err != nil {
		t.Errorf("tick with no daemon = %v", err)
	}
	if l, err := sqlite.TryActiveLock(f.st.Path()); err != nil {
		t.Errorf("the tick kept the active lock: %v", err)
	} else {
		l.Release()
	}
}

// TestDryRunDiff: a dry run of budget_reset over due budgets reports the
// rows it would change, bounded, with their columns, and changes nothing.
func TestDryRunDiff(t *testing.T) {
	wasm, err := os.ReadFile(plugintest.Build(t, "../../plugins/budget_reset"))
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, map[string][]byte{"budget_reset.wasm": wasm})
	const now = 1_767_225_600_000
	testutil.SeedDue(t, f.st.SQL, now, 3, 0)
	before := testutil.DumpDatabase(t, f.st.SQL, nil)

	sum, err := f.tick(t, func(o *oneshot.Options) {
		o.Plugin, o.NowMS, o.DryRun, o.Diff, o.MaxDiffRows = "budget_reset", now, true, true, 4
	})
	if err != nil {
		t.Fatal(err)
	}
	if after := testutil.DumpDatabase(t, f.st.SQL, nil); after != before {
		t.Errorf("a dry run changed the database")
	}
	var updated int64
	for _, tc := range sum.Changes {
		updated += tc.Updated
	}
	if sum.Processed != 3 || updated == 0 {
		t.Fatalf("summary = %+v, want 3 budgets reset and rows updated", sum)
	}
	d := sum.Diff
	if d == nil || len(d.Rows) != 4 || int64(len(d.Rows))+d.Omitted != updated {
		t.Fatalf("diff = %+v, want 4 rows and the other %d counted", d, updated-4)
	}
	for _, r := range d.Rows {
		cols := d.Columns[r.Table]
		if r.Tick != 1 || r.Op != store.OpUpdate || len(r.Old) != len(cols) || len(r.New) != len(cols) || len(cols) == 0 {
			t.Errorf("row %+v with columns %v", r, cols)
		}
	}
}
