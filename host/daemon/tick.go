package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/store"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

// TickOptions configure Tick: one plugin ticked by hand, without the
// supervisor.
type TickOptions struct {
	// DBPath is the database; it must exist and be migrated. Default
	// DefaultDBPath.
	DBPath string
	// PluginDir is searched for the plugin. Default DefaultPluginDir.
	PluginDir string
	// Plugin is the name of the plugin to tick (its describe name, which is
	// usually also its file name). Required.
	Plugin string
	// NowMS is the now_ms every tick is given.
	NowMS int64
	// UntilIdle repeats the tick until one processes nothing.
	UntilIdle bool
	// MaxTicks bounds UntilIdle. Default DefaultMaxTicks.
	MaxTicks int
	// DryRun runs the ticks in a transaction that is rolled back at the
	// end (host.RunnerOptions.DryRun): later ticks see earlier ticks'
	// changes, the database sees none.
	DryRun bool
	// Force ticks even while a daemon is active on the database. Without
	// it Tick takes the database's active lock for the run, as a daemon
	// does, so a plugin's ticks never overlap, and refuses (ErrDaemonActive)
	// when a daemon holds it.
	Force bool
	// DBOptions, Limits, CacheDir and Logger are as in Config.
	DBOptions sqlite.Options
	Limits    host.Limits
	CacheDir  string
	Logger    *slog.Logger
}

// TickSummary totals the ticks Tick ran. It is the one JSON line the
// command prints.
type TickSummary struct {
	Plugin    string `json:"plugin"`
	Processed int64  `json:"processed"`
	Errors    int64  `json:"errors"`
	Ticks     int    `json:"ticks"`
	// Error is the failing tick's error, if one failed.
	Error string `json:"error,omitempty"`
}

// TickError is returned by Tick when a tick ran and failed, or when
// UntilIdle hit MaxTicks. The summary returned with it counts every tick,
// the failed one included.
type TickError struct {
	Plugin string
	Tick   int // 1-based number of the tick that failed
	Err    error
}

func (e *TickError) Error() string { return fmt.Sprintf("tick %d of %s: %v", e.Tick, e.Plugin, e.Err) }

// Unwrap returns the tick's error.
func (e *TickError) Unwrap() error { return e.Err }

// Errors Tick wraps.
var (
	// ErrUnknownPlugin: no valid file in the plugin directory has the name.
	ErrUnknownPlugin = errors.New("unknown plugin")
	// ErrNoDatabase: the database file does not exist.
	ErrNoDatabase = errors.New("database does not exist")
	// ErrNotIdle: UntilIdle reached MaxTicks with work still being done.
	ErrNotIdle = errors.New("still processing")
	// ErrDaemonActive: a daemon holds the database's active lock.
	ErrDaemonActive = errors.New("a daemon is active on this database")
)

