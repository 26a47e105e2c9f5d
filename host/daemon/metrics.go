package daemon

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/sched"
	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// Reload results, the values of ffwasmhost_reloads_total's result label.
const (
	ReloadLoaded   = "loaded"   // a new file was loaded and its loop started
	ReloadReplaced = "replaced" // a changed file was swapped in between ticks
	ReloadRemoved  = "removed"  // a removed file's loop was stopped
	ReloadFailed   = "failed"   // a new or changed file did not load
)

// tickBuckets span a trivial tick (well under a millisecond) to the default
// tick timeout (30 s).
var tickBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// lockBuckets span one small transaction (~50 µs with synchronous=NORMAL)
// to a tick-long one.
var lockBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1, 5, 30}

// metrics are the daemon's Prometheus collectors, on a registry of its own
// so that two daemons in one process (tests) never collide.
type metrics struct {
	reg        *prometheus.Registry
	ticks      *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	processed  *prometheus.CounterVec
	itemErrors *prometheus.CounterVec
	reloads    *prometheus.CounterVec
	info       *prometheus.GaugeVec
	denied     *prometheus.CounterVec
	failing    *prometheus.GaugeVec
	lock       *prometheus.HistogramVec
	conflicts  *prometheus.GaugeVec
	logDropped *prometheus.CounterVec
	changed    *prometheus.CounterVec
	fixtures   *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		ticks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ffwasmhost_ticks_total",
			Help: "Ticks run, by plugin and outcome (ok or error).",
		}, []string{"plugin", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ffwasmhost_tick_duration_seconds",
			Help:    "Duration of one tick, by plugin.",
			Buckets: tickBuckets,
		}, []string{"plugin"}),
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ffwasmhost_processed_total",
			Help: "Items processed, as the plugins reported them.",
		}, []string{"plugin"}),
		itemErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ffwasmhost_tick_item_errors_total",
			Help: "Items that failed within otherwise successful ticks, as the plugins reported them.",
		}, []string{"plugin"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ffwasmhost_reloads_total",
			Help: "Plugin file changes handled, by result (loaded, replaced, removed, failed).",
		}, []string{"result"}),
		info: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ffwasmhost_plugin_info",
			Help: "1 for every loaded plugin version.",
		}, []string{"plugin", "version", "sha256", "abi"}),
		denied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ffwasmhost_denied_statements_total",
			Help: "SQL statements the authorizer refused, by plugin and SQLite action.",
		}, []string{"plugin", "action"}),
		failing: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ffwasmhost_plugin_failing",
			Help: "1 while a plugin's last tick failed (consecutive failures > 0).",
		}, []string{"plugin"}),
		lock: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ffwasmhost_write_lock_held_seconds",
			Help:    "How long each plugin transaction held the database's write lock, BEGIN IMMEDIATE to COMMIT or ROLLBACK.",
			Buckets: lockBuckets,
		}, []string{"plugin"}),
		conflicts: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ffwasmhost_plugin_name_conflict",
			Help: "Files that claim a plugin name more than one file claims; none of them but an already running one runs.",
		}, []string{"plugin"}),
		logDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ffwasmhost_log_lines_dropped_total",
			Help: "Plugin log lines dropped, by plugin and reason (tick_limit: over max-log-lines in one tick; rate_limit: over the plugin's log rate).",
		}, []string{"plugin", "reason"}),
	}
	m.changed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ffwasmhost_rows_changed_total",
		Help: "Rows the plugins' ticks inserted, updated and deleted, as committed, by plugin, table and op.",
	}, []string{"plugin", "table", "op"})
	m.fixtures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ffwasmhost_fixtures_written_total",
		Help: "Failed ticks written as replay fixtures (--fixtures), by plugin.",
	}, []string{"plugin"})
	m.reg.MustRegister(m.ticks, m.duration, m.processed, m.itemErrors, m.reloads, m.info, m.denied, m.failing, m.lock, m.conflicts, m.logDropped, m.changed, m.fixtures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, r := range []string{ReloadLoaded, ReloadReplaced, ReloadRemoved, ReloadFailed} {
		m.reloads.WithLabelValues(r)
	}
	return m
}

// loaded records a plugin version that has started, so its series exist
// from the start rather than from its first tick.
func (m *metrics) loaded(p *host.Plugin) {
	name := p.Desc.Name
	m.info.WithLabelValues(name, p.Desc.Version, p.SHA256, p.Desc.ABIVersion).Set(1)
	m.failing.WithLabelValues(name).Set(0)
	m.ticks.WithLabelValues(name, "ok")
	m.ticks.WithLabelValues(name, "error")
	m.duration.WithLabelValues(name)
	m.processed.WithLabelValues(name)
	m.itemErrors.WithLabelValues(name)
}

