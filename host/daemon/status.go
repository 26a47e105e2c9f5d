package daemon

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host"
	"github.com/ffwasmhost/ffwasmhost/host/sched"
	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// Status is the daemon's state, as /v1/plugins serves it.
type Status struct {
	// SchemaVersion is the database's host schema version (0 until the
	// daemon has migrated it).
	SchemaVersion int64 `json:"schema_version"`
	// PluginDir is the watched directory.
	PluginDir string `json:"plugin_dir"`
	// PluginDirError says why the directory cannot be read (the loaded
	// plugins keep running meanwhile); null when it is fine.
	PluginDirError *string `json:"plugin_dir_error"`
	// Plugins are the loaded plugins, sorted by name.
	Plugins []PluginStatus `json:"plugins"`
	// Invalid are the plugin file versions that did not load, sorted by
	// file. A file listed here may also have an older version in Plugins,
	// still running.
	Invalid []InvalidFile `json:"invalid"`
	// Conflicts are the plugin names that more than one file claims, sorted
	// by name. Only a version that ran before the conflict runs; the
	// daemon is not ready while any conflict lasts.
	Conflicts []NameConflict `json:"conflicts"`
	// LedgerError says why the tick ledger could not be read; null when
	// it was.
	LedgerError *string `json:"ledger_error"`
}

// NameConflict is a plugin name that several files claim.
type NameConflict struct {
	Plugin string   `json:"plugin"`
	Files  []string `json:"files"` // sorted
	// Running is the file whose version runs, if one ran before the
	// conflict; empty when none runs.
	Running string `json:"running,omitempty"`
}

// PluginStatus is one loaded plugin. Its tick fields come from the tick
// ledger, in the database: they span versions and restarts of the daemon.
type PluginStatus struct {
	Name        string    `json:"name"`
	File        string    `json:"file"`
	SHA256      string    `json:"sha256"`
	Kind        host.Kind `json:"kind"` // "ffhost" or "extism"
	ABI         string    `json:"abi"`
	Version     string    `json:"version"`
	Description string    `json:"description"`
	Reads       []string  `json:"reads"`
	Writes      []string  `json:"writes"`
	// Owns are the tables the plugin owns (ABI 1.2), and Migrations the
	// steps the database has applied for it, by id.
	Owns       []string                 `json:"owns"`
	Migrations []store.AppliedMigration `json:"migrations"`
	LoadedAt   time.Time                `json:"loaded_at"`
	// IntervalMS is the pause between ticks; 0 means disabled.
	IntervalMS int64 `json:"interval_ms"`
	// Enabled is false when the interval is zero: the plugin is loaded and
	// validated but never ticks.
	Enabled bool `json:"enabled"`
	// Config are the plugin's configuration keys (ABI 1.3), as declared,
	// with their values.
	Config []ConfigStatus `json:"config"`

	LastTick       *time.Time    `json:"last_tick"` // start of the last tick; null before the first
	LastDurationMS *float64      `json:"last_duration_ms"`
	LastReport     *sched.Report `json:"last_report"`
	LastError      *string       `json:"last_error"`   // null when the last tick succeeded
	LastSuccess    *time.Time    `json:"last_success"` // end of the last tick that succeeded; null if none has
	LastDaemon     string        `json:"last_daemon"`  // the daemon that ran the last tick
	LastSHA256     string        `json:"last_sha256"`  // the version that ran the last tick
	// LastChanges counts the rows the last tick wrote, by table.
	LastChanges         []store.TableChanges `json:"last_changes"`
	Ticks               int64                `json:"ticks"`
	Failures            int64                `json:"failures"`
	ConsecutiveFailures int64                `json:"consecutive_failures"`
	// Failing is true while the last tick failed; the next tick is then
	// backed off (see Config.MaxBackoff).
	Failing bool `json:"failing"`
	// Stale is true when an enabled plugin has not succeeded for
	// Config.StaleAfter intervals (counted from its first tick, or its
	// load, if it never has). On PostgreSQL it is judged per partition,
	// over the partitions this daemon holds only, each counted from when
	// this daemon acquired it at the earliest; StalePartitions lists
	// those that are stale.
	Stale           bool       `json:"stale"`
	StalePartitions []int      `json:"stale_partitions,omitempty"`
	NextTick        *time.Time `json:"next_tick"` // null when disabled
	// Partitions are, on PostgreSQL, the partitions of the plugin whose
	// lease this daemon holds, so it ticks them; absent on SQLite.
	Partitions []int `json:"partitions,omitempty"`
}

// ConfigStatus is one configuration key of a plugin and its value.
type ConfigStatus struct {
	Key  string `json:"key"`
	Type string `json:"type"`
	// Value is the value as the plugin reads it, or for a secret where it
	// comes from, e.g. "(secret from env NAME)"; a secret is never shown.
	Value string `json:"value"`
	// Source is "default" (the plugin's) or "file" (the operator's).
	Source string `json:"source"`
	Doc    string `json:"doc"`
}

