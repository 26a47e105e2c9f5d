package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/cluster"
	"github.com/ffwasmhost/ffwasmhost/host/config"
	"github.com/ffwasmhost/ffwasmhost/host/daemon"
	"github.com/ffwasmhost/ffwasmhost/host/sched"
	"github.com/ffwasmhost/ffwasmhost/host/store/postgres"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

type runOpts struct {
	config                      *string
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
	o.config = fs.String("config", "", "configuration `FILE` (TOML): the settings below under the same names, and [plugin.NAME] tables with a plugin's interval, limits, grant and config values; reloaded on SIGHUP and when it changes. A flag beats the environment, which beats the file (env "+envConfig+")")
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
	set := setFlags(fs)
	file, err := a.loadConfig(o, set)
	if err != nil {
		a.failf("run: %v", err)
		return exitUsage
	}
	cfg, err := a.daemonConfig(o, set, file)
	if err != nil {
		a.failf("run: %v", err)
		return exitUsage
	}
	log := a.logger(o, set, file)
	cfg.Logger = log
	d, err := daemon.New(cfg)
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
	changed := make(chan struct{}, 1)
	if file != nil {
		if err := config.Watch(ctx, file.Path, func() {
			select {
			case changed <- struct{}{}:
			default:
			}
		}); err != nil {
			log.Warn("config file not watched; SIGHUP reloads it", "err", err)
		}
	}
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-hup:
			if file == nil {
				log.Info("SIGHUP: rescanning the plugin directory", "dir", cfg.PluginDir)
				go d.Rescan(ctx)
				continue
			}
			log.Info("SIGHUP: reloading the configuration and rescanning the plugin directory", "config", file.Path, "dir", cfg.PluginDir)
			file = a.reloadConfig(ctx, d, o, set, log, file, "SIGHUP")
		case <-changed:
			log.Info("configuration file changed; reloading it", "config", file.Path)
			file = a.reloadConfig(ctx, d, o, set, log, file, "file changed")
		}
	}
	stop() // a second signal now kills the process at once
	log.Info("signal received; draining tick loops (signal again to force)", "grace", cfg.Grace)
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
//
// On PostgreSQL it creates or updates the login role of every plugin in
// the plugin directory instead, and when it may not, prints the SQL an
// operator must run.
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

type migrateOpts struct {
	db, plugins, cacheDir *string
	printRoles            *bool
	pg                    *pgFlags
}

func (a *app) migrateFlags() (*flag.FlagSet, *migrateOpts) {
	fs := newFlagSet("migrate")
	o := &migrateOpts{}
	o.db = fs.String("db", a.envOr(envDB, "./"+daemon.DefaultDBPath), "SQLite database file, created if missing, or a postgres:// URL (env "+envDB+")")
	o.plugins = fs.String("plugins", a.envOr(envPluginsDir, "./"+daemon.DefaultPluginDir),
		"plugin directory whose plugins' migrations to apply (on PostgreSQL: whose plugins get their roles); skipped if the default is missing (env "+envPluginsDir+")")
	o.cacheDir = fs.String("cache-dir", "", "wazero compilation cache `DIR` (default "+cacheDirDefault()+")")
	o.printRoles = fs.Bool("print-roles", false, "on PostgreSQL: change nothing, print the SQL that creates the plugins' roles and grants, for an operator")
	o.pg = addPGFlags(a, fs)
	return fs, o
}
