package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOwnedTablesInRunningDaemon: a plugin from a module of its own, with
// its own table and migrations, dropped into a running daemon on a fresh
// database, gets its table, ticks one interval after it loads, and shows
// its migrations; a build whose applied migration was edited is refused
// while the running version goes on.
func TestOwnedTablesInRunningDaemon(t *testing.T) {
	dir := t.TempDir()
	path := dbPath(t)
	d := startDaemon(t, nil, "--db", path, "--plugins", dir)
	wasm, err := os.ReadFile(staleLeasesWasm)
	if err != nil {
		t.Fatal(err)
	}
	deploy(t, dir, "stale_leases.wasm", wasm)
	ps := d.waitTicks("stale_leases", sha(wasm), 1)
	if wait := ps.LastTick.Sub(ps.LoadedAt); wait < 2*time.Second-100*time.Millisecond {
		t.Errorf("first tick %v after the load, want one interval (2s)", wait)
	}
	if len(ps.Owns) != 1 || ps.Owns[0] != "leases" || len(ps.Migrations) != 2 ||
		ps.Migrations[0].Name != "create leases" || ps.Migrations[1].Name != "index leases by worker" {
		t.Fatalf("status: owns %q, migrations %+v", ps.Owns, ps.Migrations)
	}

	db := openDB(t, path)
	if _, err := db.Exec(`INSERT INTO ff_worker_registry VALUES ('ns', 'alive', 'w', 'lane', '', 1, 1000000000000, 0)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO leases VALUES ('l1', 'ns', 'alive', 1), ('l2', 'ns', 'gone', 1)`); err != nil {
		t.Fatal(err)
	}
	d.waitFor("the stale lease released", func() bool {
		var n int
		return db.QueryRow(`SELECT count(*) FROM leases`).Scan(&n) == nil && n == 1
	})

	res := ffwasmhost(t, nil, "plugins", "--plugins", dir, "--db", path, "--cache-dir", cacheDir)
	if res.code != 0 || !strings.Contains(res.stdout, "leases") || !strings.Contains(res.stdout, "2/2") {
		t.Errorf("plugins --db: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}

	edited, err := os.ReadFile(staleLeasesEditedWasm)
	if err != nil {
		t.Fatal(err)
	}
	res = ffwasmhost(t, nil, "validate", "--db", path, "--cache-dir", cacheDir, staleLeasesEditedWasm)
	if res.code != 1 || !strings.Contains(res.stderr, "migration 1 (create leases) was applied with checksum "+ps.Migrations[0].Checksum) {
		t.Errorf("validate --db of the edited build: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	before, _ := d.plugin("stale_leases")
	deploy(t, dir, "stale_leases.wasm", edited)
	d.waitFor("the edited build refused", func() bool {
		st := d.status()
		return len(st.Invalid) == 1 && strings.Contains(st.Invalid[0].Error, "migration 1 (create leases)")
	})
	msg := d.status().Invalid[0].Error
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "stale_leases") || !strings.Contains(msg, ps.Migrations[0].Checksum) {
		t.Errorf("refusal: %q", msg)
	}
	d.waitTicks("stale_leases", sha(wasm), before.Ticks+1) // the old version keeps ticking
}

// TestOwnedTablesCLI: validate --db and tick --dry-run show a plugin's
// pending migrations without applying them; migrate applies them.
func TestOwnedTablesCLI(t *testing.T) {
	dir := t.TempDir()
	wasm, err := os.ReadFile(staleLeasesWasm)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stale_leases.wasm"), wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	path := dbPath(t)
	if res := ffwasmhost(t, nil, "migrate", "--db", path, "--plugins", t.TempDir()); res.code != 0 {
		t.Fatalf("migrate without plugins: exit %d\n%s", res.code, res.stderr)
	}
	res := ffwasmhost(t, nil, "validate", "--db", path, "--cache-dir", cacheDir, staleLeasesWasm)
	want := "ok stale_leases ffhost " + staleLeasesWasm + "\npending stale_leases 1 create leases\npending stale_leases 2 index leases by worker\n"
	if res.code != 0 || res.stdout != want {
		t.Errorf("validate --db: exit %d, stdout\n%s\nwant\n%s%s", res.code, res.stdout, want, res.stderr)
	}
	res = ffwasmhost(t, nil, "tick", "--dry-run", "--db", path, "--plugins", dir, "--cache-dir", cacheDir, "stale_leases")
	if !strings.Contains(res.stdout, `"pending_migrations":[{"id":1,"name":"create leases"},{"id":2,"name":"index leases by worker"}]`) {
		t.Errorf("tick --dry-run: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	db := openDB(t, path)
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'leases'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("leases exists after validate and a dry run (%d, %v)", n, err)
	}
	res = ffwasmhost(t, nil, "migrate", "--db", path, "--plugins", dir, "--cache-dir", cacheDir)
	want = "ok " + path + "\napplied stale_leases 1 create leases\napplied stale_leases 2 index leases by worker\n"
	if res.code != 0 || res.stdout != want {
		t.Errorf("migrate: exit %d, stdout\n%s\nwant\n%s%s", res.code, res.stdout, want, res.stderr)
	}
	res = ffwasmhost(t, nil, "tick", "--db", path, "--plugins", dir, "--cache-dir", cacheDir, "stale_leases")
	if res.code != 0 || strings.Contains(res.stdout, "migrations") {
		t.Errorf("tick after migrate: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}

// TestReplayRestoresOwnedTables: replay applies the plugin's migrations to
// its scratch database before it restores the fixture's rows, so a
// fixture of a plugin's own table replays.
func TestReplayRestoresOwnedTables(t *testing.T) {
	fixture := filepath.Join(t.TempDir(), "stale_leases.json")
	const fx = `{"format": 1, "plugin": "stale_leases", "version": "1.0.0", "sha256": "00", "file": "stale_leases.wasm",
 "now_ms": 5000, "partition": 0, "dialect": "sqlite", "error": "by hand", "at": "2026-11-30T00:00:00Z",
 "tables": [
  {"name": "ff_worker_registry", "columns": ["namespace", "worker_instance_id", "worker_id", "lanes", "capabilities_csv", "last_heartbeat_ms", "liveness_ttl_ms", "registered_at_ms"],
   "rows": [["ns", "alive", "w", "lane", "", 1000, 500000, 0]]},
  {"name": "leases", "columns": ["lease_id", "namespace", "worker_instance_id", "acquired_ms"],
   "rows": [["l1", "ns", "alive", 1], ["l2", "ns", "gone", 1], ["l3", "ns", "gone", 2]]}
 ]}`
	if err := os.WriteFile(fixture, []byte(fx), 0o644); err != nil {
		t.Fatal(err)
	}
	res := ffwasmhost(t, nil, "replay", "--plugin", staleLeasesWasm, "--cache-dir", cacheDir, fixture)
	if res.code != 0 || !strings.Contains(res.stdout, `"processed":2`) || !strings.Contains(res.stdout, `{"table":"leases","inserted":0,"updated":0,"deleted":2}`) {
		t.Errorf("replay: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}
