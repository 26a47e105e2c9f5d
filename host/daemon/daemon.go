package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/cluster"
	"github.com/ffwasmhost/ffwasmhost/host/sched"
	"github.com/ffwasmhost/ffwasmhost/host/store"
	"github.com/ffwasmhost/ffwasmhost/host/store/postgres"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
)

// Daemon runs the supervisor over a plugin directory. Create it with New,
// start it with Open (or Run), stop it with Close.
type Daemon struct {
	cfg     Config
	live    atomic.Pointer[settings] // the part of cfg Reconfigure changes
	log     *slog.Logger
	metrics *metrics

	st      store.Store
	release func() error // gives up the store's active lock, held while this daemon is the active one
	eng     *host.Engine
	sup     *sched.Supervisor

	watcher  *fsnotify.Watcher  // nil when fsnotify is unavailable
	stopScan context.CancelFunc // stops the scan loop
	scanDone chan struct{}      // closed when the scan loop has exited

	ln  net.Listener
	srv *http.Server

	phase         atomic.Value // string: phaseNew, phaseStarting, phaseRunning, phaseClosing, phaseClosed
	schemaVersion atomic.Int64 // the database's host schema version, once migrated

	// scanMu serializes scans; the fields after it are written only while
	// it is held.
	scanMu      sync.Mutex
	pending     map[string]pendingFile // new or changed files still settling
	watchWarned bool                   // a failure to watch the directory was logged

	// mu guards the state readers see (status, readiness) and the
	// scheduled loop changes; scans also hold scanMu while they write.
	mu        sync.Mutex
	entries   map[string]*entry        // loaded plugins by file path
	next      map[string]*entry        // by file path: a version waiting to be swapped in for the entry
	failed    map[string]*failure      // versions that did not load, by file path
	dirErr    error                    // why the plugin directory is unreadable, nil when it is fine
	changes   map[string]chan struct{} // per plugin name: closed when its last scheduled loop change has run
	conflicts map[string][]string      // plugin names several files claim, with the files

	ledgerMu     sync.Mutex
	ledgerQ      chan store.Tick // finished ticks for the ledger writer; nil before Open migrates
	ledgerClosed bool            // ledgerQ is closed: ticks after it are not recorded
	ledgerDone   chan struct{}   // closed when the ledger writer has exited

	kickScan  chan struct{} // asks the scan loop for a scan soon
	closing   chan struct{} // closed when Close (or a failed Open) starts undoing
	closeOnce sync.Once     // guards closing

	closeDone sync.Once
	closeErr  error

	// On PostgreSQL: this daemon's cluster membership, its heartbeat loop
	// and the metrics of its leases; nil elsewhere.
	member         *cluster.Member
	memberStop     context.CancelFunc
	memberDone     chan struct{}
	kickMember     chan struct{}
	clusterMetrics *clusterMetrics
	// heldSince is when this daemon acquired each lease it holds, by
	// plugin and partition: a partition's staleness counts from then at
	// the earliest. Guarded by heldSinceMu.
	heldSinceMu sync.Mutex
	heldSince   map[string]map[int]time.Time

	// tickHook, if set (by tests), runs at the start of every tick with
	// the tick's context.
	tickHook func(ctx context.Context, plugin string)
	// partitionHook, if set (by tests), runs before the tick of each
	// partition this daemon leases, after it read the lease.
	partitionHook func(ctx context.Context, plugin string, partition int)
	// memberHook, if set (by tests), runs before each cluster heartbeat.
	memberHook func()
}

// Phases of a Daemon, as /readyz reports them.
const (
	phaseNew      = "not started"
	phaseStarting = "starting"
	phaseStandby  = "on standby: another daemon is active on this database"
	phaseRunning  = "running"
	phaseClosing  = "shutting down"
	phaseClosed   = "closed"
)

// New checks cfg, fills its defaults and returns a Daemon that has not
// started: nothing is opened until Open.
func New(cfg Config) (*Daemon, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("daemon config: %w", err)
	}
	d := &Daemon{
		cfg:        cfg,
		log:        cfg.Logger,
		metrics:    newMetrics(),
		pending:    map[string]pendingFile{},
		entries:    map[string]*entry{},
		next:       map[string]*entry{},
		failed:     map[string]*failure{},
		changes:    map[string]chan struct{}{},
		kickScan:   make(chan struct{}, 1),
		kickMember: make(chan struct{}, 1),
		closing:    make(chan struct{}),
	}
	d.live.Store(newSettings(cfg))
	// Made here rather than in Open, so the admin endpoints, which start
	// before the plugins load, never see it unset.
	d.sup = sched.NewSupervisor(sched.SupervisorConfig{
		Clock:      cfg.Clock,
		Logger:     cfg.Logger,
		MaxBackoff: cfg.MaxBackoff,
		OnTick:     d.metrics.tick,
	})
	d.metrics.reg.MustRegister(newHealthCollector(d))
	d.phase.Store(phaseNew)
	return d, nil
}