// InvalidFile is a plugin file version that did not load.
type InvalidFile struct {
	File   string    `json:"file"`
	SHA256 string    `json:"sha256,omitempty"` // empty if the file could not be read
	Error  string    `json:"error"`
	Since  time.Time `json:"since"`
}

// Status returns the daemon's state. Tick fields come from the tick
// ledger; if it cannot be read, LedgerError says why.
func (d *Daemon) Status(ctx context.Context) Status {
	ledger, lerr := d.ledger(ctx)
	migrations, merr := d.migrations(ctx)
	if lerr == nil {
		lerr = merr
	}
	d.mu.Lock()
	entries := mapValues(d.entries)
	st := Status{SchemaVersion: d.schemaVersion.Load(), PluginDir: d.cfg.PluginDir, Plugins: []PluginStatus{},
		Invalid: []InvalidFile{}, Conflicts: d.conflictList()}
	if d.dirErr != nil {
		msg := d.dirErr.Error()
		st.PluginDirError = &msg
	}
	for _, f := range d.failed {
		st.Invalid = append(st.Invalid, InvalidFile{File: f.file, SHA256: f.sha, Error: f.err.Error(), Since: f.at.UTC()})
	}
	d.mu.Unlock()
	jobs := map[string]sched.JobStatus{}
	for _, js := range d.sup.Status() {
		jobs[js.Name] = js
	}
	now := d.cfg.Clock.Now()
	for _, e := range entries {
		ps := pluginStatus(e, jobs)
		ps.Partitions = d.heldPartitions(e.name())
		if rec, ok := ledger[e.name()][0]; ok {
			fromLedger(&ps, rec)
		}
		ps.Stale, ps.StalePartitions = d.stale(e, ledger[e.name()], ps.Partitions, now)
		if m := migrations[e.name()]; m != nil {
			ps.Migrations = m
		}
		st.Plugins = append(st.Plugins, ps)
	}
	if lerr != nil {
		msg := lerr.Error()
		st.LedgerError = &msg
	}
	sort.Slice(st.Plugins, func(i, j int) bool { return st.Plugins[i].Name < st.Plugins[j].Name })
	sort.Slice(st.Invalid, func(i, j int) bool { return st.Invalid[i].File < st.Invalid[j].File })
	return st
}

func pluginStatus(e *entry, jobs map[string]sched.JobStatus) PluginStatus {
	desc := e.plugin.Desc
	ps := PluginStatus{
		Name:        desc.Name,
		File:        e.file,
		SHA256:      e.plugin.SHA256,
		Kind:        e.plugin.Kind,
		ABI:         desc.ABIVersion,
		Version:     desc.Version,
		Description: desc.Description,
		Reads:       append([]string{}, desc.Reads...),
		Writes:      append([]string{}, desc.Writes...),
		Owns:        append([]string{}, desc.Owns...),
		Migrations:  []store.AppliedMigration{},
		LoadedAt:    e.loadedAt.UTC(),
		IntervalMS:  e.interval.Milliseconds(),
		Enabled:     e.interval > 0,
		Config:      []ConfigStatus{},
	}
	for _, c := range e.config {
		ps.Config = append(ps.Config, ConfigStatus{Key: c.Key, Type: c.Type, Value: c.Shown(), Source: c.Source, Doc: c.Doc})
	}
	if js, ok := jobs[desc.Name]; ok && !js.Next.IsZero() {
		next := js.Next.UTC()
		ps.NextTick = &next
	}
	return ps
}

// fromLedger fills ps's tick fields from the plugin's ledger row.
func fromLedger(ps *PluginStatus, rec store.TickRecord) {
	start := rec.Start.UTC()
	ms := float64(rec.End.Sub(rec.Start).Microseconds()) / 1000
	rep := sched.Report{Processed: rec.Processed, Errors: rec.Errors}
	ps.LastTick, ps.LastDurationMS, ps.LastReport = &start, &ms, &rep
	if rec.Err != "" {
		msg := rec.Err
		ps.LastError = &msg
	}
	if !rec.LastSuccess.IsZero() {
		t := rec.LastSuccess.UTC()
		ps.LastSuccess = &t
	}
	ps.LastDaemon, ps.LastSHA256, ps.LastChanges = rec.Daemon, rec.SHA256, rec.Changes
	ps.Ticks, ps.Failures, ps.ConsecutiveFailures = rec.Ticks, rec.Failures, rec.ConsecutiveFailures
	ps.Failing = rec.ConsecutiveFailures > 0
}

// migrations reads the plugin migration ledger, by plugin; none if the
// store keeps none.
func (d *Daemon) migrations(ctx context.Context) (map[string][]store.AppliedMigration, error) {
	m, ok := d.st.(store.PluginMigrator)
	if !ok || d.schemaVersion.Load() == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	all, err := m.AppliedMigrations(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]store.AppliedMigration{}
	for _, a := range all {
		out[a.Plugin] = append(out[a.Plugin], a)
	}
	return out, nil
}

