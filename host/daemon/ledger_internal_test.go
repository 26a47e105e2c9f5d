package daemon

import (
	"context"
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
