package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/store"
	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

// migratedDB is emptyDB with the host's schema.
func migratedDB(t *testing.T) *sqlite.Store {
	t.Helper()
	db := emptyDB(t)
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func leasesSchema(steps ...string) store.PluginSchema {
	s := store.PluginSchema{Plugin: "stale_leases", Owns: []string{"leases", "lease_log"}, Declared: []string{"ff_worker_registry"}}
	for i, sql := range steps {
		s.Migrations = append(s.Migrations, store.PluginMigration{ID: int64(i + 1), Name: "step " + string(rune('a'+i)), SQL: sql})
	}
	return s
}

const createLeases = `CREATE TABLE leases (id INTEGER PRIMARY KEY, worker TEXT NOT NULL UNIQUE, expires_ms INTEGER NOT NULL)`

func TestApplyMigrations(t *testing.T) {
	ctx := context.Background()
	db := migratedDB(t)
	s := leasesSchema(createLeases,
		`CREATE INDEX leases_expiry ON leases (expires_ms); CREATE TABLE lease_log (id INTEGER, note TEXT)`,
		`ALTER TABLE leases ADD COLUMN note TEXT; UPDATE leases SET note = 'x'; INSERT INTO lease_log SELECT count(*), 'n' FROM ff_worker_registry`)
	pend, err := db.PendingMigrations(ctx, s)
	if err != nil || len(pend) != 3 {
		t.Fatalf("PendingMigrations = %d, %v; want 3", len(pend), err)
	}
	done, err := db.ApplyMigrations(ctx, s)
	if err != nil || len(done) != 3 {
		t.Fatalf("ApplyMigrations = %d, %v; want 3 applied", len(done), err)
	}
	execStmts(t, db, `INSERT INTO leases (worker, expires_ms, note) VALUES ('w', 1, 'n')`)
	if n := testutil.Count(t, db.SQL, `SELECT count(*) FROM lease_log`); n != 1 {
		t.Errorf("lease_log rows = %d, want 1", n)
	}
	applied, err := db.AppliedMigrations(ctx)
	if err != nil || len(applied) != 3 {
		t.Fatalf("AppliedMigrations = %v, %v", applied, err)
	}
	if a := applied[0]; a.Plugin != "stale_leases" || a.ID != 1 || a.Name != "step a" || a.Checksum != store.MigrationChecksum(createLeases) || a.AppliedAt.IsZero() {
		t.Errorf("first ledger row = %+v", a)
	}
	// Idempotent.
	if done, err := db.ApplyMigrations(ctx, s); err != nil || len(done) != 0 {
		t.Errorf("second ApplyMigrations = %v, %v; want nothing", done, err)
	}
	// A fourth step later applies alone.
	s4 := s
	s4.Migrations = append(append([]store.PluginMigration{}, s.Migrations...), store.PluginMigration{ID: 4, Name: "more", SQL: `CREATE INDEX lease_log_id ON lease_log (id)`})
	if done, err := db.ApplyMigrations(ctx, s4); err != nil || len(done) != 1 || done[0].ID != 4 {
		t.Errorf("ApplyMigrations with a new step = %v, %v; want step 4", done, err)
	}
}

func TestApplyMigrationsChecksumChanged(t *testing.T) {
	ctx := context.Background()
	db := migratedDB(t)
	if _, err := db.ApplyMigrations(ctx, leasesSchema(createLeases)); err != nil {
		t.Fatal(err)
	}
	changed := leasesSchema(createLeases+" ", `CREATE TABLE lease_log (id INTEGER)`)
	for name, call := range map[string]func() error{
		"pending": func() error { _, err := db.PendingMigrations(ctx, changed); return err },
		"apply":   func() error { _, err := db.ApplyMigrations(ctx, changed); return err },
	} {
		err := call()
		var ce *store.ChecksumError
		if !errors.As(err, &ce) {
			t.Fatalf("%s: %v, want a ChecksumError", name, err)
		}
		msg := err.Error()
		for _, want := range []string{"stale_leases", "migration 1 (step a)", store.MigrationChecksum(createLeases), store.MigrationChecksum(createLeases + " ")} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: error %q does not name %q", name, msg, want)
			}
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("%s: error is not one line: %q", name, msg)
		}
	}
	if n := testutil.Count(t, db.SQL, `SELECT count(*) FROM sqlite_schema WHERE name = 'lease_log'`); n != 0 {
		t.Error("step 2 ran although step 1 changed")
	}
	// Fewer steps than applied: an older version.
	_, err := db.PendingMigrations(ctx, leasesSchema())
	var me *store.MissingMigrationError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "migration 1 (step a)") {
		t.Errorf("PendingMigrations without the applied step: %v", err)
	}
}

