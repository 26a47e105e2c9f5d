package daemon

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"
)

// TestLedgerSurvivesRestart: a new daemon on the same database shows each
// plugin's last tick from before, before it has ticked itself.
func TestLedgerSurvivesRestart(t *testing.T) {
	f := newFixture(t, Config{DaemonID: "first"})
	v1 := tinyWasm(t, tinySpec{Name: "alpha", Version: "1", IntervalMS: 20, Processed: 3})
	f.write("alpha.wasm", v1)
	d := f.open()
	before := f.waitTicks("alpha", sha(v1), 2)
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.d = nil
	after := newFixture(t, Config{DBPath: f.db, PluginDir: f.dir, CacheDir: f.cfg.CacheDir, DaemonID: "second",
		Intervals: map[string]time.Duration{"alpha": time.Hour}}) // no tick of its own during the test
	d2 := after.open()
	p, ok := after.plugin("alpha")
	if !ok || p.LastTick == nil || p.Ticks < before.Ticks || p.LastDaemon != "first" || p.LastSHA256 != sha(v1) ||
		p.LastReport == nil || p.LastReport.Processed != 3 || p.LastSuccess == nil {
		t.Fatalf("after a restart alpha's status is %+v, want the first daemon's last tick", p)
	}
	if err := d2.Ready(context.Background()); err != nil {
		t.Errorf("Ready = %v", err)
	}
}

// TestStalePlugin: an enabled plugin that has not succeeded for
// StaleAfter intervals is stale in its status, /readyz and its metric;
// its first success clears it.
func TestStalePlugin(t *testing.T) {
	f := newFixture(t, Config{StaleAfter: 5})
	failing := tinyWasm(t, tinySpec{Name: "alpha", Version: "bad", IntervalMS: 20, Status: 1})
	f.write("alpha.wasm", failing)
	f.write("beta.wasm", tinyWasm(t, tinySpec{Name: "beta", Version: "1", IntervalMS: 20}))
	d := f.open()
	f.waitFor("alpha to go stale", func() bool { p, _ := f.plugin("alpha"); return p.Stale })
	if p, _ := f.plugin("beta"); p.Stale {
		t.Error("beta, which succeeds, is stale")
	}
	err := d.Ready(context.Background())
	if err == nil || !strings.Contains(err.Error(), "stale plugins, 5 intervals without a success: alpha") {
		t.Errorf("Ready = %v, want alpha named stale", err)
	}
	if v, _ := f.metric("ffwasmhost_plugin_stale", "plugin", "alpha"); v != 1 {
		t.Errorf("ffwasmhost_plugin_stale{alpha} = %v, want 1", v)
	}
	if v, _ := f.metric("ffwasmhost_plugin_stale", "plugin", "beta"); v != 0 {
		t.Errorf("ffwasmhost_plugin_stale{beta} = %v, want 0", v)
	}
	if _, ok := f.metric("ffwasmhost_last_success_timestamp_seconds", "plugin", "alpha"); ok {
		t.Error("alpha has a last success")
	}
	if v, ok := f.metric("ffwasmhost_last_success_timestamp_seconds", "plugin", "beta"); !ok || v <= 0 {
		t.Errorf("ffwasmhost_last_success_timestamp_seconds{beta} = %v, %v", v, ok)
	}

	fixed := tinyWasm(t, tinySpec{Name: "alpha", Version: "good", IntervalMS: 20})
	f.write("alpha.wasm", fixed)
	f.scan()
	f.waitFor("alpha's first success", func() bool { p, _ := f.plugin("alpha"); return p.LastSuccess != nil })
	if p, _ := f.plugin("alpha"); p.Stale {
		t.Errorf("alpha still stale after a success: %+v", p)
	}
	if err := d.Ready(context.Background()); err != nil {
		t.Errorf("Ready after the success = %v", err)
	}
}

// TestDrain: with drain on for a plugin, a tick that reports work left is
// followed after DrainPause instead of the interval (the supervisor's
// tests check the timing on a fake clock); without it, More changes
// nothing.
func TestDrain(t *testing.T) {
	f := newFixture(t, Config{Drain: map[string]bool{"busy": true}, DrainPause: 5 * time.Millisecond})
	f.write("busy.wasm", tinyWasm(t, tinySpec{Name: "busy", Version: "1", IntervalMS: 20, Processed: 20, More: true}))
	f.write("calm.wasm", tinyWasm(t, tinySpec{Name: "calm", Version: "1", IntervalMS: 20, Processed: 20, More: true}))
	f.open()
	f.waitTicks("busy", "", 3)
	f.waitTicks("calm", "", 3)
	var busy, calm int
	for _, line := range strings.Split(f.log.String(), "\n") {
		if !strings.Contains(line, "msg=tick ") {
			continue
		}
		drained := strings.Contains(line, "more=true next_in=5ms")
		switch {
		case strings.Contains(line, "plugin=busy") && drained:
			busy++
		case strings.Contains(line, "plugin=calm") && drained:
			calm++
		}
	}
	if busy == 0 || calm != 0 {
		t.Errorf("drain ticks logged: busy %d, calm %d; want busy's only", busy, calm)
	}
}

// TestCatchUp: with CatchUp, a plugin whose last tick in the ledger is
// older than its interval ticks as soon as the daemon starts; without it,
// or when it is not overdue, its first tick waits an interval.
func TestCatchUp(t *testing.T) {
	f := newFixture(t, Config{})
	f.write("alpha.wasm", tinyWasm(t, alpha("1")))
	d := f.open()
	before := f.waitTicks("alpha", "", 1)
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.d = nil
	db, err := sql.Open("sqlite", f.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The last tick was an hour ago: more than one interval.
	if _, err := db.Exec(`UPDATE ffwasmhost_ticks SET start_ms = start_ms - 3600000, end_ms = end_ms - 3600000`); err != nil {
		t.Fatal(err)
	}
	for _, catchUp := range []bool{false, true} {
		g := newFixture(t, Config{DBPath: f.db, PluginDir: f.dir, CacheDir: f.cfg.CacheDir, CatchUp: catchUp,
			Intervals: map[string]time.Duration{"alpha": time.Hour}})
		g.open()
		p, _ := g.plugin("alpha")
		logged := strings.Contains(g.log.String(), "plugin overdue at start; catching up")
		if logged != catchUp {
			t.Errorf("catch-up %v: the log says catching up: %v", catchUp, logged)
		}
		if catchUp {
			g.waitTicks("alpha", "", before.Ticks+1)
		} else if p.NextTick == nil || time.Until(*p.NextTick) < 50*time.Minute {
			t.Errorf("without catch-up the first tick is due at %v, want an interval (an hour) away", p.NextTick)
		}
		if err := g.d.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		g.d = nil
	}
}