// ledger reads the tick ledger, by plugin and partition (on SQLite,
// partition 0 only).
func (d *Daemon) ledger(ctx context.Context) (map[string]map[int]store.TickRecord, error) {
	if d.st == nil || d.schemaVersion.Load() == 0 {
		return nil, nil // not migrated yet
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	recs, err := d.st.Ticks(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]map[int]store.TickRecord{}
	for _, r := range recs {
		if out[r.Plugin] == nil {
			out[r.Plugin] = map[int]store.TickRecord{}
		}
		out[r.Plugin][r.Partition] = r
	}
	return out, nil
}

// stale reports whether e, enabled, has not succeeded for StaleAfter of its
// intervals, and which partitions have not. Without a cluster (SQLite) it
// judges partition 0, the only one the daemon ticks; in a cluster
// (PostgreSQL) it judges each partition in held, the partitions this
// daemon holds, and lists those that are stale: the others' are theirs to
// report, and a partition no daemon holds shows in /v1/cluster.
func (d *Daemon) stale(e *entry, recs map[int]store.TickRecord, held []int, now time.Time) (bool, []int) {
	if d.member == nil {
		return d.stalePartition(e, recs[0], time.Time{}, now), nil
	}
	var out []int
	for _, p := range held {
		if d.stalePartition(e, recs[p], d.acquiredAt(e.name(), p), now) {
			out = append(out, p)
		}
	}
	return len(out) > 0, out
}

// stalePartition reports whether a partition of e whose ledger row is rec
// has not succeeded for StaleAfter of e's intervals: counted from its last
// success, else from its first ledger record, else from when e was loaded,
// and from heldSince at the earliest (when this daemon took the partition
// over: its earlier failures were another daemon's).
func (d *Daemon) stalePartition(e *entry, rec store.TickRecord, heldSince, now time.Time) bool {
	since := rec.Since
	if since.IsZero() { // never ticked: count from the load
		since = e.loadedAt
	}
	if !rec.LastSuccess.IsZero() {
		since = rec.LastSuccess
	}
	if heldSince.After(since) {
		since = heldSince
	}
	return store.TickRecord{Since: since}.Stale(now, e.interval, d.cfg.StaleAfter)
}

// conflictList returns the name conflicts, sorted by name. The caller
// holds d.mu.
func (d *Daemon) conflictList() []NameConflict {
	out := []NameConflict{}
	for _, name := range slices.Sorted(maps.Keys(d.conflicts)) {
		c := NameConflict{Plugin: name, Files: slices.Clone(d.conflicts[name])}
		for _, f := range c.Files {
			if e := d.entries[f]; e != nil && e.name() == name {
				c.Running = f
			}
		}
		out = append(out, c)
	}
	return out
}

// Ready returns nil when the daemon is running, its database answers, at
// least one plugin is loaded and no plugin name is claimed by more than
// one file; otherwise an error saying which is not.
func (d *Daemon) Ready(ctx context.Context) error {
	if p := d.phase.Load(); p != phaseRunning {
		return fmt.Errorf("daemon %s", p)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := d.st.Ping(ctx); err != nil {
		return fmt.Errorf("database %s: %w", d.st.Location(), err)
	}
	d.mu.Lock()
	n := len(d.entries)
	conflicts := d.conflictList()
	d.mu.Unlock()
	if n == 0 {
		return fmt.Errorf("no plugins loaded from %s", d.cfg.PluginDir)
	}
	if len(conflicts) > 0 {
		c := conflicts[0]
		return fmt.Errorf("plugin name conflict: %s is claimed by %s (remove or rename all but one)", c.Plugin, strings.Join(baseNames(c.Files), ", "))
	}
	var stale []string
	for _, p := range d.Status(ctx).Plugins {
		switch {
		case !p.Stale:
		case len(p.StalePartitions) > 0:
			stale = append(stale, fmt.Sprintf("%s (partitions %s of the %d this daemon holds; interval %v)", p.Name,
				partitionList(p.StalePartitions), len(p.Partitions), time.Duration(p.IntervalMS)*time.Millisecond))
		default:
			since := "it was loaded"
			if p.LastSuccess != nil {
				since = "its last success at " + p.LastSuccess.Format(time.RFC3339)
			}
			stale = append(stale, fmt.Sprintf("%s (no success since %s; interval %v)", p.Name, since, time.Duration(p.IntervalMS)*time.Millisecond))
		}
	}
	if len(stale) > 0 {
		return fmt.Errorf("stale plugins, %d intervals without a success: %s", d.cfg.StaleAfter, strings.Join(stale, ", "))
	}
	return nil
}

// partitionList writes partitions as "3, 7, 9", the first ten and then
// how many more.
func partitionList(parts []int) string {
	const shown = 10
	var b strings.Builder
	for i, p := range parts {
		if i == shown {
			fmt.Fprintf(&b, " and %d more", len(parts)-shown)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(p))
	}
	return b.String()
}
