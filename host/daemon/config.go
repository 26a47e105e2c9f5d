package daemon

import (
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi/describe"
	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/cluster"
	"github.com/ffwasmhost/ffwasmhost/host/sched"
	"github.com/ffwasmhost/ffwasmhost/host/store/postgres"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

// Defaults of the Config fields that have one.
const (
	// DefaultDBPath is Config.DBPath's default: ff.db in the working
	// directory.
	DefaultDBPath = "ff.db"
	// DefaultPluginDir is Config.PluginDir's default: where `make plugins`
	// writes the built plugins.
	DefaultPluginDir = "build/plugins"
	// DefaultHTTPAddr is the admin address the command uses when none is
	// given. It is loopback: the admin endpoints have no authentication.
	DefaultHTTPAddr = "127.0.0.1:9464"
	// DefaultGrace is Config.Grace's default.
	DefaultGrace = 10 * time.Second
	// DefaultRescanInterval is Config.RescanInterval's default.
	DefaultRescanInterval = 2 * time.Second
	// DefaultStandbyPoll is Config.StandbyPoll's default.
	DefaultStandbyPoll = time.Second
	// DefaultSettleTime is Config.SettleTime's default.
	DefaultSettleTime = 250 * time.Millisecond
	// DefaultStaleAfter is Config.StaleAfter's default.
	DefaultStaleAfter = 5
	// DefaultMinInterval is Config.MinInterval's default.
	DefaultMinInterval = time.Second
	// DefaultFixtureMaxBytes is Config.FixtureMaxBytes's default.
	DefaultFixtureMaxBytes = 16 << 20
	// DefaultFixtureKeep is Config.FixtureKeep's default.
	DefaultFixtureKeep = 10
	// MaxInterval is the longest interval Config.Intervals may set, as a
	// plugin's default_interval_ms may declare: 365 days.
	MaxInterval = describe.MaxIntervalMS * time.Millisecond
)

// DefaultPartitions are FlowFabric's partition counts: budgets in 32
// partitions (num_budget_partitions), workers in 256.
var DefaultPartitions = map[string]int{"budget": 32, "worker_registry": 256}

// MaxPartitions bounds a family's partition count: partition keys are
// smallint.
const MaxPartitions = 32767

// Config configures a Daemon. Every field is optional; New fills the
// defaults named beside each.
type Config struct {
	// DBPath is the SQLite database file, created if missing, or the
	// postgres:// URL of a PostgreSQL database; either is migrated on Open.
	// Default DefaultDBPath.
	DBPath string
	// PluginDir holds the *.wasm plugins. It must exist when Open runs.
	// Default DefaultPluginDir.
	PluginDir string
	// HTTPAddr is where the admin endpoints listen (/healthz, /readyz,
	// /metrics, /v1/plugins). Empty disables them; port 0 picks a free
	// port (see Daemon.HTTPAddr). The command defaults it to
	// DefaultHTTPAddr; the zero Config serves nothing.
	HTTPAddr string
	// Intervals overrides plugins' tick intervals by plugin name, up to
	// MaxInterval. Zero disables a plugin; a name missing here runs at the
	// interval its describe declares (default_interval_ms, where 0 also
	// disables), raised to MinInterval.
	Intervals map[string]time.Duration
	// Drain names the plugins whose backlog is drained: after a tick that
	// reports work left (tick_more), the next comes after DrainPause
	// instead of a full interval, up to DrainMaxTicks in a row. Off for
	// every plugin by default, which keeps FlowFabric's cadence.
	Drain map[string]bool
	// DrainPause and DrainMaxTicks tune Drain; defaults
	// sched.DefaultDrainPause and sched.DefaultDrainMaxTicks.
	DrainPause    time.Duration
	DrainMaxTicks int
	// CatchUp gives a plugin that the tick ledger shows overdue by more
	// than one interval when the daemon starts one tick right away,
	// instead of FlowFabric's first tick one interval after start.
	CatchUp bool
	// StaleAfter is how many of its intervals an enabled plugin may go
	// without a successful tick before it is stale: /readyz fails and
	// ffwasmhost_plugin_stale is 1. Default DefaultStaleAfter.
	StaleAfter int
	// FixtureDir, if set, is where a failed tick is written down as a
	// replay fixture (host/fixture): the first failure of each run of
	// failures of a plugin. Before every tick the daemon then pins the
	// database (store.Snapshotter) to read the plugin's tables as they were
	// if the tick fails. Empty: no fixtures, no pinning.
	FixtureDir string
	// FixtureMaxBytes bounds one fixture's rows; a failure whose tables
	// hold more is logged without a fixture. Default
	// DefaultFixtureMaxBytes.
	FixtureMaxBytes int64
	// FixtureKeep is how many fixtures of each plugin the directory keeps,
	// the newest. Default DefaultFixtureKeep.
	FixtureKeep int
	// DaemonID names this daemon in the tick ledger. Default
	// "HOSTNAME/PID".
	DaemonID string
	// MinInterval is the shortest interval a plugin's own default may set:
	// a plugin declaring default_interval_ms 1 would tick, and log, a
	// thousand times a second. An interval in Intervals is the operator's
	// and is not raised. Default DefaultMinInterval.
	MinInterval time.Duration
	// Grace is how long Close waits for running ticks before it aborts
	// them. Default DefaultGrace.
	Grace time.Duration
	// CacheDir holds wazero's compilation cache, so a plugin compiled once
	// loads in a fraction of the time on later starts. Default
	// host.DefaultCacheDir(); if that is unusable the cache is kept in memory.
	// An explicit directory that cannot be created is an error.
	CacheDir string
	// DBOptions are the database's durability and busy settings; see
	// sqlite.Options for their defaults.
	DBOptions sqlite.Options
	// Partitions is how many partitions each partition family has on a
	// partitioned database (PostgreSQL), as FlowFabric's partition config
	// says: a partition-scoped plugin (ABI 1.4 partition_family) ticks
	// once per partition of its family each interval. Entries here add to
	// or override DefaultPartitions. A plugin of a family named nowhere is
	// refused on PostgreSQL; on SQLite every plugin ticks partition 0 only.
	Partitions map[string]int
	// LeaseTTL is, on PostgreSQL, how long a daemon's heartbeat keeps its
	// leases of (plugin, partition) pairs: a daemon that dies or stalls
	// has its partitions ticked by the others within 2×LeaseTTL, and a
	// heartbeat every LeaseTTL/3 costs one small transaction. Default
	// cluster.DefaultTTL.
	LeaseTTL time.Duration
	// ClusterClock, if set, replaces the database's clock in the cluster's
	// statements (leases, fences). Tests only.
	ClusterClock cluster.Clock
	// PGOptions configure a PostgreSQL store (DBPath a postgres:// URL):
	// the plugins' role prefix and lock timeouts. An
	// IdleInTransactionTimeout of 0 becomes LeaseTTL/2.
	PGOptions postgres.Options
	// Limits are every plugin's resource limits; zero fields take
	// host.DefaultLimits.
	Limits host.Limits
	// PluginLimits overrides Limits for one plugin, field by field, by
	// plugin name.
	PluginLimits map[string]host.Limits
	// Grants are what the operator lets each plugin use, by plugin name
	// (host.Grant). A plugin with a grant that declares a table beyond it
	// is refused at load, naming each such table. A plugin without one may
	// use the tables it declares; a nil map means no grants at all, which
	// Open logs once.
	Grants map[string]host.Grant
	// PluginConfig holds the operator's configuration values by plugin
	// name, then key. A plugin whose values name a key it does not declare,
	// or have the wrong type, or name a secret that cannot be read, is
	// refused at load (host.ResolveConfig). Secrets are read when the
	// plugin loads.
	PluginConfig map[string]map[string]host.ConfigValue
	// LookupEnv reads the environment variables secrets name. Default
	// os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// MaxBackoff caps the delay after consecutive failed ticks; see
	// sched.SupervisorConfig. Default sched.DefaultMaxBackoff.
	MaxBackoff time.Duration
	// StandbyPoll is how often a standby daemon tries to take the active
	// lock of a database another daemon holds (sqlite.ActiveLock). The lock is
	// released by the kernel the moment its holder dies, so a standby takes
	// over within one StandbyPoll. Default DefaultStandbyPoll.
	StandbyPoll time.Duration
	// RescanInterval is how often the plugin directory is rescanned in case
	// a file event was missed (or fsnotify is unavailable). Default
	// DefaultRescanInterval.
	RescanInterval time.Duration
	// SettleTime is how long a new or changed file must stay unchanged
	// before it is loaded; see the package documentation. Default
	// DefaultSettleTime.
	SettleTime time.Duration
	// Logger receives the daemon's, the supervisor's and the plugins' logs.
	// Default slog.Default().
	Logger *slog.Logger
	// Clock drives tick timers and the now_ms handed to plugins. Default
	// sched.SystemClock; tests inject a fake one.
	Clock sched.Clock
}

// withDefaults returns c with its defaults filled and checks it.
func (c Config) withDefaults() (Config, error) {
	if c.DBPath == "" {
		c.DBPath = DefaultDBPath
	}
	if c.PluginDir == "" {
		c.PluginDir = DefaultPluginDir
	}
	if c.Grace == 0 {
		c.Grace = DefaultGrace
	}
	if c.RescanInterval == 0 {
		c.RescanInterval = DefaultRescanInterval
	}
	if c.StandbyPoll == 0 {
		c.StandbyPoll = DefaultStandbyPoll
	}
	if c.SettleTime == 0 {
		c.SettleTime = DefaultSettleTime
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = sched.DefaultMaxBackoff
	}
	if c.MinInterval == 0 {
		c.MinInterval = DefaultMinInterval
	}
	if c.FixtureMaxBytes == 0 {
		c.FixtureMaxBytes = DefaultFixtureMaxBytes
	}
	if c.FixtureKeep == 0 {
		c.FixtureKeep = DefaultFixtureKeep
	}
	if c.StaleAfter == 0 {
		c.StaleAfter = DefaultStaleAfter
	}
	if c.DaemonID == "" {
		host, _ := os.Hostname()
		c.DaemonID = fmt.Sprintf("%s/%d", host, os.Getpid())
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Clock == nil {
		c.Clock = sched.SystemClock{}
	}
	if c.LookupEnv == nil {
		c.LookupEnv = os.LookupEnv
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = cluster.DefaultTTL
	}
	if c.LeaseTTL < 30*time.Millisecond {
		return c, fmt.Errorf("lease TTL %v is too short", c.LeaseTTL)
	}
	parts := maps.Clone(DefaultPartitions)
	for fam, n := range c.Partitions {
		if n < 1 || n > MaxPartitions {
			return c, fmt.Errorf("partitions of %s: %d, want 1 to %d", fam, n, MaxPartitions)
		}
		parts[fam] = n
	}
	c.Partitions = parts
	switch {
	case c.Grace < 0:
		return c, fmt.Errorf("grace %v is negative", c.Grace)
	case c.RescanInterval < 0:
		return c, fmt.Errorf("rescan interval %v is negative", c.RescanInterval)
	case c.SettleTime < 0:
		return c, fmt.Errorf("settle time %v is negative", c.SettleTime)
	case c.MaxBackoff < 0:
		return c, fmt.Errorf("max backoff %v is negative", c.MaxBackoff)
	case c.MinInterval < 0:
		return c, fmt.Errorf("min interval %v is negative", c.MinInterval)
	case c.FixtureMaxBytes < 0 || c.FixtureKeep < 0:
		return c, fmt.Errorf("fixture bounds %d bytes, %d kept: negative", c.FixtureMaxBytes, c.FixtureKeep)
	case c.StaleAfter < 0:
		return c, fmt.Errorf("stale after %d intervals is negative", c.StaleAfter)
	case c.DrainPause < 0:
		return c, fmt.Errorf("drain pause %v is negative", c.DrainPause)
	case c.DrainMaxTicks < 0:
		return c, fmt.Errorf("drain max ticks %d is negative", c.DrainMaxTicks)
	}
	for _, name := range sortedKeys(c.Intervals) {
		if !describe.ValidName(name) {
			return c, fmt.Errorf("interval for %q: not a plugin name (lowercase letters, digits, '_')", name)
		}
		if d := c.Intervals[name]; d < 0 {
			return c, fmt.Errorf("interval for %s: %v is negative", name, d)
		} else if d > MaxInterval {
			return c, fmt.Errorf("interval for %s: %v is over the limit of %v", name, d, MaxInterval)
		}
	}
	for _, name := range sortedKeys(c.Grants) {
		if !describe.ValidName(name) {
			return c, fmt.Errorf("grant for %q: not a plugin name (lowercase letters, digits, '_')", name)
		}
	}
	for _, name := range sortedKeys(c.Drain) {
		if !describe.ValidName(name) {
			return c, fmt.Errorf("drain for %q: not a plugin name (lowercase letters, digits, '_')", name)
		}
	}
	if err := c.Limits.Merge(host.DefaultLimits).Validate(); err != nil {
		return c, fmt.Errorf("limits: %w", err)
	}
	for _, name := range sortedKeys(c.PluginLimits) {
		if err := c.PluginLimits[name].Merge(c.Limits).Merge(host.DefaultLimits).Validate(); err != nil {
			return c, fmt.Errorf("limits of %s: %w", name, err)
		}
	}
	return c, nil
}

// interval returns p's tick interval: the configured override, else the
// default it declares, raised to Config.MinInterval (with a warning) if it
// is shorter.
func (d *Daemon) interval(p *host.Plugin) time.Duration {
	iv, raised := d.settings().interval(p)
	if raised {
		d.log.Warn("plugin's default interval is below the minimum; using the minimum (an --interval for it may go lower)",
			"plugin", p.Desc.Name, "default_interval", time.Duration(p.Desc.DefaultIntervalMS)*time.Millisecond,
			"min_interval", d.settings().minInterval)
	}
	return iv
}

// settings are the parts of a Config that Reconfigure may change while the
// daemon runs: what each plugin gets. A settings value is never modified;
// Reconfigure stores a new one.
type settings struct {
	intervals    map[string]time.Duration
	minInterval  time.Duration
	drain        map[string]bool
	drainPause   time.Duration
	drainMax     int
	limits       host.Limits
	pluginLimits map[string]host.Limits
	grants       map[string]host.Grant
	pluginConfig map[string]map[string]host.ConfigValue
	lookupEnv    func(string) (string, bool)
}

func newSettings(c Config) *settings {
	return &settings{intervals: c.Intervals, minInterval: c.MinInterval, drain: c.Drain, drainPause: c.DrainPause,
		drainMax: c.DrainMaxTicks, limits: c.Limits, pluginLimits: c.PluginLimits, grants: c.Grants,
		pluginConfig: c.PluginConfig, lookupEnv: c.LookupEnv}
}

// settings returns the settings in force.
func (d *Daemon) settings() *settings { return d.live.Load() }

// interval returns p's interval under s, and whether p's own default was
// raised to the minimum.
func (s *settings) interval(p *host.Plugin) (iv time.Duration, raised bool) {
	if iv, ok := s.intervals[p.Desc.Name]; ok {
		return iv, false
	}
	// describe.Validate caps default_interval_ms, so this cannot overflow.
	iv = time.Duration(p.Desc.DefaultIntervalMS) * time.Millisecond
	if iv > 0 && iv < s.minInterval {
		return s.minInterval, true
	}
	return iv, false
}

// pluginLimits returns the limits name gets beyond the engine's own:
// its PluginLimits over the Limits in force.
func (s *settings) pluginLimitsOf(name string) host.Limits {
	return s.pluginLimits[name].Merge(s.limits)
}

// checkGrant returns a *host.GrantError if p declares tables beyond its
// grant; nil if it has none or is within it.
func (s *settings) checkGrant(p *host.Plugin) error {
	g, ok := s.grants[p.Desc.Name]
	if !ok {
		return nil
	}
	return host.CheckGrant(p.Desc, g)
}

// fingerprint sums up what s gives p; a running version whose
// fingerprint changes is loaded again, so the change takes effect.
func (s *settings) fingerprint(p *host.Plugin) string {
	name := p.Desc.Name
	iv, _ := s.interval(p)
	g, granted := s.grants[name]
	vals := s.pluginConfig[name]
	var cfg strings.Builder
	for _, k := range sortedKeys(vals) {
		fmt.Fprintf(&cfg, "%s=%#v;", k, vals[k])
	}
	return fmt.Sprintf("%v|%v|%v|%d|%+v|%t%+v|%s", iv, s.drain[name], s.drainPause, s.drainMax, s.pluginLimitsOf(name), granted, g, cfg.String())
}

// resolveConfig returns p's configuration values under s; an error names
// the plugin and every key at fault.
func (s *settings) resolveConfig(p *host.Plugin) ([]host.ConfigEntry, error) {
	return host.ResolveConfig(p.Desc, s.pluginConfig[p.Desc.Name], s.lookupEnv)
}

// restartOnly names the settings of c that differ from old and take effect
// only when the daemon restarts.
func restartOnly(old, c Config) []string {
	var out []string
	for _, f := range []struct {
		name    string
		changed bool
	}{
		{"db", old.DBPath != c.DBPath},
		{"plugins", old.PluginDir != c.PluginDir},
		{"http", old.HTTPAddr != c.HTTPAddr},
		{"fixtures", old.FixtureDir != c.FixtureDir},
		{"cache-dir", old.CacheDir != c.CacheDir},
		{"grace", old.Grace != c.Grace},
		{"standby-poll", old.StandbyPoll != c.StandbyPoll},
		{"catch-up", old.CatchUp != c.CatchUp},
		{"stale-after", old.StaleAfter != c.StaleAfter},
		{"synchronous, plugin-sqlite-heap", old.DBOptions != c.DBOptions},
	} {
		if f.changed {
			out = append(out, f.name)
		}
	}
	return out
}

// closeTimeout bounds how long Close waits for a loop that was removed
// from the supervisor (by a reload) but had not finished its tick.
const closeTimeout = 10 * time.Second

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