// Config returns the daemon's configuration with its defaults filled.
func (d *Daemon) Config() Config { return d.cfg }

// Gatherer returns the registry holding the daemon's metrics, the same
// ones /metrics serves.
func (d *Daemon) Gatherer() prometheus.Gatherer { return d.metrics.reg }

// HTTPAddr returns the address the admin endpoints listen on, with the
// port resolved, or "" when they are disabled or not started.
func (d *Daemon) HTTPAddr() string {
	if d.ln == nil {
		return ""
	}
	return d.ln.Addr().String()
}

// Open checks the plugin directory, opens and migrates the database, starts
// the admin endpoints (/readyz says "starting" until Open is done), loads
// every plugin in the directory (an invalid file is logged and skipped),
// starts one tick loop per enabled plugin, and starts watching the
// directory. If any step fails, Open undoes the steps before it and returns
// an error naming what failed; Close is then a no-op. Open may be called
// once, and not concurrently with Close.
func (d *Daemon) Open(ctx context.Context) (err error) {
	if !d.phase.CompareAndSwap(phaseNew, phaseStarting) {
		return fmt.Errorf("open daemon: already %s", d.phase.Load())
	}
	defer func() {
		if err != nil {
			d.undo(ctx)
		}
	}()
	start := time.Now()
	if err := host.CheckPluginDir(d.cfg.PluginDir); err != nil {
		return err
	}
	if d.cfg.FixtureDir != "" {
		// Fixtures hold rows of the database: private, as the database is.
		if err := host.PrivateDir(d.cfg.FixtureDir); err != nil {
			return fmt.Errorf("fixture directory: %w", err)
		}
	}
	if d.st, err = d.openStore(ctx); err != nil {
		return err
	}
	if d.cfg.HTTPAddr != "" {
		if d.ln, err = net.Listen("tcp", d.cfg.HTTPAddr); err != nil {
			return fmt.Errorf("admin http: %w", err)
		}
		d.serveHTTP() // /healthz answers, /readyz says why not yet
	}
	if err := d.becomeActive(ctx); err != nil {
		return err
	}
	if err := d.st.Migrate(ctx); err != nil {
		return fmt.Errorf("database %s: %w", d.st.Location(), err)
	}
	v, err := d.st.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("database %s: %w", d.st.Location(), err)
	}
	d.schemaVersion.Store(int64(v))
	d.ledgerQ, d.ledgerDone = make(chan store.Tick, ledgerQueue), make(chan struct{})
	go d.writeLedger()
	if err := d.joinCluster(ctx); err != nil {
		return fmt.Errorf("database %s: %w", d.st.Location(), err)
	}
	cacheDir := d.cfg.CacheDir
	if cacheDir == "" {
		cacheDir = host.DefaultCacheDir()
	}
	d.eng, err = host.NewEngine(host.EngineConfig{CacheDir: cacheDir, CacheFallback: d.cfg.CacheDir == "", Limits: d.cfg.Limits,
		PluginLimits: func(name string) host.Limits { return d.settings().pluginLimitsOf(name) }, Logger: d.log})
	if err != nil {
		return err
	}
	if d.cfg.Grants == nil {
		d.log.Info("no grants configured (no config file, or no grant in it): each plugin may use the tables its descriptor declares")
	}
	d.startWatcher()
	d.Rescan(ctx)
	d.warnUnknownIntervals()
	if err := d.sup.Start(); err != nil {
		return fmt.Errorf("start supervisor: %w", err)
	}
	var scanCtx context.Context
	scanCtx, d.stopScan = context.WithCancel(context.WithoutCancel(ctx))
	d.scanDone = make(chan struct{})
	go d.scanLoop(scanCtx)
	d.phase.Store(phaseRunning)
	d.mu.Lock()
	loaded, failed := len(d.entries), len(d.failed)
	d.mu.Unlock()
	d.log.Info("daemon started", "db", d.st.Location(), "plugin_dir", d.cfg.PluginDir, "plugins", loaded,
		"invalid_files", failed, "http", d.HTTPAddr(), "startup", time.Since(start).Round(time.Millisecond))
	return nil
}

