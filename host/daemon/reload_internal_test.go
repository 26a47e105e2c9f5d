package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func alpha(version string) tinySpec {
	return tinySpec{Name: "alpha", Version: version, IntervalMS: 20, Processed: 1}
}

func TestOpenLoadsValidFilesAndSkipsTheRest(t *testing.T) {
	f := newFixture(t, Config{})
	good := tinyWasm(t, alpha("1"))
	f.write("alpha.wasm", good)
	f.write("bad.wasm", []byte("\x00asm\x01\x00\x00\x00\x01\xff")) // truncated section
	f.write("junk.wasm", []byte("not wasm at all"))
	f.write("notes.txt", good)
	f.write(".hidden.wasm", tinyWasm(t, tinySpec{Name: "hidden", Version: "1", IntervalMS: 20}))
	d := f.open()

	st := d.Status(context.Background())
	if len(st.Plugins) != 1 || st.Plugins[0].Name != "alpha" || st.Plugins[0].SHA256 != sha(good) {
		t.Fatalf("plugins = %+v, want only alpha", st.Plugins)
	}
	if len(st.Invalid) != 2 {
		t.Fatalf("invalid = %+v, want bad.wasm and junk.wasm", st.Invalid)
	}
	for i, want := range []string{"bad.wasm", "junk.wasm"} {
		if filepath.Base(st.Invalid[i].File) != want || !strings.Contains(st.Invalid[i].Error, want) {
			t.Errorf("invalid[%d] = %+v, want %s with an error naming it", i, st.Invalid[i], want)
		}
	}
	if got := f.reloads(ReloadLoaded); got != 1 {
		t.Errorf("reloads loaded = %v, want 1", got)
	}
	if got := f.reloads(ReloadFailed); got != 2 {
		t.Errorf("reloads failed = %v, want 2", got)
	}
	if err := d.Ready(context.Background()); err != nil {
		t.Errorf("Ready = %v, want nil", err)
	}
	ps := f.waitTicks("alpha", "", 2)
	if ps.LastReport == nil || ps.LastReport.Processed != 1 || ps.Failing || ps.NextTick == nil {
		t.Errorf("alpha status after ticks = %+v", ps)
	}
	if !strings.Contains(f.log.String(), "bad.wasm") {
		t.Errorf("log does not name bad.wasm")
	}
}

// TestIntervalOverrides: an operator's interval wins, zero disables, and
// a plugin's own default below the minimum is raised to it (an operator's
// interval is not).
func TestIntervalOverrides(t *testing.T) {
	f := newFixture(t, Config{MinInterval: 50 * time.Millisecond,
		Intervals: map[string]time.Duration{"alpha": 0, "beta": 15 * time.Millisecond}})
	f.write("alpha.wasm", tinyWasm(t, alpha("1")))
	f.write("beta.wasm", tinyWasm(t, tinySpec{Name: "beta", Version: "1", IntervalMS: 0}))
	f.write("gamma.wasm", tinyWasm(t, tinySpec{Name: "gamma", Version: "1", IntervalMS: 0}))
	f.write("delta.wasm", tinyWasm(t, tinySpec{Name: "delta", Version: "1", IntervalMS: 1}))
	f.open()
	f.waitTicks("beta", "", 1)
	if !strings.Contains(f.log.String(), "default interval is below the minimum") {
		t.Error("raising delta's interval is not logged")
	}
	for _, c := range []struct {
		name    string
		ms      int64
		enabled bool
	}{{"alpha", 0, false}, {"beta", 15, true}, {"gamma", 0, false}, {"delta", 50, true}} {
		ps, ok := f.plugin(c.name)
		if !ok || ps.IntervalMS != c.ms || ps.Enabled != c.enabled {
			t.Errorf("%s: interval_ms %d enabled %v, want %d %v", c.name, ps.IntervalMS, ps.Enabled, c.ms, c.enabled)
		}
		if !c.enabled && (ps.Ticks != 0 || ps.NextTick != nil) {
			t.Errorf("%s is disabled but has ticks %d, next %v", c.name, ps.Ticks, ps.NextTick)
		}
	}
}