// unloaded forgets a plugin version's gauges. Counters stay: they are
// cumulative over the daemon's life, across versions.
func (m *metrics) unloaded(p *host.Plugin) {
	m.info.DeleteLabelValues(p.Desc.Name, p.Desc.Version, p.SHA256, p.Desc.ABIVersion)
	m.failing.DeleteLabelValues(p.Desc.Name)
}

// tick records one finished tick.
func (m *metrics) tick(res sched.TickResult) {
	outcome, failing := "ok", 0.0
	if res.Err != nil {
		outcome, failing = "error", 1
	}
	m.ticks.WithLabelValues(res.Job, outcome).Inc()
	m.duration.WithLabelValues(res.Job).Observe(res.Duration.Seconds())
	m.processed.WithLabelValues(res.Job).Add(float64(res.Report.Processed))
	m.itemErrors.WithLabelValues(res.Job).Add(float64(res.Report.Errors))
	m.failing.WithLabelValues(res.Job).Set(failing)
}

// deny records one refused statement.
func (m *metrics) deny(d store.Denial) { m.denied.WithLabelValues(d.Plugin, d.Action).Inc() }

// lockHeld returns the runner hook that observes plugin's write-lock hold
// times.
func (m *metrics) lockHeld(plugin string) func(time.Duration) {
	h := m.lock.WithLabelValues(plugin)
	return func(d time.Duration) { h.Observe(d.Seconds()) }
}

// conflict sets how many files claim the plugin name; below 2 the series
// is removed.
func (m *metrics) conflict(plugin string, files int) {
	if files < 2 {
		m.conflicts.DeleteLabelValues(plugin)
		return
	}
	m.conflicts.WithLabelValues(plugin).Set(float64(files))
}

// logDroppedBy returns the runner hook that counts plugin's dropped log
// lines.
func (m *metrics) logDroppedBy(plugin string) func(overTickLimit, overRate int) {
	tick, rate := m.logDropped.WithLabelValues(plugin, "tick_limit"), m.logDropped.WithLabelValues(plugin, "rate_limit")
	return func(overTickLimit, overRate int) {
		tick.Add(float64(overTickLimit))
		rate.Add(float64(overRate))
	}
}

// rowsChanged counts what one tick of plugin wrote.
func (m *metrics) rowsChanged(plugin string, tables []store.TableChanges) {
	for _, t := range tables {
		for _, c := range []struct {
			op string
			n  int64
		}{{store.OpInsert, t.Inserted}, {store.OpUpdate, t.Updated}, {store.OpDelete, t.Deleted}} {
			if c.n > 0 {
				m.changed.WithLabelValues(plugin, t.Table, c.op).Add(float64(c.n))
			}
		}
	}
}

// fixtureWritten counts a replay fixture written for plugin.
func (m *metrics) fixtureWritten(plugin string) { m.fixtures.WithLabelValues(plugin).Inc() }

// reload counts one reload result.
func (m *metrics) reload(result string) { m.reloads.WithLabelValues(result).Inc() }

// healthCollector exports, at every scrape, each loaded plugin's
// staleness and last success from the tick ledger: they change with time
// alone, between ticks, and survive restarts.
type healthCollector struct {
	d                  *Daemon
	stale, lastSuccess *prometheus.Desc
}

func newHealthCollector(d *Daemon) healthCollector {
	return healthCollector{
		d: d,
		stale: prometheus.NewDesc("ffwasmhost_plugin_stale",
			"1 while an enabled plugin has not succeeded for StaleAfter (--stale-after) of its intervals; on PostgreSQL, in any partition this daemon holds.", []string{"plugin"}, nil),
		lastSuccess: prometheus.NewDesc("ffwasmhost_last_success_timestamp_seconds",
			"When the plugin's last successful tick ended, from the tick ledger (Unix seconds).", []string{"plugin"}, nil),
	}
}

// Describe sends the collector's two descriptions.
func (c healthCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.stale
	ch <- c.lastSuccess
}

// Collect sends each loaded plugin's staleness and, if it has succeeded,
// the time of its last success.
func (c healthCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.d.Status(context.Background()).Plugins {
		stale := 0.0
		if p.Stale {
			stale = 1
		}
		ch <- prometheus.MustNewConstMetric(c.stale, prometheus.GaugeValue, stale, p.Name)
		if p.LastSuccess != nil {
			ch <- prometheus.MustNewConstMetric(c.lastSuccess, prometheus.GaugeValue,
				float64(p.LastSuccess.UnixMilli())/1000, p.Name)
		}
	}
}