func TestApplyMigrationsOwner(t *testing.T) {
	ctx := context.Background()
	db := migratedDB(t)
	if _, err := db.ApplyMigrations(ctx, leasesSchema(createLeases)); err != nil {
		t.Fatal(err)
	}
	other := store.PluginSchema{Plugin: "thief", Owns: []string{"LEASES"},
		Migrations: []store.PluginMigration{{ID: 1, Name: "steal", SQL: `ALTER TABLE leases ADD COLUMN mine TEXT`}}}
	_, err := db.ApplyMigrations(ctx, other)
	var oe *store.OwnerError
	if !errors.As(err, &oe) || !strings.Contains(err.Error(), "table LEASES is owned by plugin stale_leases") {
		t.Fatalf("ApplyMigrations of a second owner: %v", err)
	}
}

// TestApplyMigrationsRefused: each hostile step is refused with a one-line
// error naming the plugin, the step and what was refused, and changes
// nothing.
func TestApplyMigrationsRefused(t *testing.T) {
	tests := []struct {
		name, sql, msg string
	}{
		{"create a FlowFabric table", `CREATE TABLE ff_evil (x)`, "create table ff_evil: not a table the plugin owns"},
		{"create an undeclared table", `CREATE TABLE other (x)`, "create table other: not a table the plugin owns"},
		{"create a host table", `CREATE TABLE ffwasmhost_x (x)`, "create table ffwasmhost_x"},
		{"create a temp table", `CREATE TEMP TABLE leases (x)`, "temporary objects are not allowed"},
		{"second statement escapes", createLeases + `; CREATE TABLE other (x)`, "create table other"},
		{"index on ff table", `CREATE INDEX evil ON ff_budget_policy (budget_id)`, "create index ff_budget_policy: not on a table the plugin owns"},
		{"index with a reserved name", createLeases + `; CREATE INDEX ff_leases_idx ON leases (worker)`, "index name is reserved"},
		{"alter an ff table", `ALTER TABLE ff_budget_policy ADD COLUMN x TEXT`, "alter table ff_budget_policy: not a table the plugin owns"},
		{"alter the host ledger", `ALTER TABLE ffwasmhost_migrations ADD COLUMN x TEXT`, "not a table the plugin owns"},
		{"rename an owned table", createLeases + `; ALTER TABLE leases RENAME TO ff_leases`, "only ALTER TABLE ... ADD COLUMN"},
		{"rename a column", createLeases + `; ALTER TABLE leases RENAME COLUMN worker TO w`, "only ALTER TABLE ... ADD COLUMN"},
		{"drop a column", createLeases + `; ALTER TABLE leases DROP COLUMN expires_ms`, "only ALTER TABLE ... ADD COLUMN"},
		{"drop an ff table", `DROP TABLE ff_budget_policy`, "migrations may not drop"},
		{"drop an owned table", createLeases + `; DROP TABLE leases`, "migrations may not drop"},
		{"drop the host ledger", `DROP TABLE ffwasmhost_plugin_migrations`, "migrations may not drop"},
		{"write an ff table", `DELETE FROM ff_budget_policy`, "delete ff_budget_policy: not a table the plugin owns"},
		{"write the ledger", `DELETE FROM ffwasmhost_plugin_migrations`, "delete ffwasmhost_plugin_migrations"},
		{"forge a ledger row", `INSERT INTO ffwasmhost_plugin_migrations VALUES ('stale_leases', 2, 'x', 'x', 0)`, "insert ffwasmhost_plugin_migrations"},
		{"write sqlite_master", `INSERT INTO sqlite_master VALUES ('table', 'x', 'x', 0, 'CREATE TABLE x (y)')`, "sqlite_master may not be modified"},
		{"delete from sqlite_master", `DELETE FROM sqlite_master`, "sqlite_master may not be modified"},
		{"writable schema", `PRAGMA writable_schema = ON`, "pragma writable_schema"},
		{"any pragma", `PRAGMA journal_mode = DELETE`, "pragma journal_mode"},
		{"attach", `ATTACH DATABASE '/tmp/x.db' AS x`, "attach"},
		{"trigger on ff table", `CREATE TRIGGER t AFTER INSERT ON ff_budget_policy BEGIN DELETE FROM ff_budget_usage; END`, "create trigger"},
		{"trigger on owned table", createLeases + `; CREATE TRIGGER t AFTER INSERT ON leases BEGIN DELETE FROM leases; END`, "create trigger"},
		{"view", `CREATE VIEW leases AS SELECT * FROM ff_budget_policy`, "create view"},
		{"virtual table", `CREATE VIRTUAL TABLE leases USING fts5(x)`, "create virtual table"},
		{"transaction", `COMMIT; CREATE TABLE other (x)`, "transaction"},
		{"savepoint", `SAVEPOINT s`, "savepoint"},
		{"read an undeclared table", `CREATE TABLE leases AS SELECT * FROM ff_budget_usage`, "read ff_budget_usage: table not declared"},
		{"read the schema table by name", createLeases + `; INSERT INTO leases (worker, expires_ms) SELECT name, 0 FROM sqlite_schema`, "statement 2: read sqlite_master: table not declared"},
		{"read the schema table in a subquery", createLeases + `; UPDATE leases SET worker = (SELECT sql FROM sqlite_master)`, "sqlite_master"},
		{"copy the schema table", `CREATE TABLE leases AS SELECT * FROM sqlite_master`, "read sqlite_master"},
		{"index drop", createLeases + `; CREATE INDEX i ON leases (worker); DROP INDEX i`, "migrations may not drop"},
		{"foreign key to an ff table", `CREATE TABLE leases (budget_id TEXT REFERENCES ff_budget_policy (budget_id) ON DELETE RESTRICT)`, "table leases references ff_budget_policy, which the plugin does not own"},
		{"foreign key added later", createLeases + `; ALTER TABLE leases ADD COLUMN w TEXT REFERENCES ff_worker_registry`, "references ff_worker_registry"},
		{"function not allowed", `CREATE TABLE leases AS SELECT load_extension('x') AS y`, "function load_extension: function not allowed"},
		{"reindex", `REINDEX`, "reindex"},
		{"analyze", `ANALYZE`, "analyze"},
		{"vacuum", `VACUUM`, "VACUUM is not allowed"},
		{"vacuum into", `VACUUM INTO '/tmp/ffwasmhost-vacuum-into-test.db'`, "VACUUM is not allowed"},
		{"syntax error", `CREATE TABLE leases (`, "incomplete input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := migratedDB(t)
			before := snapshotDB(t, db)
			done, err := db.ApplyMigrations(ctx, leasesSchema(tt.sql))
			if err == nil {
				t.Fatalf("step %q applied (%v)", tt.sql, done)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "plugin stale_leases: migration 1 (step a): ") || !strings.Contains(msg, tt.msg) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming the plugin, the step and %q", msg, tt.msg)
			}
			after := snapshotDB(t, db)
			if strings.Join(before.Schema, "\n") != strings.Join(after.Schema, "\n") {
				t.Errorf("schema changed:\n%s\nbecame\n%s", strings.Join(before.Schema, "\n"), strings.Join(after.Schema, "\n"))
			}
			if a, err := db.AppliedMigrations(ctx); err != nil || len(a) != 0 {
				t.Errorf("ledger = %v, %v; want empty", a, err)
			}
		})
	}
}