func TestNewFileStartsALoop(t *testing.T) {
	f := newFixture(t, Config{})
	d := f.open()
	if err := d.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "no plugins loaded") {
		t.Errorf("Ready with no plugins = %v, want 'no plugins loaded'", err)
	}
	f.write("alpha.wasm", tinyWasm(t, alpha("1")))
	f.scan()
	f.waitTicks("alpha", "", 1)
	if got := f.reloads(ReloadLoaded); got != 1 {
		t.Errorf("reloads loaded = %v, want 1", got)
	}
	if err := d.Ready(context.Background()); err != nil {
		t.Errorf("Ready = %v", err)
	}
}

func TestChangedFileIsSwappedBetweenTicks(t *testing.T) {
	f := newFixture(t, Config{})
	v1, v2 := tinyWasm(t, alpha("1")), tinyWasm(t, alpha("2"))
	f.write("alpha.wasm", v1)
	inTick := make(chan struct{})
	release := make(chan struct{})
	f.cfg.Intervals = map[string]time.Duration{"alpha": 10 * time.Millisecond}
	d, err := New(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	var blocked bool
	d.tickHook = func(context.Context, string) {
		if !blocked { // only the first tick blocks
			blocked = true
			close(inTick)
			<-release
		}
	}
	if err := d.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.d = d
	<-inTick // v1 is mid-tick

	f.write("alpha.wasm", v2)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		f.scan()
	}()
	// The scan validates v2, then takes v1 off the supervisor and waits for
	// its tick: alpha's loop is gone from the supervisor, but v1 is still
	// the loaded version because its tick has not finished.
	f.waitFor("v1's loop to be stopped", func() bool {
		ps, ok := f.plugin("alpha")
		return ok && ps.NextTick == nil
	})
	if ps, _ := f.plugin("alpha"); ps.SHA256 != sha(v1) {
		t.Fatalf("swapped to %s while v1 was mid-tick", ps.SHA256[:12])
	}
	close(release)
	<-scanned
	// v1's tick ran to completion on its own runner: it succeeded.
	if n, _ := f.metric("ffwasmhost_ticks_total", "plugin", "alpha", "outcome", "ok"); n < 1 {
		t.Errorf("v1's interrupted tick: ok ticks = %v, want >= 1", n)
	}
	if n, _ := f.metric("ffwasmhost_ticks_total", "plugin", "alpha", "outcome", "error"); n != 0 {
		t.Errorf("error ticks = %v, want 0", n)
	}
	f.waitTicks("alpha", sha(v2), 1)
	if got := f.reloads(ReloadReplaced); got != 1 {
		t.Errorf("reloads replaced = %v, want 1", got)
	}
	if _, ok := f.metric("ffwasmhost_plugin_info", "plugin", "alpha", "version", "1", "sha256", sha(v1), "abi", "1.0"); ok {
		t.Errorf("plugin_info still has v1")
	}
	if v, _ := f.metric("ffwasmhost_plugin_info", "plugin", "alpha", "version", "2", "sha256", sha(v2), "abi", "1.0"); v != 1 {
		t.Errorf("plugin_info of v2 = %v, want 1", v)
	}
}

func TestBrokenVersionLeavesTheOldOneRunning(t *testing.T) {
	f := newFixture(t, Config{})
	v1 := tinyWasm(t, alpha("1"))
	f.write("alpha.wasm", v1)
	d := f.open()
	f.waitTicks("alpha", sha(v1), 1)

	broken := v1[:len(v1)-7] // a truncated file: what a half-finished copy looks like
	f.write("alpha.wasm", broken)
	f.scan()
	f.scan() // the same broken version is not tried (or counted) twice
	if got := f.reloads(ReloadFailed); got != 1 {
		t.Errorf("reloads failed = %v, want 1", got)
	}
	st := d.Status(context.Background())
	if len(st.Invalid) != 1 || st.Invalid[0].SHA256 != sha(broken) {
		t.Fatalf("invalid = %+v, want the broken version", st.Invalid)
	}
	before, _ := f.plugin("alpha")
	if before.SHA256 != sha(v1) {
		t.Fatalf("running %s, want v1", before.SHA256)
	}
	f.waitTicks("alpha", sha(v1), before.Ticks+2) // v1 keeps ticking
	if !strings.Contains(f.log.String(), "previous version keeps running") {
		t.Errorf("log does not say the previous version keeps running")
	}

	// Rescan (SIGHUP) tries failed versions again.
	d.Rescan(context.Background())
	if got := f.reloads(ReloadFailed); got != 2 {
		t.Errorf("reloads failed after Rescan = %v, want 2", got)
	}

	// Putting v1's bytes back clears the failure without a reload.
	f.write("alpha.wasm", v1)
	f.scan()
	if st := d.Status(context.Background()); len(st.Invalid) != 0 || f.reloads(ReloadReplaced) != 0 {
		t.Errorf("after restoring v1: invalid %+v, replaced %v", st.Invalid, f.reloads(ReloadReplaced))
	}

	// A fixed version replaces v1.
	v2 := withCustomSection(v1, "v2")
	f.write("alpha.wasm", v2)
	f.scan()
	f.waitTicks("alpha", sha(v2), 1)
	if got := f.reloads(ReloadReplaced); got != 1 {
		t.Errorf("reloads replaced = %v, want 1", got)
	}
}

