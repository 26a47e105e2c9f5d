// Package oneshot runs one plugin's ticks by hand, outside a daemon and
// without a supervisor: what `ffwasmhost tick` does. It opens nothing
// itself: the caller hands it a store and an engine. It must not import
// host/daemon.
package oneshot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi/describe"
	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// Defaults.
const (
	// DefaultMaxTicks is Options.MaxTicks's default.
	DefaultMaxTicks = 100_000
	// DefaultMaxDiffRows is Options.MaxDiffRows's default.
	DefaultMaxDiffRows = 1000
)

// Options configure Tick.
type Options struct {
	// PluginDir is searched for the plugin. Required unless PluginFile is
	// set.
	PluginDir string
	// PluginFile, if set, is the plugin's file: it is loaded alone, and
	// must be called Plugin.
	PluginFile string
	// Plugin is the name of the plugin to tick (its describe name, which is
	// usually also its file name). Required.
	Plugin string
	// NowMS is the now_ms every tick is given.
	NowMS int64
	// Partition is the partition every tick is for (tick_partition, ABI
	// 1.4): on PostgreSQL a partition-scoped plugin handles that one.
	Partition int
	// UntilIdle repeats the tick until one processes nothing.
	UntilIdle bool
	// MaxTicks bounds UntilIdle. Default DefaultMaxTicks.
	MaxTicks int
	// DryRun runs the ticks in a transaction that is rolled back at the
	// end (host.RunnerOptions.DryRun): later ticks see earlier ticks'
	// changes, the database sees none, and the ledger records nothing.
	DryRun bool
	// Diff keeps the rows the ticks changed (or, in a dry run, would
	// change) in Summary.Diff: at most MaxDiffRows over the whole run, the
	// rest counted. Default MaxDiffRows DefaultMaxDiffRows.
	Diff        bool
	MaxDiffRows int
	// Force ticks even while a daemon is active on the database. Without
	// it, on a store with an active lock (store.ActiveLocker), Tick takes
	// the lock for the run, as a daemon does, so a plugin's ticks never
	// overlap, and refuses (ErrDaemonActive) while a daemon holds it.
	Force bool
	// Grant, if set, is the operator's grant for the plugin: a plugin that
	// declares a table beyond it is refused, as the daemon refuses it.
	Grant *host.Grant
	// Config are the operator's configuration values for the plugin's
	// keys (host.ResolveConfig); the keys it declares and Config lacks get
	// their defaults. LookupEnv reads the secrets they name; default
	// os.LookupEnv.
	Config    map[string]host.ConfigValue
	LookupEnv func(string) (string, bool)
	// Logger receives the plugin's log. Default slog.Default().
	Logger *slog.Logger
}

// Summary totals the ticks Tick ran. Its JSON is the line the command
// prints.
type Summary struct {
	Plugin    string `json:"plugin"`
	Processed int64  `json:"processed"`
	Errors    int64  `json:"errors"`
	Ticks     int    `json:"ticks"`
	// Changes counts the rows the ticks changed (or, in a dry run, would
	// have), by table.
	Changes []store.TableChanges `json:"changes,omitempty"`
	// Error is the failing tick's error, if one failed.
	Error string `json:"error,omitempty"`
	// Migrations are the plugin's migrations the run applied before its
	// first tick; PendingMigrations, in a dry run, those it would have
	// applied and did not (the ticks ran without them).
	Migrations        []MigrationRef `json:"migrations,omitempty"`
	PendingMigrations []MigrationRef `json:"pending_migrations,omitempty"`
	// Diff is the changed rows, with Options.Diff.
	Diff *Diff `json:"-"`
	// PluginSHA256 is the sha256 of the plugin file that ticked.
	PluginSHA256 string `json:"-"`
}

// MigrationRef names one migration of a plugin.
type MigrationRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

func migrationRefs(ms []store.PluginMigration) []MigrationRef {
	var out []MigrationRef
	for _, m := range ms {
		out = append(out, MigrationRef{ID: m.ID, Name: m.Name})
	}
	return out
}

// Diff is the rows a run changed, in order.
type Diff struct {
	Rows []Row
	// Omitted counts the changed rows past Options.MaxDiffRows.
	Omitted int64
	// Columns names each table's columns, in the order of Row's values.
	Columns map[string][]store.Column
}

