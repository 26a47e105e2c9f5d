package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/cluster"
	"github.com/ffwasmhost/ffwasmhost/host/daemon"
	"github.com/ffwasmhost/ffwasmhost/host/sched"
	"github.com/ffwasmhost/ffwasmhost/host/store/postgres"
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
	pg                          *pgFlags
	partitions                  partitionsFlag
	leaseTTL                    *time.Duration
}

func (a *app) runFlags() (*flag.FlagSet, *runOpts) {
	fs := newFlagSet("run")
	o := &runOpts{intervals: intervalFlag{}, drain: nameSet{}, partitions: partitionsFlag{}}
	o.db = fs.String("db", a.envOr(envDB, "./"+daemon.DefaultDBPath), "SQLite database file, created if missing, or a postgres:// URL (env "+envDB+")")
	o.pg = addPGFlags(a, fs)
	fs.Var(o.partitions, "partitions", "on PostgreSQL: a partition family's count as `FAMILY=N`, as FlowFabric's partition config; repeatable (default budget=32, worker_registry=256)")
	o.leaseTTL = fs.Duration("lease-ttl", cluster.DefaultTTL, "on PostgreSQL: how long a daemon's heartbeat keeps its leases of (plugin, partition) pairs; a daemon that dies has its partitions taken over within twice this")
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
		PGOptions:    o.pg.options(),
		Partitions:   o.partitions,
		LeaseTTL:     *o.leaseTTL,
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

// cmdMigrate creates or upgrades the schema. On PostgreSQL it also creates
// or updates the login role of every plugin in the plugin directory, and
// when it may not, prints the SQL an operator must run instead.
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
	ctx := context.Background()
	if postgres.IsURL(*o.db) {
		return a.migratePostgres(ctx, o)
	}
	if *o.printRoles {
		a.failf("migrate: --print-roles: plugin roles are PostgreSQL's; %s is a SQLite file", *o.db)
		return exitUsage
	}
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
	return exitOK
}

type migrateOpts struct {
	db, plugins *string
	printRoles  *bool
	pg          *pgFlags
}

func (a *app) migrateFlags() (*flag.FlagSet, *migrateOpts) {
	fs := newFlagSet("migrate")
	o := &migrateOpts{}
	o.db = fs.String("db", a.envOr(envDB, "./"+daemon.DefaultDBPath), "SQLite database file, created if missing, or a postgres:// URL (env "+envDB+")")
	o.plugins = fs.String("plugins", a.envOr(envPluginsDir, "./"+daemon.DefaultPluginDir), "on PostgreSQL: the plugin directory whose plugins get their roles (env "+envPluginsDir+")")
	o.printRoles = fs.Bool("print-roles", false, "on PostgreSQL: change nothing, print the SQL that creates the plugins' roles and grants, for an operator")
	o.pg = addPGFlags(a, fs)
	return fs, o
}
