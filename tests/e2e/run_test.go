package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

func TestRunTicksAndDrainsOnSIGTERM(t *testing.T) {
	t.Parallel()
	path := dbPath(t)
	db := openDB(t, path)
	now := time.Now().UnixMilli()
	testutil.SeedDue(t, db, now, 45, 10)

	p := startDaemon(t, nil, "--db", path, "--plugins", pluginDir,
		"--interval", "budget_reset=200ms", "--interval", "worker_ttl=200ms")
	p.waitFor("every due budget reset and expired worker swept", func() bool {
		return testutil.Count(t, db, `SELECT count(*) FROM ff_budget_policy WHERE next_reset_at_ms <= ?`, now) == 0 &&
			testutil.Count(t, db, `SELECT count(*) FROM ff_worker_registry`) == 0
	})
	p.waitTicks("budget_reset", "", 3)
	p.waitTicks("worker_ttl", "", 2)
	if n := testutil.Count(t, db, `SELECT count(*) FROM ff_budget_usage WHERE current_value != 0`); n != 0 {
		t.Errorf("%d usage rows not reset", n)
	}
	if n := testutil.Count(t, db, `SELECT count(*) FROM ff_worker_registry_event WHERE event_kind = 'ttl_swept'`); n != 10 {
		t.Errorf("ttl_swept events = %d, want 10", n)
	}
	if code, body := p.get("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d %q", code, body)
	}
	if code, body := p.get("/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if v := p.metric(`ffwasmhost_processed_total{plugin="budget_reset"}`); v != 45 {
		t.Errorf("processed_total budget_reset = %v, want 45", v)
	}
	if v := p.metric(`ffwasmhost_processed_total{plugin="worker_ttl"}`); v != 10 {
		t.Errorf("processed_total worker_ttl = %v, want 10", v)
	}
	if v := p.metric(`ffwasmhost_plugin_failing{plugin="budget_reset"}`); v != 0 {
		t.Errorf("plugin_failing budget_reset = %v", v)
	}

	if code := p.stop(); code != 0 {
		t.Fatalf("exit status after SIGTERM = %d, want 0", code)
	}
	if !strings.Contains(p.log.String(), "every tick loop drained") {
		t.Errorf("log does not report a drained shutdown")
	}
}

func TestHotReload(t *testing.T) {
	t.Parallel()
	dir := copyPlugins(t, "budget_reset")
	path := dbPath(t)
	openDB(t, path)
	p := startDaemon(t, nil, "--db", path, "--plugins", dir,
		"--interval", "budget_reset=200ms", "--interval", "worker_ttl=200ms")
	p.waitTicks("budget_reset", "", 1)

	// A new file starts a new loop.
	v1 := readPlugin(t, "worker_ttl")
	deploy(t, dir, "worker_ttl.wasm", v1)
	p.waitTicks("worker_ttl", sha(v1), 1)
	if v := p.metric(`ffwasmhost_reloads_total{result="loaded"}`); v != 2 {
		t.Errorf(`reloads_total{result="loaded"} = %v, want 2`, v)
	}

	// A broken version is refused and counted; v1 keeps ticking.
	deploy(t, dir, "worker_ttl.wasm", v1[:len(v1)/2])
	p.waitFor("the broken version to be counted as failed", func() bool {
		return p.metric(`ffwasmhost_reloads_total{result="failed"}`) >= 1
	})
	ps, _ := p.plugin("worker_ttl")
	if ps.SHA256 != sha(v1) {
		t.Fatalf("worker_ttl runs %s after a broken deploy, want v1", ps.SHA256)
	}
	p.waitTicks("worker_ttl", sha(v1), ps.Ticks+3)
	if st := p.status(); len(st.Invalid) != 1 || filepath.Base(st.Invalid[0].File) != "worker_ttl.wasm" {
		t.Errorf("invalid = %+v, want worker_ttl.wasm", st.Invalid)
	}
	if !strings.Contains(p.log.String(), "previous version keeps running") {
		t.Errorf("log does not say the previous version keeps running")
	}

	// A valid new version is swapped in.
	v2 := withCustomSection(v1, "v2")
	deploy(t, dir, "worker_ttl.wasm", v2)
	p.waitTicks("worker_ttl", sha(v2), 1)
	if v := p.metric(`ffwasmhost_reloads_total{result="replaced"}`); v != 1 {
		t.Errorf(`reloads_total{result="replaced"} = %v, want 1`, v)
	}

	// A removed file stops its loop; the others go on.
	if err := os.Remove(filepath.Join(dir, "worker_ttl.wasm")); err != nil {
		t.Fatal(err)
	}
	p.waitFor("worker_ttl to be unloaded", func() bool {
		_, ok := p.plugin("worker_ttl")
		return !ok
	})
	if v := p.metric(`ffwasmhost_reloads_total{result="removed"}`); v != 1 {
		t.Errorf(`reloads_total{result="removed"} = %v, want 1`, v)
	}
	ticks := p.metric(`ffwasmhost_ticks_total{outcome="ok",plugin="worker_ttl"}`)
	b, _ := p.plugin("budget_reset")
	p.waitTicks("budget_reset", "", b.Ticks+3)
	if again := p.metric(`ffwasmhost_ticks_total{outcome="ok",plugin="worker_ttl"}`); again != ticks {
		t.Errorf("worker_ttl ticked after removal: %v -> %v", ticks, again)
	}

	if code := p.stop(); code != 0 {
		t.Fatalf("exit status after SIGTERM = %d, want 0", code)
	}
}

