package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/daemon"
	"github.com/ffwasmhost/ffwasmhost/host/sched"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

type runOpts struct {
	db, plugins, http, cacheDir *string
	intervals                   intervalFlag
	grace, standbyPoll          *time.Duration
	minInterval                 *time.Duration
	drain                       nameSet
	drainPause                  *time.Duration
	catchUp                     *string
	staleAfter                  *int
	fixtures                    *string
	limits                      *limitFlag
	sync                        *string
	pluginHeap                  *int64
	log                         *logFlags
}

func (a *app) runFlags() (*flag.FlagSet, *runOpts) {
	fs := newFlagSet("run")
	o := &runOpts{intervals: intervalFlag{}, drain: nameSet{}}
	o.db = fs.String("db", a.envOr(envDB, "./"+daemon.DefaultDBPath), "SQLite database file, created if missing (env "+envDB+")")
	o.plugins = fs.String("plugins", a.envOr(envPluginsDir, "./"+daemon.DefaultPluginDir), "plugin directory, watched for *.wasm files (env "+envPluginsDir+")")
	o.http = fs.String("http", a.envOr(envHTTPAddr, daemon.DefaultHTTPAddr), `admin address for /healthz, /readyz, /metrics, /v1/plugins; "" disables (env `+envHTTPAddr+")")
	fs.Var(o.intervals, "interval", "set one plugin's tick interval as `NAME=DURATION`, e.g. budget_reset=2s; repeatable; 0 disables (env FF_BUDGET_RESET_INTERVAL_S and FF_WORKER_REGISTRY_TTL_INTERVAL_S, in seconds, for the built-in two; default: the plugin's own)")
	fs.Var(o.drain, "drain", "drain `NAME`'s backlog: after a tick that reports work left, tick again after --drain-pause instead of a full interval; repeatable (default: off, FlowFabric's cadence)")
	o.drainPause = fs.Duration("drain-pause", sched.DefaultDrainPause, "pause between two ticks of a plugin draining its backlog; other writers take the write lock meanwhile")
	o.catchUp = fs.String("catch-up", "never", "`once`: at start, a plugin whose last tick (in the tick ledger) is more than one interval old ticks at once; never: FlowFabric's first tick one interval after start")
	o.staleAfter = fs.Int("stale-after", daemon.DefaultStaleAfter, "a plugin is stale, and /readyz fails, after this many of its intervals without a successful tick")
	o.fixtures = fs.String("fixtures", "", "write the first failed tick of each run of failures as a replay fixture (for ffwasmhost replay) into `DIR`, made private if missing; the newest 10 per plugin are kept (default: off)")
	o.minInterval = fs.Duration("min-interval", daemon.DefaultMinInterval, "shortest tick interval a plugin's own default_interval_ms may set; shorter defaults are raised to it (an --interval may go lower)")
	o.standbyPoll = fs.Duration("standby-poll", daemon.DefaultStandbyPoll, "while another daemon is active on the database, how often to try to take over")
	o.grace = fs.Duration("grace", daemon.DefaultGrace, "on SIGINT/SIGTERM, how long running ticks may take to finish before they are aborted")
	o.sync = synchronousFlag(fs)
	o.pluginHeap = pluginHeapFlag(fs)
	o.cacheDir = fs.String("cache-dir", "", "wazero compilation cache `DIR` (default "+cacheDirDefault()+")")
	o.log = a.addLogFlags(fs)
	o.limits = addLimitFlag(fs)
	return fs, o
}