// Tick runs the named plugin's scan_tick once (or, with UntilIdle, until a
// tick processes nothing) at a fixed now_ms, against an existing database.
// A tick that fails ends the run with a *TickError; errors before any tick
// (database, plugin directory, unknown plugin) are returned as they are.
func Tick(ctx context.Context, opts TickOptions) (sum TickSummary, err error) {
	if opts.DBPath == "" {
		opts.DBPath = DefaultDBPath
	}
	if opts.PluginDir == "" {
		opts.PluginDir = DefaultPluginDir
	}
	if opts.MaxTicks <= 0 {
		opts.MaxTicks = DefaultMaxTicks
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	sum.Plugin = opts.Plugin
	if !ValidPluginName(opts.Plugin) {
		return sum, fmt.Errorf("%w %q: a plugin name is a lowercase letter, then lowercase letters, digits or '_'", ErrUnknownPlugin, opts.Plugin)
	}
	if err := CheckPluginDir(opts.PluginDir); err != nil {
		return sum, err
	}
	if _, err := os.Stat(opts.DBPath); errors.Is(err, fs.ErrNotExist) {
		return sum, fmt.Errorf("database %s: %w (create it with: ffwasmhost migrate --db %s)", opts.DBPath, ErrNoDatabase, opts.DBPath)
	}
	if !opts.Force {
		lock, err := sqlite.TryActiveLock(opts.DBPath)
		if errors.Is(err, sqlite.ErrLocked) {
			holder := sqlite.LockHolder(opts.DBPath)
			if holder != "" {
				holder = ", " + holder
			}
			return sum, fmt.Errorf("database %s: %w (lock %s%s); a tick beside it could overlap the daemon's ticks: stop the daemon or pass --force",
				opts.DBPath, ErrDaemonActive, sqlite.LockPath(opts.DBPath), holder)
		}
		if err != nil {
			return sum, fmt.Errorf("database %s: %w", opts.DBPath, err)
		}
		defer lock.Release()
	}
	db, err := sqlite.Open(ctx, opts.DBPath, opts.DBOptions)
	if err != nil {
		return sum, err
	}
	defer db.Close()
	if v, err := db.SchemaVersion(ctx); err != nil {
		return sum, fmt.Errorf("database %s: %w", opts.DBPath, err)
	} else if v > sqlite.LatestSchemaVersion {
		return sum, fmt.Errorf("database %s: host schema version %d, this ffwasmhost knows up to %d: %w (upgrade ffwasmhost)",
			opts.DBPath, v, sqlite.LatestSchemaVersion, sqlite.ErrSchemaTooNew)
	}
	eng, err := NewEngine(opts.CacheDir, opts.Limits, opts.Logger)
	if err != nil {
		return sum, err
	}
	defer eng.Close(context.WithoutCancel(ctx))
	p, err := FindPlugin(ctx, eng, opts.PluginDir, opts.Plugin)
	if err != nil {
		return sum, err
	}
	defer p.Close(context.WithoutCancel(ctx))
	r, err := host.NewRunner(ctx, db, p, host.RunnerOptions{DryRun: opts.DryRun})
	if err != nil {
		return sum, err
	}
	defer func() {
		if cerr := r.Close(context.WithoutCancel(ctx)); cerr != nil && err == nil {
			err = cerr
		}
	}()
	host, _ := os.Hostname()
	by := fmt.Sprintf("ffwasmhost tick on %s/%d", host, os.Getpid())
	for {
		start := time.Now()
		rep, terr := r.Tick(ctx, opts.NowMS)
		if !opts.DryRun { // a dry run changed nothing, its tick included
			t := store.Tick{Plugin: p.Desc.Name, Start: start, End: time.Now(), Processed: rep.Processed, Errors: rep.Errors,
				Version: p.Desc.Version, SHA256: p.SHA256, Daemon: by, Interval: time.Duration(p.Desc.DefaultIntervalMS) * time.Millisecond}
			if terr != nil {
				t.Err = terr.Error()
			}
			if err := db.RecordTick(context.WithoutCancel(ctx), t); err != nil {
				opts.Logger.Warn("tick ledger not written", "plugin", p.Desc.Name, "err", err)
			}
		}
		sum.Ticks++
		sum.Processed += rep.Processed
		sum.Errors += rep.Errors
		if terr != nil {
			sum.Error = terr.Error()
			return sum, &TickError{Plugin: opts.Plugin, Tick: sum.Ticks, Err: terr}
		}
		if !opts.UntilIdle || rep.Processed == 0 {
			return sum, nil
		}
		if sum.Ticks >= opts.MaxTicks {
			err := fmt.Errorf("%w after %d ticks", ErrNotIdle, sum.Ticks)
			sum.Error = err.Error()
			return sum, &TickError{Plugin: opts.Plugin, Tick: sum.Ticks, Err: err}
		}
		if err := ctx.Err(); err != nil {
			sum.Error = err.Error()
			return sum, &TickError{Plugin: opts.Plugin, Tick: sum.Ticks, Err: err}
		}
	}
}

// FindPlugin loads the plugin called name from dir. It tries dir/name.wasm
// first, then every other file; files that fail to load are skipped. If
// none has the name, the error wraps ErrUnknownPlugin and lists the names
// that are there.
func FindPlugin(ctx context.Context, eng *host.Engine, dir, name string) (*host.Plugin, error) {
	files, err := host.PluginFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("plugin directory %s: %w", dir, err)
	}
	guess := filepath.Join(dir, name+".wasm")
	for i, f := range files {
		if f == guess {
			files[0], files[i] = files[i], files[0]
			break
		}
	}
	var known, invalid []string
	for _, f := range files {
		p, err := eng.Load(ctx, f, host.Limits{})
		if err != nil {
			invalid = append(invalid, filepath.Base(f))
			continue
		}
		if p.Desc.Name == name {
			return p, nil
		}
		known = append(known, p.Desc.Name)
		p.Close(ctx)
	}
	slices.Sort(known)
	msg := "known: none"
	if len(known) > 0 {
		msg = "known: " + strings.Join(known, ", ")
	}
	if len(invalid) > 0 {
		msg += "; invalid files skipped: " + strings.Join(invalid, ", ")
	}
	return nil, fmt.Errorf("%w %q in %s (%s)", ErrUnknownPlugin, name, dir, msg)
}