func TestEnvFallbacksAndPrecedence(t *testing.T) {
	t.Parallel()
	path := dbPath(t)
	openDB(t, path)
	addr := testutil.FreeAddr(t)
	// startDaemon passes --http; FF_HTTP_ADDR is checked by running without
	// it below.
	p := startDaemon(t, []string{
		"FF_DB=" + path, "FF_PLUGINS_DIR=" + pluginDir,
		"FF_BUDGET_RESET_INTERVAL_S=0", // env disables budget_reset
		"FF_WORKER_REGISTRY_TTL_INTERVAL_S=7",
	}, "--interval", "worker_ttl=250ms") // the flag beats the env
	p.waitTicks("worker_ttl", "", 1)
	br, _ := p.plugin("budget_reset")
	wt, _ := p.plugin("worker_ttl")
	if br.Enabled || br.IntervalMS != 0 || br.Ticks != 0 {
		t.Errorf("budget_reset = %+v, want disabled by FF_BUDGET_RESET_INTERVAL_S=0", br)
	}
	if wt.IntervalMS != 250 {
		t.Errorf("worker_ttl interval_ms = %d, want 250 from --interval", wt.IntervalMS)
	}
	if code := p.stop(); code != 0 {
		t.Fatalf("exit status = %d", code)
	}

	// FF_HTTP_ADDR, and the env interval when no flag is given.
	q := launch(t, []string{"FF_DB=" + path, "FF_PLUGINS_DIR=" + pluginDir, "FF_HTTP_ADDR=" + addr,
		"FF_WORKER_REGISTRY_TTL_INTERVAL_S=7"}, addr, "run", "--cache-dir", cacheDir)
	q.waitFor("both plugins loaded", func() bool { return len(q.status().Plugins) == 2 })
	if wt, _ := q.plugin("worker_ttl"); wt.IntervalMS != 7000 {
		t.Errorf("worker_ttl interval_ms = %d, want 7000 from FF_WORKER_REGISTRY_TTL_INTERVAL_S", wt.IntervalMS)
	}
	if br, _ := q.plugin("budget_reset"); br.IntervalMS != 15000 {
		t.Errorf("budget_reset interval_ms = %d, want its default 15000", br.IntervalMS)
	}
	if code := q.signal(os.Interrupt); code != 0 {
		t.Errorf("exit status after SIGINT = %d", code)
	}
}