func TestRemovedFileStopsItsLoop(t *testing.T) {
	f := newFixture(t, Config{})
	f.write("alpha.wasm", tinyWasm(t, alpha("1")))
	f.write("beta.wasm", tinyWasm(t, tinySpec{Name: "beta", Version: "1", IntervalMS: 20}))
	d := f.open()
	f.waitTicks("alpha", "", 1)
	if err := os.Remove(filepath.Join(f.dir, "alpha.wasm")); err != nil {
		t.Fatal(err)
	}
	f.scan()
	if _, ok := f.plugin("alpha"); ok {
		t.Fatal("alpha still loaded after its file was removed")
	}
	for _, js := range d.sup.Status() {
		if js.Name == "alpha" {
			t.Fatal("alpha's loop still registered")
		}
	}
	if got := f.reloads(ReloadRemoved); got != 1 {
		t.Errorf("reloads removed = %v, want 1", got)
	}
	if _, ok := f.metric("ffwasmhost_plugin_failing", "plugin", "alpha"); ok {
		t.Errorf("plugin_failing still has alpha")
	}
	ticks, _ := f.metric("ffwasmhost_ticks_total", "plugin", "alpha", "outcome", "ok")
	b, _ := f.plugin("beta")
	f.waitTicks("beta", "", b.Ticks+3) // time passes; alpha does not tick
	if again, _ := f.metric("ffwasmhost_ticks_total", "plugin", "alpha", "outcome", "ok"); again != ticks {
		t.Errorf("alpha ticked after removal: %v -> %v", ticks, again)
	}
}

// TestNameClaimedTwiceAtStartRunsNeither: a file that merely sorts first
// (an impostor declaring another plugin's name) does not take the name:
// when no version of a name runs and two files claim it, neither runs, the
// daemon is not ready and says why, until one of them goes.
func TestNameClaimedTwiceAtStartRunsNeither(t *testing.T) {
	f := newFixture(t, Config{})
	impostor := tinyWasm(t, alpha("evil"))
	real := tinyWasm(t, alpha("1"))
	f.write("aaa_impostor.wasm", impostor)
	f.write("alpha.wasm", real)
	f.write("beta.wasm", tinyWasm(t, tinySpec{Name: "beta", Version: "1", IntervalMS: 20}))
	d := f.open()
	st := d.Status(context.Background())
	if len(st.Plugins) != 1 || st.Plugins[0].Name != "beta" {
		t.Fatalf("plugins = %+v, want only beta", st.Plugins)
	}
	if len(st.Invalid) != 2 {
		t.Fatalf("invalid = %+v, want both claimants of alpha", st.Invalid)
	}
	for _, inv := range st.Invalid {
		if !strings.Contains(inv.Error, `duplicate plugin name "alpha"`) || !strings.Contains(inv.Error, "none of them runs") {
			t.Errorf("invalid %s: %q", inv.File, inv.Error)
		}
	}
	want := []NameConflict{{Plugin: "alpha", Files: []string{filepath.Join(f.dir, "aaa_impostor.wasm"), filepath.Join(f.dir, "alpha.wasm")}}}
	if !reflect.DeepEqual(st.Conflicts, want) {
		t.Errorf("conflicts = %+v, want %+v", st.Conflicts, want)
	}
	if err := d.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "plugin name conflict: alpha is claimed by aaa_impostor.wasm, alpha.wasm") {
		t.Errorf("Ready = %v, want the conflict", err)
	}
	if v, _ := f.metric("ffwasmhost_plugin_name_conflict", "plugin", "alpha"); v != 2 {
		t.Errorf("ffwasmhost_plugin_name_conflict{alpha} = %v, want 2", v)
	}
	// A forced rescan (SIGHUP) tries both again and refuses both again.
	d.Rescan(context.Background())
	if st := d.Status(context.Background()); len(st.Plugins) != 1 || len(st.Conflicts) != 1 {
		t.Fatalf("after Rescan: plugins %+v, conflicts %+v", st.Plugins, st.Conflicts)
	}

	// The impostor goes: the real file loads without another change.
	if err := os.Remove(filepath.Join(f.dir, "aaa_impostor.wasm")); err != nil {
		t.Fatal(err)
	}
	f.scan()
	f.waitTicks("alpha", sha(real), 1)
	if st := d.Status(context.Background()); len(st.Invalid) != 0 || len(st.Conflicts) != 0 {
		t.Errorf("invalid %+v, conflicts %+v, want none", st.Invalid, st.Conflicts)
	}
	if err := d.Ready(context.Background()); err != nil {
		t.Errorf("Ready = %v", err)
	}
	if _, ok := f.metric("ffwasmhost_plugin_name_conflict", "plugin", "alpha"); ok {
		t.Error("ffwasmhost_plugin_name_conflict{alpha} still exported")
	}
}

