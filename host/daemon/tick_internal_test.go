package daemon

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

// tickFixture returns TickOptions over a migrated database and a plugin
// directory holding the given modules.
func tickFixture(t *testing.T, mods map[string]tinySpec) TickOptions {
	t.Helper()
	f := newFixture(t, Config{})
	for file, spec := range mods {
		f.write(file, tinyWasm(t, spec))
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, f.db, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return TickOptions{DBPath: f.db, PluginDir: f.dir, CacheDir: f.cfg.CacheDir, NowMS: 1_000,
		Logger: slog.New(slog.DiscardHandler)}
}

func TestTick(t *testing.T) {
	opts := tickFixture(t, map[string]tinySpec{
		"alpha.wasm": alpha("1"),
		"other.wasm": {Name: "idle", Version: "1", IntervalMS: 20},
		"fail.wasm":  {Name: "fail", Version: "1", IntervalMS: 20, Status: 1},
	})
	ctx := context.Background()
	run := func(mod func(*TickOptions)) (TickSummary, error) {
		o := opts
		mod(&o)
		return Tick(ctx, o)
	}

	sum, err := run(func(o *TickOptions) { o.Plugin = "alpha" })
	if err != nil || sum != (TickSummary{Plugin: "alpha", Processed: 1, Ticks: 1}) {
		t.Errorf("one tick = %+v, %v", sum, err)
	}
	// Found by describe name even when the file is named otherwise.
	sum, err = run(func(o *TickOptions) { o.Plugin = "idle"; o.UntilIdle = true })
	if err != nil || sum != (TickSummary{Plugin: "idle", Ticks: 1}) {
		t.Errorf("until idle on an idle plugin = %+v, %v", sum, err)
	}
	// A plugin that always has work hits the cap.
	sum, err = run(func(o *TickOptions) { o.Plugin = "alpha"; o.UntilIdle = true; o.MaxTicks = 5 })
	var te *TickError
	if !errors.As(err, &te) || !errors.Is(err, ErrNotIdle) || sum.Ticks != 5 || sum.Processed != 5 || sum.Error == "" {
		t.Errorf("until idle, never idle = %+v, %v", sum, err)
	}
	sum, err = run(func(o *TickOptions) { o.Plugin = "fail" })
	if !errors.As(err, &te) || te.Tick != 1 || sum.Ticks != 1 || !strings.Contains(sum.Error, "scan_tick returned 1") {
		t.Errorf("failing tick = %+v, %v", sum, err)
	}
	_, err = run(func(o *TickOptions) { o.Plugin = "nope" })
	if !errors.Is(err, ErrUnknownPlugin) || !strings.Contains(err.Error(), "known: alpha, fail, idle") {
		t.Errorf("unknown plugin = %v, want the known names", err)
	}
	_, err = run(func(o *TickOptions) { o.Plugin = "alpha"; o.DBPath = filepath.Join(t.TempDir(), "missing.db") })
	if !errors.Is(err, ErrNoDatabase) {
		t.Errorf("missing database = %v", err)
	}
	_, err = run(func(o *TickOptions) { o.Plugin = "alpha"; o.PluginDir = filepath.Join(t.TempDir(), "none") })
	if !errors.Is(err, ErrNoPluginDir) {
		t.Errorf("missing plugin dir = %v", err)
	}
	_, err = run(func(o *TickOptions) { o.Plugin = "alpha"; o.DryRun = true; o.UntilIdle = true; o.MaxTicks = 3 })
	if !errors.Is(err, ErrNotIdle) {
		t.Errorf("dry run = %v", err)
	}
}

// TestTickBesideADaemon: a one-shot tick takes the database's active lock,
// so it refuses to run beside a live daemon (whose ticks of the plugin it
// could overlap) unless forced, and a daemon started meanwhile waits.
func TestTickBesideADaemon(t *testing.T) {
	opts := tickFixture(t, map[string]tinySpec{"alpha.wasm": alpha("1")})
	opts.Plugin = "alpha"
	lock, err := sqlite.TryActiveLock(opts.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Tick(context.Background(), opts)
	if !errors.Is(err, ErrDaemonActive) || !strings.Contains(err.Error(), sqlite.LockPath(opts.DBPath)) ||
		!strings.Contains(err.Error(), "pid ") || !strings.Contains(err.Error(), "--force") {
		t.Errorf("tick beside a daemon = %v, want ErrDaemonActive naming the lock, its holder and --force", err)
	}
	opts.Force = true
	if sum, err := Tick(context.Background(), opts); err != nil || sum.Ticks != 1 {
		t.Errorf("forced tick = %+v, %v", sum, err)
	}
	lock.Release()
	opts.Force = false
	if _, err := Tick(context.Background(), opts); err != nil {
		t.Errorf("tick with no daemon = %v", err)
	}
	if l, err := sqlite.TryActiveLock(opts.DBPath); err != nil {
		t.Errorf("the tick kept the active lock: %v", err)
	} else {
		l.Release()
	}
}