// openStore opens Config.DBPath: a PostgreSQL database when it is a
// postgres:// URL, else a SQLite file.
func (d *Daemon) openStore(ctx context.Context) (store.Store, error) {
	if postgres.IsURL(d.cfg.DBPath) {
		opts := d.cfg.PGOptions
		if opts.IdleInTransactionTimeout == 0 {
			// A daemon stopped inside a plugin transaction must not hold
			// its row locks, and the lease row its fence locked, past the
			// point where another daemon takes its partitions over.
			opts.IdleInTransactionTimeout = d.cfg.LeaseTTL / 2
		}
		db, err := postgres.Open(ctx, d.cfg.DBPath, opts)
		if err != nil {
			return nil, err // not a typed nil: undo closes a non-nil store
		}
		return db, nil
	}
	db, err := sqlite.Open(ctx, d.cfg.DBPath, d.cfg.DBOptions)
	if err != nil {
		return nil, err
	}
	return db, nil
}

// ErrStandbyStopped is returned by Open when ctx ends while the daemon is
// still on standby; nothing ran, so it is a clean stop.
var ErrStandbyStopped = errors.New("stopped while on standby")

// becomeActive takes the store's active lock, if it has one (SQLite
// does), waiting on standby while another daemon holds it. Only the active
// daemon migrates and ticks.
func (d *Daemon) becomeActive(ctx context.Context) error {
	locker, ok := d.st.(store.ActiveLocker)
	if !ok {
		return nil
	}
	var err error
	d.release, err = locker.WaitActive(ctx, d.cfg.StandbyPoll, func() {
		d.phase.Store(phaseStandby)
		d.log.Info("another daemon is active on this database; waiting on standby",
			"db", d.st.Location(), "lock", sqlite.LockPath(d.cfg.DBPath), "poll", d.cfg.StandbyPoll)
	})
	if err != nil {
		if ctx.Err() != nil {
			return ErrStandbyStopped
		}
		return fmt.Errorf("active lock for %s: %w", d.st.Location(), err)
	}
	if d.phase.CompareAndSwap(phaseStandby, phaseStarting) {
		d.log.Info("active lock taken; this daemon is now the active one", "db", d.st.Location())
	}
	return nil
}

// ErrNotDrained is wrapped by Close when some tick loops did not stop within
// Config.Grace and their ticks were aborted.
var ErrNotDrained = errors.New("tick loops did not drain")

// Close stops watching the directory, stops every tick loop after its
// current tick (aborting ticks still running after Config.Grace), closes
// every plugin, the admin server, the engine and the database. It returns
// an error wrapping ErrNotDrained if ticks had to be aborted. It is a no-op
// before Open and after a failed Open, and later calls return the first
// call's result.
func (d *Daemon) Close(ctx context.Context) error {
	d.closeDone.Do(func() {
		if !d.phase.CompareAndSwap(phaseRunning, phaseClosing) {
			d.phase.Store(phaseClosed) // never opened, or Open undid itself
			return
		}
		d.closeErr = d.undo(ctx)
		if d.closeErr == nil {
			d.log.Info("daemon stopped; every tick loop drained")
		}
	})
	return d.closeErr
}

// undo releases everything Open acquired, in reverse order. It runs once:
// from a failed Open, which may have got only part of the way, or from
// Close.
func (d *Daemon) undo(ctx context.Context) error {
	var errs []error
	d.closeOnce.Do(func() { close(d.closing) })
	if d.stopScan != nil {
		d.stopScan()
		<-d.scanDone
	}
	if late := d.sup.Shutdown(d.cfg.Grace); late > 0 {
		errs = append(errs, fmt.Errorf("shut down: %d plugin loops still ticking after %v, aborted: %w", late, d.cfg.Grace, ErrNotDrained))
	}
	// A Rescan still running (SIGHUP) finishes before the plugins close;
	// any later one sees the phase and does nothing.
	d.scanMu.Lock()
	d.phase.Store(phaseClosing)
	if d.watcher != nil {
		d.watcher.Close()
	}
	d.scanMu.Unlock()
	// Loop changes still scheduled run now: with the supervisor shut down
	// they only close the versions they hold.
	select {
	case <-d.pendingChanges():
	case <-time.After(closeTimeout):
		d.log.Warn("plugin loop changes still running at shutdown", "waited", closeTimeout)
	}
	d.mu.Lock()
	closing := append(mapValues(d.entries), mapValues(d.next)...)
	d.entries, d.next = map[string]*entry{}, map[string]*entry{}
	d.mu.Unlock()
	for _, e := range closing {
		if err := e.close(ctx); err != nil { // waits for a tick still running
			errs = append(errs, err)
		}
	}
	if err := d.leaveCluster(ctx); err != nil {
		errs = append(errs, err)
	}
	d.closeLedger()
	if d.srv != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		if err := d.srv.Shutdown(sctx); err != nil {
			d.srv.Close()
		}
		cancel()
	} else if d.ln != nil {
		d.ln.Close()
	}
	if d.eng != nil {
		if err := d.eng.Close(context.WithoutCancel(ctx)); err != nil {
			errs = append(errs, fmt.Errorf("close engine: %w", err))
		}
	}
	if d.st != nil {
		if err := d.st.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close database %s: %w", d.st.Location(), err))
		}
	}
	if d.release != nil {
		if err := d.release(); err != nil {
			errs = append(errs, fmt.Errorf("release active lock: %w", err))
		}
	}
	d.phase.Store(phaseClosed)
	return errors.Join(errs...)
}