// cmdRun runs the daemon until SIGINT or SIGTERM. SIGHUP rescans the plugin
// directory. Exit 0 when every tick loop drained within --grace, 1
// otherwise.
func (a *app) cmdRun(args []string) int {
	fs, o := a.runFlags()
	pos, code, ok := a.parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		a.failf("run: unexpected argument %q (see 'ffwasmhost help run')", pos[0])
		return exitUsage
	}
	if *o.grace < 0 {
		a.failf("run: --grace %v is negative", *o.grace)
		return exitUsage
	}
	if *o.catchUp != "once" && *o.catchUp != "never" {
		a.failf("run: --catch-up %q: want once or never", *o.catchUp)
		return exitUsage
	}
	if *o.staleAfter <= 0 {
		a.failf("run: --stale-after %d: want a positive number of intervals", *o.staleAfter)
		return exitUsage
	}
	if *o.standbyPoll <= 0 {
		a.failf("run: --standby-poll %v must be positive", *o.standbyPoll)
		return exitUsage
	}
	intervals, err := a.envIntervals()
	if err != nil {
		a.failf("run: %v", err)
		return exitUsage
	}
	maps.Copy(intervals, o.intervals) // flags beat env
	log := o.log.logger(a.stderr)
	d, err := daemon.New(daemon.Config{
		DBPath:       *o.db,
		PluginDir:    *o.plugins,
		HTTPAddr:     *o.http,
		Intervals:    intervals,
		MinInterval:  *o.minInterval,
		Drain:        o.drain,
		DrainPause:   *o.drainPause,
		CatchUp:      *o.catchUp == "once",
		StaleAfter:   *o.staleAfter,
		FixtureDir:   *o.fixtures,
		Grace:        *o.grace,
		StandbyPoll:  *o.standbyPoll,
		Limits:       o.limits.all,
		PluginLimits: o.limits.plugin,
		CacheDir:     *o.cacheDir,
		DBOptions:    sqlite.Options{Synchronous: *o.sync, PluginHeapBytes: *o.pluginHeap},
		Logger:       log,
	})
	if err != nil {
		a.failf("run: %v", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := d.Open(ctx); err != nil {
		if errors.Is(err, daemon.ErrStandbyStopped) {
			log.Info("signal received while on standby; stopped")
			return exitOK
		}
		a.failf("run: %v", err)
		return exitFail
	}
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-hup:
			log.Info("SIGHUP: rescanning the plugin directory", "dir", *o.plugins)
			go d.Rescan(ctx)
		}
	}
	stop() // a second signal now kills the process at once
	log.Info("signal received; draining tick loops (signal again to force)", "grace", *o.grace)
	if err := d.Close(context.Background()); err != nil {
		log.Error("shutdown incomplete", "err", err)
		return exitFail
	}
	return exitOK
}

// cmdMigrate creates or upgrades the host's schema, then applies the
// pending migrations of every plugin in the plugin directory: "ok DB",
// then one "applied PLUGIN ID NAME" line per step. A plugin whose
// migrations are refused, or a file that does not load, is reported on
// stderr and makes the exit status 1; the others are migrated.
func (a *app) cmdMigrate(args []string) int {
	fs, o := a.migrateFlags()
	pos, code, ok := a.parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		a.failf("migrate: unexpected argument %q (see 'ffwasmhost help migrate')", pos[0])
		return exitUsage
	}
	_, explicit := a.lookupEnv(envPluginsDir)
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "plugins" })
	// The plugin directory first: a bad one changes nothing.
	withPlugins := true
	if err := host.CheckPluginDir(*o.plugins); err != nil {
		if explicit || !errors.Is(err, host.ErrNoPluginDir) {
			a.failf("migrate: %v", err)
			return exitFail
		}
		withPlugins = false // no plugins here: the host's schema only
	}
	ctx := context.Background()
	h, err := sqlite.Open(ctx, *o.db, sqlite.Options{})
	if err != nil {
		a.failf("migrate: %v", err)
		return exitFail
	}
	defer h.Close()
	if err := h.Migrate(ctx); err != nil {
		a.failf("database %s: %v", *o.db, err)
		return exitFail
	}
	fmt.Fprintf(a.stdout, "ok %s\n", *o.db)
	if !withPlugins {
		return exitOK
	}
	eng, err := newEngine(*o.cacheDir, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		a.failf("migrate: %v", err)
		return exitFail
	}
	defer eng.Close(ctx)
	plugins, errs, err := eng.LoadDir(ctx, *o.plugins)
	if err != nil {
		a.failf("migrate: %s: %v", *o.plugins, err)
		return exitFail
	}
	for _, p := range plugins {
		applied, err := host.ApplyMigrations(ctx, h, p.Desc)
		for _, m := range applied {
			fmt.Fprintf(a.stdout, "applied %s %d %s\n", p.Desc.Name, m.ID, m.Name)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("migrate %s: %w", filepath.Base(p.File), err))
		}
		p.Close(ctx)
	}
	for _, err := range errs {
		a.failf("%v", err)
	}
	if len(errs) > 0 {
		return exitFail
	}
	return exitOK
}

type migrateOpts struct{ db, plugins, cacheDir *string }

func (a *app) migrateFlags() (*flag.FlagSet, migrateOpts) {
	fs := newFlagSet("migrate")
	var o migrateOpts
	o.db = fs.String("db", a.envOr(envDB, "./"+daemon.DefaultDBPath), "SQLite database file, created if missing (env "+envDB+")")
	o.plugins = fs.String("plugins", a.envOr(envPluginsDir, "./"+daemon.DefaultPluginDir),
		"plugin directory whose plugins' migrations to apply; skipped if the default is missing (env "+envPluginsDir+")")
	o.cacheDir = fs.String("cache-dir", "", "wazero compilation cache `DIR` (default "+cacheDirDefault()+")")
	return fs, o
}