// TestNewcomerCannotTakeARunningName: a file that claims the name of a
// plugin that already runs is refused loudly; the running one goes on.
func TestNewcomerCannotTakeARunningName(t *testing.T) {
	f := newFixture(t, Config{})
	real := tinyWasm(t, alpha("1"))
	f.write("alpha.wasm", real)
	d := f.open()
	f.waitTicks("alpha", sha(real), 1)
	f.write("aaa_impostor.wasm", tinyWasm(t, alpha("evil")))
	f.scan()
	st := d.Status(context.Background())
	if len(st.Plugins) != 1 || st.Plugins[0].SHA256 != sha(real) {
		t.Fatalf("plugins = %+v, want the real alpha", st.Plugins)
	}
	if len(st.Invalid) != 1 || !strings.Contains(st.Invalid[0].Error, `duplicate plugin name "alpha", already running from alpha.wasm`) {
		t.Fatalf("invalid = %+v", st.Invalid)
	}
	if len(st.Conflicts) != 1 || st.Conflicts[0].Running != filepath.Join(f.dir, "alpha.wasm") {
		t.Errorf("conflicts = %+v, want alpha running from alpha.wasm", st.Conflicts)
	}
	if err := d.Ready(context.Background()); err == nil {
		t.Error("Ready while two files claim alpha")
	}
	if !strings.Contains(f.log.String(), "plugin name conflict") {
		t.Error("the conflict is not logged")
	}
	f.waitTicks("alpha", sha(real), st.Plugins[0].Ticks+2) // the real one keeps ticking
}

