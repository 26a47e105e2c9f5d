package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

// TestExtismPlugins runs the Extism builds of both reconcilers in a real
// daemon: validate and plugins name their kind, /v1/plugins shows it, they
// reset and sweep what the Go builds do, a new version is hot-reloaded,
// and the daemon drains on SIGTERM.
func TestExtismPlugins(t *testing.T) {
	t.Parallel()
	br, wt := filepath.Join(extismDir, "budget_reset_extism.wasm"), filepath.Join(extismDir, "worker_ttl_extism.wasm")
	res := ffwasmhost(t, nil, "validate", "--cache-dir", cacheDir, br, wt)
	want := "ok budget_reset_extism extism " + br + "\nok worker_ttl_extism extism " + wt + "\n"
	if res.code != 0 || res.stdout != want {
		t.Fatalf("validate = %d %q %q, want %q", res.code, res.stdout, res.stderr, want)
	}
	res = ffwasmhost(t, nil, "plugins", "--plugins", extismDir, "--cache-dir", cacheDir)
	if lines := strings.Split(strings.TrimSpace(res.stdout), "\n"); res.code != 0 || len(lines) != 3 ||
		!strings.HasPrefix(lines[1], "budget_reset_extism  extism") || !strings.HasPrefix(lines[2], "worker_ttl_extism    extism") {
		t.Errorf("plugins = %d\n%s%s", res.code, res.stdout, res.stderr)
	}

	dir := filepath.Join(t.TempDir(), "plugins")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	v1 := map[string][]byte{}
	for _, f := range []string{br, wt} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		v1[filepath.Base(f)] = b
		deploy(t, dir, filepath.Base(f), b)
	}
	path := dbPath(t)
	db := openDB(t, path)
	now := time.Now().UnixMilli()
	testutil.SeedDue(t, db, now, 45, 10)
	p := startDaemon(t, nil, "--db", path, "--plugins", dir, "--cache-dir", cacheDir,
		"--interval", "budget_reset_extism=200ms", "--interval", "worker_ttl_extism=200ms")
	p.waitFor("every due budget reset and expired worker swept", func() bool {
		return testutil.Count(t, db, `SELECT count(*) FROM ff_budget_policy WHERE next_reset_at_ms <= ?`, now) == 0 &&
			testutil.Count(t, db, `SELECT count(*) FROM ff_worker_registry`) == 0
	})
	p.waitTicks("budget_reset_extism", "", 3)
	for _, name := range []string{"budget_reset_extism", "worker_ttl_extism"} {
		if ps, ok := p.plugin(name); !ok || ps.Kind != "extism" || ps.Failures != 0 {
			t.Errorf("/v1/plugins %s: %+v (found %v), want kind extism and no failures", name, ps, ok)
		}
	}
	if n := testutil.Count(t, db, `SELECT count(*) FROM ff_worker_registry_event WHERE event_kind = 'ttl_swept'`); n != 10 {
		t.Errorf("ttl_swept events = %d, want 10", n)
	}
	if v := p.metric(`ffwasmhost_processed_total{plugin="budget_reset_extism"}`); v != 45 {
		t.Errorf("processed_total budget_reset_extism = %v, want 45", v)
	}
	v2 := withCustomSection(v1["budget_reset_extism.wasm"], "v2")
	deploy(t, dir, "budget_reset_extism.wasm", v2)
	p.waitTicks("budget_reset_extism", sha(v2), 1)
	if v := p.metric(`ffwasmhost_reloads_total{result="replaced"}`); v != 1 {
		t.Errorf(`reloads_total{result="replaced"} = %v, want 1`, v)
	}
	if code := p.stop(); code != 0 {
		t.Fatalf("exit status after SIGTERM = %d, want 0", code)
	}
}
