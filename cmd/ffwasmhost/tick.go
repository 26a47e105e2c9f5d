package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/config"
	"github.com/ffwasmhost/ffwasmhost/host/daemon"
	"github.com/ffwasmhost/ffwasmhost/host/oneshot"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

type tickOpts struct {
	pg                     *pgFlags
	config                 *string
	db, plugins, cacheDir  *string
	now                    nowFlag
	untilIdle, dryRun      *bool
	force                  *bool
	diff                   diffFlag
	maxDiffRows, partition *int
	pluginHeap             *int64
	log                    *logFlags
	limits                 *limitFlag
}

func (a *app) tickFlags() (*flag.FlagSet, *tickOpts) {
	fs := newFlagSet("tick")
	o := &tickOpts{}
	o.config = fs.String("config", a.envOr(envConfig, ""), "configuration `FILE`: the plugin's grant and config values apply as in run (env "+envConfig+")")
	o.db = fs.String("db", a.envOr(envDB, "./"+daemon.DefaultDBPath), "SQLite database file, or a postgres:// URL; must exist (env "+envDB+")")
	o.pg = addPGFlags(a, fs)
	o.plugins = fs.String("plugins", a.envOr(envPluginsDir, "./"+daemon.DefaultPluginDir), "plugin directory (env "+envPluginsDir+")")
	fs.Var(&o.now, "now", "now_ms handed to the plugin, in `MS` since the Unix epoch (default: the wall clock, read once)")
	o.partition = fs.Int("partition", 0, "the partition the ticks are for (tick_partition): on PostgreSQL a partition-scoped plugin handles that one")
	o.untilIdle = fs.Bool("until-idle", false, "repeat the tick until one processes nothing, then print the totals")
	o.force = fs.Bool("force", false, "tick even while a daemon is active on the database (its ticks of the plugin may then overlap this one)")
	o.dryRun = fs.Bool("dry-run", false, "run inside a transaction that is rolled back: report what would happen, change nothing")
	fs.Var(&o.diff, "diff", "also print the rows the ticks changed (with --dry-run, would change) before the totals: as a table or as json, one object per row (`FORMAT`: table or json)")
	o.maxDiffRows = fs.Int("max-diff-rows", oneshot.DefaultMaxDiffRows, "with --diff, print at most `N` changed rows and count the rest")
	o.pluginHeap = pluginHeapFlag(fs)
	o.cacheDir = fs.String("cache-dir", "", "wazero compilation cache `DIR` (default "+cacheDirDefault()+")")
	o.log = a.addLogFlags(fs)
	o.limits = addLimitFlag(fs)
	return fs, o
}

// cmdTick runs one plugin's tick by hand and prints one JSON line on
// stdout. A failing tick still prints its line, with "error", and exits 1.
func (a *app) cmdTick(args []string) int {
	fs, o := a.tickFlags()
	pos, code, ok := a.parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		a.failf("tick: want exactly one plugin NAME, got %d arguments (see 'ffwasmhost help tick')", len(pos))
		return exitUsage
	}
	now := time.Now().UnixMilli()
	if o.now.set {
		now = o.now.ms
	}
	if *o.maxDiffRows <= 0 {
		a.failf("tick: --max-diff-rows %d: want a positive number of rows", *o.maxDiffRows)
		return exitUsage
	}
	var grant *host.Grant
	var values map[string]host.ConfigValue
	if *o.config != "" {
		file, err := config.Load(*o.config)
		if err != nil {
			a.failf("tick: %v", err)
			return exitUsage
		}
		p := file.Plugin[pos[0]]
		grant = p.Grant
		for k, v := range p.Values {
			if values == nil {
				values = map[string]host.ConfigValue{}
			}
			values[k] = host.ConfigValue{Literal: v.Literal, Env: v.Env, File: v.File}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := o.log.logger(a.stderr)
	db, err := openExisting(ctx, *o.db, sqlite.Options{PluginHeapBytes: *o.pluginHeap}, o.pg.options())
	if err != nil {
		a.failf("tick: %v", err)
		return exitFail
	}
	defer db.Close()
	eng, err := newEngine(*o.cacheDir, o.limits, log)
	if err != nil {
		a.failf("tick: %v", err)
		return exitFail
	}
	defer eng.Close(context.WithoutCancel(ctx))
	sum, err := oneshot.Tick(ctx, db, eng, oneshot.Options{
		PluginDir:   *o.plugins,
		Plugin:      pos[0],
		NowMS:       now,
		Partition:   *o.partition,
		UntilIdle:   *o.untilIdle,
		DryRun:      *o.dryRun,
		Force:       *o.force,
		Diff:        o.diff.format != "",
		MaxDiffRows: *o.maxDiffRows,
		Grant:       grant,
		Config:      values,
		LookupEnv:   a.lookupEnv,
		Logger:      log,
	})
	var tickErr *oneshot.TickError
	if err != nil && !errors.As(err, &tickErr) {
		a.failf("tick: %v", err)
		return exitFail
	}
	line := tickLine{Summary: sum}
	if sum.Diff != nil {
		line.DiffOmitted = sum.Diff.Omitted
		if werr := writeDiff(a.stdout, o.diff.format, sum.Diff); werr != nil {
			a.failf("tick: write diff: %v", werr)
			return exitFail
		}
	}
	b, jerr := json.Marshal(line)
	if jerr != nil {
		a.failf("tick: encode report: %v", jerr)
		return exitFail
	}
	a.stdout.Write(append(b, '\n'))
	if err != nil {
		a.failf("%v", err)
		return exitFail
	}
	return exitOK
}

// tickLine is the JSON line tick prints last.
type tickLine struct {
	oneshot.Summary
	// DiffOmitted counts the changed rows --diff did not print.
	DiffOmitted int64 `json:"diff_omitted,omitempty"`
}