func TestUnsettledFileWaits(t *testing.T) {
	f := newFixture(t, Config{SettleTime: time.Hour})
	f.open()
	path := filepath.Join(f.dir, "alpha.wasm")
	if err := os.WriteFile(path, tinyWasm(t, alpha("1")), 0o644); err != nil { // just written: not settled
		t.Fatal(err)
	}
	if wait := f.scan(); wait <= 0 {
		t.Errorf("scan of a fresh file: retry in %v, want > 0", wait)
	}
	if _, ok := f.plugin("alpha"); ok {
		t.Fatal("a file written just now was loaded before it settled")
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	if wait := f.scan(); wait != 0 {
		t.Errorf("scan of a settled file: retry in %v, want 0", wait)
	}
	if _, ok := f.plugin("alpha"); !ok {
		t.Fatal("settled file not loaded")
	}
}

func TestPluginDirRemovedAndRestored(t *testing.T) {
	f := newFixture(t, Config{})
	v1 := tinyWasm(t, alpha("1"))
	f.write("alpha.wasm", v1)
	d := f.open()
	f.waitTicks("alpha", "", 1)
	if err := os.RemoveAll(f.dir); err != nil {
		t.Fatal(err)
	}
	f.scan()
	f.scan()
	st := d.Status(context.Background())
	if st.PluginDirError == nil {
		t.Fatal("plugin_dir_error not set")
	}
	if len(st.Plugins) != 1 {
		t.Fatalf("plugins = %+v, want alpha still loaded", st.Plugins)
	}
	f.waitTicks("alpha", sha(v1), st.Plugins[0].Ticks+2)
	if n := strings.Count(f.log.String(), "plugin directory unreadable"); n != 1 {
		t.Errorf("directory outage logged %d times, want once", n)
	}
	if err := d.Ready(context.Background()); err != nil {
		t.Errorf("Ready while the directory is gone = %v; the loaded plugins still run", err)
	}

	if err := os.Mkdir(f.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f.write("alpha.wasm", v1)
	f.scan()
	st = d.Status(context.Background())
	if st.PluginDirError != nil || len(st.Plugins) != 1 {
		t.Fatalf("after restore: %+v", st)
	}
	if got := f.reloads(ReloadReplaced) + f.reloads(ReloadRemoved); got != 0 {
		t.Errorf("restoring the same file caused %v reloads", got)
	}
	if !strings.Contains(f.log.String(), "plugin directory is back") {
		t.Errorf("recovery not logged")
	}
	// The directory is watched again: a new file is found without a manual scan.
	f.write("beta.wasm", tinyWasm(t, tinySpec{Name: "beta", Version: "1", IntervalMS: 20}))
	f.waitTicks("beta", "", 1)
}

func TestFailingTicksShowInStatusAndMetrics(t *testing.T) {
	f := newFixture(t, Config{MaxBackoff: 40 * time.Millisecond})
	f.write("bad.wasm", tinyWasm(t, tinySpec{Name: "bad", Version: "1", IntervalMS: 10, Status: 3}))
	f.open()
	ps := f.waitTicks("bad", "", 2)
	if !ps.Failing || ps.ConsecutiveFailures < 1 || ps.LastError == nil || !strings.Contains(*ps.LastError, "scan_tick returned 3") {
		t.Errorf("status = %+v, want failing with the tick's error", ps)
	}
	if v, _ := f.metric("ffwasmhost_plugin_failing", "plugin", "bad"); v != 1 {
		t.Errorf("plugin_failing = %v, want 1", v)
	}
	if v, _ := f.metric("ffwasmhost_ticks_total", "plugin", "bad", "outcome", "error"); v < 2 {
		t.Errorf("error ticks = %v, want >= 2", v)
	}
}

// TestLoadsDoNotWaitForATick: while a replaced version finishes a long
// tick, other files load and tick, and a forced rescan (SIGHUP) returns;
// only the swap itself waits for the tick.
func TestLoadsDoNotWaitForATick(t *testing.T) {
	f := newFixture(t, Config{})
	v1, v2 := tinyWasm(t, alpha("1")), tinyWasm(t, alpha("2"))
	f.write("alpha.wasm", v1)
	inTick, release := make(chan struct{}), make(chan struct{})
	f.cfg.Intervals = map[string]time.Duration{"alpha": 10 * time.Millisecond}
	d, err := New(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	d.tickHook = func(_ context.Context, plugin string) {
		if plugin == "alpha" {
			once.Do(func() {
				close(inTick)
				<-release
			})
		}
	}
	if err := d.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.d = d
	<-inTick // v1 is mid-tick, and stays so until release

	f.write("alpha.wasm", v2)
	f.write("beta.wasm", tinyWasm(t, tinySpec{Name: "beta", Version: "1", IntervalMS: 20}))
	_, swapped := d.scan(context.Background(), false)
	f.waitTicks("beta", "", 2)
	rescanned := make(chan struct{})
	go func() {
		d.Rescan(context.Background())
		close(rescanned)
	}()
	select {
	case <-rescanned:
	case <-time.After(waitDeadline):
		t.Fatal("a forced rescan waited for alpha's tick")
	}
	select {
	case <-swapped:
		t.Fatal("alpha was swapped while v1 was mid-tick")
	default:
	}
	if ps, _ := f.plugin("alpha"); ps.SHA256 != sha(v1) {
		t.Errorf("status shows %s while v1 is mid-tick", ps.SHA256[:12])
	}
	close(release)
	<-swapped
	f.waitTicks("alpha", sha(v2), 1)
}