// Run opens the daemon, runs it until ctx is done, then closes it. It
// returns Open's error, or Close's.
func (d *Daemon) Run(ctx context.Context) error {
	if err := d.Open(ctx); err != nil {
		if errors.Is(err, ErrStandbyStopped) {
			d.log.Info("stopped while on standby")
			return nil
		}
		return err
	}
	<-ctx.Done()
	d.log.Info("shutting down", "grace", d.cfg.Grace)
	return d.Close(context.WithoutCancel(ctx))
}

// Rescan scans the plugin directory now: it forgets past load failures
// (so every failed file is tried again), loads new and changed files and
// stops removed ones. A file still settling is waited for once, up to
// Config.SettleTime. Rescan returns when the scan is done; it is safe to
// call at any time, concurrently with the daemon's own scans.
func (d *Daemon) Rescan(ctx context.Context) {
	if d.phase.Load() == phaseClosing || d.phase.Load() == phaseClosed {
		return
	}
	wait, done := d.scan(ctx, true)
	if !d.await(ctx, done) || wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return
	case <-t.C:
	}
	_, done = d.scan(ctx, false)
	d.await(ctx, done)
}

// await waits for done, ctx or the daemon's close, and reports whether
// done came first.
func (d *Daemon) await(ctx context.Context, done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	case <-ctx.Done():
	case <-d.closing:
	}
	return false
}

// warnUnknownIntervals logs the interval overrides, grants and config
// values that name no running plugin: most likely a typo, or a plugin
// refused (logged already).
func (d *Daemon) warnUnknownIntervals() {
	d.mu.Lock()
	names := map[string]bool{}
	for _, e := range d.entries {
		names[e.name()] = true
	}
	d.mu.Unlock()
	live := d.settings()
	for _, name := range sortedKeys(live.intervals) {
		if !names[name] {
			d.log.Warn("interval set for a plugin that is not loaded", "plugin", name, "interval", live.intervals[name])
		}
	}
	for _, name := range sortedKeys(live.grants) {
		if !names[name] {
			d.log.Warn("grant set for a plugin that is not running", "plugin", name)
		}
	}
	for _, name := range sortedKeys(live.pluginConfig) {
		if !names[name] {
			d.log.Warn("config values set for a plugin that is not running", "plugin", name)
		}
	}
}

// Reconfigure puts cfg in force while the daemon runs, or returns an error
// naming what is wrong with it, changing nothing. What each plugin gets
// (Intervals, MinInterval, Drain, DrainPause, DrainMaxTicks, Limits,
// PluginLimits, Grants) takes effect at once: a running plugin whose
// settings changed is loaded again and swapped in between ticks, one that
// its new grant no longer covers is stopped after its current tick, and
// every refused file is tried again (so a widened grant lets a refused
// plugin load), and a plugin with secrets is loaded again, so that they are
// read again (a rotated secret takes effect; one that can no longer be read
// leaves the running version running). Changes to the other fields are
// logged as taking effect only at restart.
func (d *Daemon) Reconfigure(ctx context.Context, cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return fmt.Errorf("daemon config: %w", err)
	}
	if names := restartOnly(d.cfg, cfg); len(names) > 0 {
		d.log.Warn("configuration changes that take effect only at restart", "settings", strings.Join(names, ", "))
	}
	d.live.Store(newSettings(cfg))
	d.log.Info("configuration reloaded")
	if d.phase.Load() == phaseRunning {
		d.rereadSecrets()
		d.Rescan(ctx)
		d.warnUnknownIntervals()
	}
	return nil
}

// rereadSecrets makes the next scan load again every plugin version that
// read a secret, by forgetting the settings it was loaded with.
func (d *Daemon) rereadSecrets() {
	d.scanMu.Lock() // scans read entry.settings
	defer d.scanMu.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	for file := range d.entries {
		e := d.latest(file)
		if slices.ContainsFunc(e.config, func(c host.ConfigEntry) bool { return c.Secret != "" }) {
			e.settings = ""
		}
	}
}

func mapValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
