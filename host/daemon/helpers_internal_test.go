package daemon

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

// waitDeadline is how long a test waits for something asynchronous: far
// more than it takes on an idle machine, so a slow one does not flake.
const waitDeadline = 30 * time.Second

// fixture is a daemon over a plugin directory and database of its own.
type fixture struct {
	t   *testing.T
	dir string // the plugin directory
	db  string
	cfg Config
	d   *Daemon
	log *testutil.SyncBuffer
}

// newFixture returns a fixture whose config is cfg plus a fresh plugin
// directory, database and compilation cache. Tick loops run every 20 ms
// unless cfg says otherwise; the periodic rescan is off (a test scans by
// hand; fsnotify may scan too, which scans are built to tolerate).
func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	root := t.TempDir()
	f := &fixture{t: t, dir: filepath.Join(root, "plugins"), db: filepath.Join(root, "ff.db"), log: &testutil.SyncBuffer{}}
	if err := os.Mkdir(f.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if cfg.PluginDir == "" {
		cfg.PluginDir = f.dir
	}
	if cfg.DBPath == "" {
		cfg.DBPath = f.db
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = filepath.Join(root, "cache")
	}
	if cfg.RescanInterval == 0 {
		cfg.RescanInterval = time.Hour
	}
	if cfg.Grace == 0 {
		cfg.Grace = waitDeadline
	}
	if cfg.MinInterval == 0 {
		cfg.MinInterval = time.Millisecond // the tiny plugins tick every 20 ms
	}
	cfg.Logger = slog.New(slog.NewTextHandler(f.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.cfg = cfg
	t.Cleanup(func() {
		if f.d != nil {
			if err := f.d.Close(context.Background()); err != nil {
				t.Errorf("close: %v", err)
			}
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", f.log)
		}
	})
	return f
}

// open creates and opens the daemon.
func (f *fixture) open() *Daemon {
	f.t.Helper()
	d, err := New(f.cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := d.Open(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	f.d = d
	return d
}

// write deploys wasm as name the safe way: a hidden file renamed into
// place. Its modification time is set in the past so it counts as settled.
func (f *fixture) write(name string, wasm []byte) {
	f.t.Helper()
	tmp := filepath.Join(f.dir, "."+name)
	if err := os.WriteFile(tmp, wasm, 0o644); err != nil {
		f.t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(tmp, old, old); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(f.dir, name)); err != nil {
		f.t.Fatal(err)
	}
}

// scan runs one unforced scan, as the watcher or the periodic rescan
// would (a version that failed before is not tried again), and waits for
// the loop changes it scheduled.
func (f *fixture) scan() time.Duration {
	f.t.Helper()
	wait, done := f.d.scan(context.Background(), false)
	select {
	case <-done:
	case <-time.After(waitDeadline):
		f.t.Fatalf("the scan's loop changes did not finish within %v", waitDeadline)
	}
	return wait
}

// plugin returns the named plugin's status.
func (f *fixture) plugin(name string) (PluginStatus, bool) {
	for _, p := range f.d.Status(context.Background()).Plugins {
		if p.Name == name {
			return p, true
		}
	}
	return PluginStatus{}, false
}

// waitFor polls cond until it holds, failing the test after waitDeadline.
func (f *fixture) waitFor(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(waitDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out after %v waiting for %s", waitDeadline, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitTicks waits until the named plugin has ticked at least n times in
// all (the ledger counts across versions) and, if sha is not "", its last
// tick ran the version sha.
func (f *fixture) waitTicks(name, sha string, n int64) PluginStatus {
	f.t.Helper()
	var ps PluginStatus
	f.waitFor(name+" to tick", func() bool {
		p, ok := f.plugin(name)
		ps = p
		return ok && p.Ticks >= n && (sha == "" || p.LastSHA256 == sha)
	})
	return ps
}

// metric returns the value of the counter or gauge name with exactly the
// given labels, and whether such a series exists.
func (f *fixture) metric(name string, labels ...string) (float64, bool) {
	f.t.Helper()
	mfs, err := f.d.Gatherer().Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if hasLabels(m, labels) {
				switch {
				case m.Counter != nil:
					return m.Counter.GetValue(), true
				case m.Gauge != nil:
					return m.Gauge.GetValue(), true
				case m.Histogram != nil:
					return float64(m.Histogram.GetSampleCount()), true
				}
			}
		}
	}
	return 0, false
}

func hasLabels(m *dto.Metric, kv []string) bool {
	want := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		want[kv[i]] = kv[i+1]
	}
	if len(m.GetLabel()) != len(want) {
		return false
	}
	for _, l := range m.GetLabel() {
		if v, ok := want[l.GetName()]; !ok || v != l.GetValue() {
			return false
		}
	}
	return true
}

// reloads returns ffwasmhost_reloads_total for result.
func (f *fixture) reloads(result string) float64 {
	f.t.Helper()
	v, _ := f.metric("ffwasmhost_reloads_total", "result", result)
	return v
}