// TestOwnersWithoutMigrations: a plugin that owns a table without
// migrations claims it too, and a second claimant is refused.
func TestOwnersWithoutMigrations(t *testing.T) {
	ctx := context.Background()
	db := migratedDB(t)
	first := store.PluginSchema{Plugin: "first", Owns: []string{"notes"}}
	if _, err := db.ApplyMigrations(ctx, first); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ApplyMigrations(ctx, first); err != nil {
		t.Fatalf("second claim by the owner: %v", err)
	}
	second := store.PluginSchema{Plugin: "second", Owns: []string{"Notes"}}
	for name, call := range map[string]func() error{
		"pending": func() error { _, err := db.PendingMigrations(ctx, second); return err },
		"apply":   func() error { _, err := db.ApplyMigrations(ctx, second); return err },
	} {
		var oe *store.OwnerError
		if err := call(); !errors.As(err, &oe) || oe.Owner != "first" {
			t.Errorf("%s by a second plugin: %v, want an OwnerError naming first", name, err)
		}
	}
}

// TestApplyMigrationsBounded: a step that runs away is interrupted at the
// migration timeout, one that needs too much memory at the plugin heap
// cap; both roll back and say why.
func TestApplyMigrationsBounded(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		timeout time.Duration
		sql     string
		want    string
	}{
		{300 * time.Millisecond, `CREATE TABLE leases AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c`, "interrupted after 300ms"},
		{time.Minute, `CREATE TABLE leases AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 1000000) SELECT x, randomblob(64) AS b FROM c ORDER BY b`, "out of memory"},
	} {
		db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "x.db"), sqlite.Options{MigrationTimeout: tc.timeout, PluginHeapBytes: 8 << 20})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = db.ApplyMigrations(ctx, leasesSchema(tc.sql))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("step %.60q: %v, want %q", tc.sql, err, tc.want)
		}
		t.Logf("%s after %v", tc.want, time.Since(start).Round(time.Millisecond))
		if n := testutil.Count(t, db.SQL, `SELECT count(*) FROM sqlite_schema WHERE name = 'leases'`); n != 0 {
			t.Errorf("step %.60q left the table behind", tc.sql)
		}
	}
}