// Row is one changed row and the tick (1-based) that changed it.
type Row struct {
	Tick int
	store.RowChange
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
	// ErrNotIdle: UntilIdle reached MaxTicks with work still being done.
	ErrNotIdle = errors.New("still processing")
	// ErrDaemonActive: a daemon holds the database's active lock.
	ErrDaemonActive = errors.New("a daemon is active on this database")
)

// Tick runs the named plugin's scan_tick once (or, with UntilIdle, until a
// tick processes nothing) at a fixed now_ms, against st. Unless it is a
// dry run, each tick is written to the tick ledger. A tick that fails ends
// the run with a *TickError; errors before any tick (plugin directory,
// unknown plugin, active daemon) are returned as they are.
func Tick(ctx context.Context, st store.Store, eng *host.Engine, opts Options) (sum Summary, err error) {
	if opts.MaxTicks <= 0 {
		opts.MaxTicks = DefaultMaxTicks
	}
	if opts.MaxDiffRows <= 0 {
		opts.MaxDiffRows = DefaultMaxDiffRows
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	sum.Plugin = opts.Plugin
	if opts.Partition < 0 {
		return sum, fmt.Errorf("partition %d is negative", opts.Partition)
	}
	if !describe.ValidName(opts.Plugin) {
		return sum, fmt.Errorf("%w %q: a plugin name is a lowercase letter, then lowercase letters, digits or '_'", ErrUnknownPlugin, opts.Plugin)
	}
	if opts.PluginFile == "" {
		if err := host.CheckPluginDir(opts.PluginDir); err != nil {
			return sum, err
		}
	}
	if al, ok := st.(store.ActiveLocker); ok && !opts.Force {
		release, err := al.TryActive()
		if errors.Is(err, store.ErrActive) {
			return sum, fmt.Errorf("database %s: %w: %w; a tick beside it could overlap the daemon's ticks: stop the daemon or pass --force",
				st.Location(), ErrDaemonActive, err)
		}
		if err != nil {
			return sum, fmt.Errorf("database %s: %w", st.Location(), err)
		}
		defer release()
	}
	var p *host.Plugin
	if opts.PluginFile != "" {
		p, err = loadFile(ctx, eng, opts.PluginFile, opts.Plugin)
	} else {
		p, err = FindPlugin(ctx, eng, opts.PluginDir, opts.Plugin)
	}
	if err != nil {
		return sum, err
	}
	defer p.Close(context.WithoutCancel(ctx))
	sum.PluginSHA256 = p.SHA256
	if opts.Grant != nil {
		if err := host.CheckGrant(p.Desc, *opts.Grant); err != nil {
			return sum, err
		}
	}
	lookupEnv := opts.LookupEnv
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	cfg, err := host.ResolveConfig(p.Desc, opts.Config, lookupEnv)
	if err != nil {
		return sum, err
	}
	// The plugin's migrations, as the daemon applies them when it loads
	// it; a dry run only says which are pending.
	if opts.DryRun {
		pending, err := host.PendingMigrations(ctx, st, p.Desc)
		if err != nil {
			return sum, err
		}
		sum.PendingMigrations = migrationRefs(pending)
		for _, m := range pending {
			opts.Logger.Warn("dry run: migration pending, not applied", "plugin", p.Desc.Name, "id", m.ID, "migration", m.Name)
		}
	} else {
		applied, err := host.ApplyMigrations(ctx, st, p.Desc)
		if err != nil {
			return sum, err
		}
		sum.Migrations = migrationRefs(applied)
	}
	var last store.Changes
	r, err := host.NewRunner(ctx, st, p, host.RunnerOptions{DryRun: opts.DryRun, Diff: opts.Diff, MaxDiffRows: opts.MaxDiffRows,
		Config: host.ConfigValues(cfg), Changed: func(ch store.Changes) { last = ch }})
	if err != nil {
		return sum, err
	}
	defer func() {
		if cerr := r.Close(context.WithoutCancel(ctx)); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if opts.Diff {
		sum.Diff = &Diff{Columns: map[string][]store.Column{}}
	}
	by := byline()
	for {
		start := time.Now()
		last = store.Changes{}
		rep, terr := r.TickPartition(ctx, opts.NowMS, opts.Partition, nil)
		sum.Ticks++
		sum.Processed += rep.Processed
		sum.Errors += rep.Errors
		sum.Changes = store.Add(sum.Changes, last.Tables)
		if sum.Diff != nil {
			sum.Diff.add(ctx, st, sum.Ticks, last, opts.MaxDiffRows)
		}
		if !opts.DryRun { // a dry run changed nothing, its tick included
			t := store.Tick{Plugin: p.Desc.Name, Partition: opts.Partition, Start: start, End: time.Now(), Processed: rep.Processed, Errors: rep.Errors,
				Version: p.Desc.Version, SHA256: p.SHA256, Daemon: by, Changes: last.Tables,
				Interval: time.Duration(p.Desc.DefaultIntervalMS) * time.Millisecond}
			if terr != nil {
				t.Err = terr.Error()
			}
			if err := st.RecordTick(context.WithoutCancel(ctx), t); err != nil {
				opts.Logger.Warn("tick ledger not written", "plugin", p.Desc.Name, "err", err)
			}
		}
		if terr == nil && opts.UntilIdle && rep.Processed != 0 {
			switch {
			case sum.Ticks >= opts.MaxTicks:
				terr = fmt.Errorf("%w after %d ticks", ErrNotIdle, sum.Ticks)
			case ctx.Err() != nil:
				terr = ctx.Err()
			default:
				continue
			}
		}
		if terr != nil {
			sum.Error = terr.Error()
			return sum, &TickError{Plugin: opts.Plugin, Tick: sum.Ticks, Err: terr}
		}
		return sum, nil
	}
}

// add keeps a tick's changed rows, up to max over the run, and looks up
// the columns of every table they are in.
func (d *Diff) add(ctx context.Context, st store.Store, tick int, ch store.Changes, max int) {
	d.Omitted += ch.Omitted
	for _, rc := range ch.Rows {
		if len(d.Rows) >= max {
			d.Omitted++
			continue
		}
		d.Rows = append(d.Rows, Row{Tick: tick, RowChange: rc})
		if _, ok := d.Columns[rc.Table]; !ok {
			cols, err := st.Columns(ctx, rc.Table)
			if err != nil {
				cols = nil // shown by position
			}
			d.Columns[rc.Table] = cols
		}
	}
}

// byline names this process in the ledger's daemon column.
func byline() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("ffwasmhost tick on %s/%d", h, os.Getpid())
}

// loadFile loads the plugin file, which must be called name.
func loadFile(ctx context.Context, eng *host.Engine, file, name string) (*host.Plugin, error) {
	p, err := eng.Load(ctx, file, host.Limits{})
	if err != nil {
		return nil, err
	}
	if p.Desc.Name != name {
		p.Close(ctx)
		return nil, fmt.Errorf("%w %q: %s is plugin %q", ErrUnknownPlugin, name, file, p.Desc.Name)
	}
	return p, nil
}

// FindPlugin loads the plugin called name from dir, with the engine's one
// loader (host.Engine.LoadDir): files that fail to load are skipped, and a
// name that several files claim is refused, as a daemon refuses it. If no
// file has the name, the error wraps ErrUnknownPlugin and lists the names
// that are there.
func FindPlugin(ctx context.Context, eng *host.Engine, dir, name string) (*host.Plugin, error) {
	plugins, errs, err := eng.LoadDir(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("plugin directory %s: %w", dir, err)
	}
	var found *host.Plugin
	var known []string
	for _, p := range plugins {
		if p.Desc.Name == name {
			found = p
			continue
		}
		known = append(known, p.Desc.Name)
		p.Close(ctx)
	}
	if found != nil {
		return found, nil
	}
	var invalid []string
	for _, err := range errs {
		if nc, ok := errors.AsType[*host.NameConflictError](err); ok && nc.Name == name {
			return nil, err
		}
		invalid = append(invalid, err.Error())
	}
	slices.Sort(known)
	msg := "known: none"
	if len(known) > 0 {
		msg = "known: " + strings.Join(known, ", ")
	}
	if len(invalid) > 0 {
		msg += fmt.Sprintf("; %d invalid files skipped", len(invalid))
	}
	return nil, fmt.Errorf("%w %q in %s (%s)", ErrUnknownPlugin, name, dir, msg)
}
