package main

import (
	"context"
	"flag"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/config"
	"github.com/ffwasmhost/ffwasmhost/host/daemon"
	"github.com/ffwasmhost/ffwasmhost/host/store/postgres"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

// envConfig names the configuration file when --config is not given.
const envConfig = "FF_CONFIG"

// setFlags returns the names of the flags given on the command line.
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// loadConfig reads the configuration file named by --config or FF_CONFIG;
// nil, nil when neither names one.
func (a *app) loadConfig(o *runOpts, set map[string]bool) (*config.Config, error) {
	path := *o.config
	if !set["config"] {
		path = a.envOr(envConfig, "")
	}
	if path == "" {
		return nil, nil
	}
	return config.Load(path)
}

// daemonConfig resolves the daemon's configuration from the flags (set
// names those given), the environment and the file (nil if none): a flag
// beats the environment, which beats the file, which beats the plugin's
// or the daemon's default. A [plugin.NAME] limit beats a global one,
// wherever each comes from. It changes nothing in o, so a reload can call
// it again with a new file.
func (a *app) daemonConfig(o *runOpts, set map[string]bool, file *config.Config) (daemon.Config, error) {
	if file == nil {
		file = &config.Config{}
	}
	// str picks a string setting: the flag (whose default is already the
	// environment's, if env names a variable that is set), else the file.
	str := func(flagName, env string, flagVal string, fileVal *string) string {
		if set[flagName] || fileVal == nil {
			return flagVal
		}
		if _, ok := a.lookupEnv(env); env != "" && ok {
			return flagVal
		}
		return *fileVal
	}
	dur := func(flagName string, flagVal time.Duration, fileVal *time.Duration) time.Duration {
		if set[flagName] || fileVal == nil {
			return flagVal
		}
		return *fileVal
	}
	c := daemon.Config{
		DBPath:      str("db", envDB, *o.db, file.DB),
		PluginDir:   str("plugins", envPluginsDir, *o.plugins, file.Plugins),
		HTTPAddr:    str("http", envHTTPAddr, *o.http, file.HTTP),
		FixtureDir:  str("fixtures", "", *o.fixtures, file.Fixtures),
		CacheDir:    str("cache-dir", "", *o.cacheDir, file.CacheDir),
		MinInterval: dur("min-interval", *o.minInterval, file.MinInterval),
		DrainPause:  dur("drain-pause", *o.drainPause, file.DrainPause),
		StandbyPoll: dur("standby-poll", *o.standbyPoll, file.StandbyPoll),
		Grace:       dur("grace", *o.grace, file.Grace),
		CatchUp:     str("catch-up", "", *o.catchUp, file.CatchUp) == "once",
		StaleAfter:  *o.staleAfter,
		DBOptions: sqlite.Options{Synchronous: str("synchronous", "", *o.sync, file.Synchronous),
			PluginHeapBytes: *o.pluginHeap},
		Limits:       o.limits.all.Merge(file.Limits),
		PluginLimits: map[string]host.Limits{},
		Intervals:    map[string]time.Duration{},
		Drain:        map[string]bool{},
		LookupEnv:    a.lookupEnv,
	}
	c.PGOptions = postgres.Options{RolePrefix: str("role-prefix", envRolePrefix, *o.pg.rolePrefix, file.RolePrefix)}
	c.LeaseTTL = dur("lease-ttl", *o.leaseTTL, file.LeaseTTL)
	// Partition counts: the file's, each family a --partitions flag names
	// overridden.
	c.Partitions = maps.Clone(file.Partitions)
	if c.Partitions == nil {
		c.Partitions = map[string]int{}
	}
	maps.Copy(c.Partitions, o.partitions)
	if !set["stale-after"] && file.StaleAfter != nil {
		c.StaleAfter = *file.StaleAfter
	}
	if !set["plugin-sqlite-heap"] && file.PluginSQLiteHeap != nil {
		c.DBOptions.PluginHeapBytes = *file.PluginSQLiteHeap
	}
	for name, p := range file.Plugin {
		if p.Interval != nil {
			c.Intervals[name] = *p.Interval
		}
		if p.Enabled != nil && !*p.Enabled {
			c.Intervals[name] = 0
		}
		if p.Drain != nil {
			c.Drain[name] = *p.Drain
		}
		if p.Limits != (host.Limits{}) {
			c.PluginLimits[name] = p.Limits
		}
		for key, v := range p.Values {
			if c.PluginConfig == nil {
				c.PluginConfig = map[string]map[string]host.ConfigValue{}
			}
			if c.PluginConfig[name] == nil {
				c.PluginConfig[name] = map[string]host.ConfigValue{}
			}
			c.PluginConfig[name][key] = host.ConfigValue{Literal: v.Literal, Env: v.Env, File: v.File}
		}
		if p.Grant != nil {
			if c.Grants == nil {
				c.Grants = map[string]host.Grant{}
			}
			c.Grants[name] = *p.Grant
		}
	}
	env, err := a.envIntervals()
	if err != nil {
		return c, err
	}
	maps.Copy(c.Intervals, env)         // the environment beats the file
	maps.Copy(c.Intervals, o.intervals) // a flag beats both
	for name := range o.drain {
		c.Drain[name] = true
	}
	for name, l := range o.limits.plugin {
		c.PluginLimits[name] = l.Merge(c.PluginLimits[name])
	}
	return c, nil
}

// logger returns the command's logger: --log-format and --log-level,
// else the file's, else text at info.
func (a *app) logger(o *runOpts, set map[string]bool, file *config.Config) *slog.Logger {
	lf := *o.log
	if file != nil {
		if !set["log-format"] && file.LogFormat != nil {
			lf.format = *file.LogFormat
		}
		if !set["log-level"] && file.LogLevel != nil {
			lf.level = *file.LogLevel
		}
	}
	return lf.logger(a.stderr)
}

// reloadConfig reads the configuration file again and puts it in force;
// a file that fails to parse or check is refused with one line, and the
// configuration in force stays. It returns the file now in force.
func (a *app) reloadConfig(ctx context.Context, d *daemon.Daemon, o *runOpts, set map[string]bool, log *slog.Logger,
	old *config.Config, why string) *config.Config {
	file, err := a.loadConfig(o, set)
	if err == nil {
		var c daemon.Config
		if c, err = a.daemonConfig(o, set, file); err == nil {
			c.Logger = log
			err = d.Reconfigure(ctx, c)
		}
	}
	if err != nil {
		log.Error("configuration refused; the one in force keeps running", "reason", why, "err", strings.Join(strings.Fields(err.Error()), " "))
		return old
	}
	if file != nil && old != nil && (!sameValue(file.LogFormat, old.LogFormat) || !sameValue(file.LogLevel, old.LogLevel)) {
		log.Warn("configuration changes that take effect only at restart", "settings", "log-format, log-level")
	}
	return file
}

// sameValue reports whether a and b are both nil or point to equal values.
func sameValue[T comparable](a, b *T) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}
