package sqlite_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ffwasmhost/ffwasmhost/host/store/sqlite"
	"github.com/ffwasmhost/ffwasmhost/internal/testutil"
)

// emptyDB opens a new, empty database file in a temporary directory.
func emptyDB(t *testing.T) *sqlite.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// execStmts runs each statement on the host pool, failing the test on error.
func execStmts(t *testing.T, db *sqlite.Store, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.SQL.Exec(s); err != nil {
			t.Fatalf("exec %q: %v", s, err)
		}
	}
}

// dbSnapshot is everything Migrate could change: the schema as SQLite stores
// it, its version counter, and the contents of every table.
type dbSnapshot struct {
	SchemaVersion int64
	Schema        []string          // "type name tbl_name: sql", sorted
	Rows          map[string]string // table -> every row with its rowid (testutil.DumpQuery)
}

func snapshotDB(t *testing.T, db *sqlite.Store) dbSnapshot {
	t.Helper()
	s := dbSnapshot{Rows: map[string]string{}}
	if err := db.SQL.QueryRow(`PRAGMA schema_version`).Scan(&s.SchemaVersion); err != nil {
		t.Fatal(err)
	}
	s.Schema = queryTexts(t, db, `SELECT type || ' ' || name || ' ' || tbl_name || ': ' || coalesce(sql, '')
FROM sqlite_schema`)
	for _, table := range queryTexts(t, db, `SELECT name FROM sqlite_schema WHERE type = 'table'`) {
		s.Rows[table] = testutil.DumpQuery(t, db.SQL, table, fmt.Sprintf(`SELECT rowid, * FROM %q`, table))
	}
	return s
}

// queryTexts returns the single text column of every row, sorted.
func queryTexts(t *testing.T, db *sqlite.Store, query string) []string {
	t.Helper()
	rows, err := db.SQL.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func checkSnapshotsEqual(t *testing.T, before, after dbSnapshot) {
	t.Helper()
	if before.SchemaVersion != after.SchemaVersion {
		t.Errorf("schema_version changed from %d to %d", before.SchemaVersion, after.SchemaVersion)
	}
	if !slices.Equal(before.Schema, after.Schema) {
		t.Errorf("schema changed:\nbefore %q\n after %q", before.Schema, after.Schema)
	}
	if !maps.Equal(before.Rows, after.Rows) {
		t.Errorf("rows changed:\nbefore %q\n after %q", before.Rows, after.Rows)
	}
}

// foreignTables are the reconciler tables as another program (FlowFabric)
// might have created them: every column the reconcilers need, in another
// order and spelling, plus columns of its own. Each column is one entry, so
// a test can leave one out.
var foreignTables = []struct {
	name    string
	columns []string
	insert  string
}{
	{
		name: "ff_budget_policy",
		columns: []string{
			"budget_id TEXT NOT NULL", "PARTITION_KEY INTEGER NOT NULL", "policy_json TEXT NOT NULL",
			"created_at_ms INTEGER NOT NULL", "updated_at_ms INTEGER NOT NULL",
			"scope_type TEXT NOT NULL DEFAULT ''", "scope_id TEXT NOT NULL DEFAULT ''",
			"enforcement_mode TEXT NOT NULL DEFAULT ''", "breach_count INTEGER NOT NULL DEFAULT 0",
			"soft_breach_count INTEGER NOT NULL DEFAULT 0", "last_breach_at_ms INTEGER",
			"last_breach_dim TEXT", "next_reset_at_ms INTEGER", "owner_note TEXT DEFAULT 'ff'",
		},
		insert: `INSERT INTO ff_budget_policy (partition_key, budget_id, policy_json, created_at_ms,
updated_at_ms, next_reset_at_ms, owner_note) VALUES (0, 'b1', '{"reset_interval_ms":1000}', 1, 2, 3, 'keep me')`,
	},
	{
		name: "ff_budget_usage",
		columns: []string{
			"partition_key INTEGER NOT NULL", "budget_id TEXT NOT NULL", "dimensions_key TEXT NOT NULL",
			"current_value INTEGER NOT NULL DEFAULT 0", "last_reset_at_ms INTEGER",
			"updated_at_ms INTEGER NOT NULL", "hard_limit INTEGER",
		},
		insert: `INSERT INTO ff_budget_usage (partition_key, budget_id, dimensions_key, current_value,
updated_at_ms, hard_limit) VALUES (0, 'b1', 'd', 42, 5, 100)`,
	},
	{
		name: "ff_worker_registry",
		columns: []string{
			"namespace TEXT NOT NULL", "worker_instance_id TEXT NOT NULL", "worker_id TEXT NOT NULL",
			"lanes TEXT NOT NULL", "capabilities_csv TEXT NOT NULL", "last_heartbeat_ms INTEGER NOT NULL",
			"liveness_ttl_ms INTEGER NOT NULL", "registered_at_ms INTEGER NOT NULL", "hostname TEXT",
		},
		insert: `INSERT INTO ff_worker_registry VALUES ('ns', 'wi', 'w', 'a,b', 'gpu', 10, 20, 5, 'box-1')`,
	},
	{
		name: "ff_worker_registry_event",
		columns: []string{
			"namespace TEXT NOT NULL", "worker_instance_id TEXT NOT NULL", "event_kind TEXT NOT NULL",
			"event_at_ms INTEGER NOT NULL", "reason TEXT", "source TEXT NOT NULL DEFAULT 'ff'",
		},
		insert: `INSERT INTO ff_worker_registry_event VALUES ('ns', 'wi', 'registered', 5, NULL, 'api')`,
	},
}

// createTableSQL returns the CREATE TABLE statement for columns, leaving out
// the column named omit (if any).
func createTableSQL(name string, columns []string, omit string) string {
	var keep []string
	for _, c := range columns {
		if !strings.EqualFold(strings.Fields(c)[0], omit) {
			keep = append(keep, c)
		}
	}
	return fmt.Sprintf("CREATE TABLE %s (\n  %s\n)", name, strings.Join(keep, ",\n  "))
}

const dueIndexSQL = `CREATE INDEX ff_budget_policy_reset_due_idx ON ff_budget_policy (partition_key, next_reset_at_ms)
WHERE next_reset_at_ms IS NOT NULL`

// TestMigrateTwiceChangesNothing: a second Migrate of a migrated database,
// with data in every table, changes neither the schema nor any row.
func TestMigrateTwiceChangesNothing(t *testing.T) {
	ctx := context.Background()
	db := emptyDB(t)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	first := snapshotDB(t, db)
	wantSchema := []string{"ff_budget_policy", "ff_budget_policy_reset_due_idx", "ff_budget_usage",
		"ff_worker_registry", "ff_worker_registry_event", "ffwasmhost_migrations", "ffwasmhost_owned_tables",
		"ffwasmhost_plugin_migrations", "ffwasmhost_ticks", "ffwasmhost_worker_registry_expiry_idx"}
	if got := queryTexts(t, db, `SELECT name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'`); !slices.Equal(got, wantSchema) {
		t.Fatalf("after Migrate, schema objects are %q, want %q", got, wantSchema)
	}

	execStmts(t, db,
		`INSERT INTO ff_budget_policy (partition_key, budget_id, policy_json, created_at_ms, updated_at_ms,
next_reset_at_ms) VALUES (0, 'b1', '{}', 1, 2, 3)`,
		`INSERT INTO ff_budget_usage (partition_key, budget_id, dimensions_key, current_value, updated_at_ms)
VALUES (0, 'b1', 'd', 7, 2)`,
		`INSERT INTO ff_worker_registry VALUES ('ns', 'wi', 'w', 'a', 'c', 1, 2, 3)`,
		`INSERT INTO ff_worker_registry_event VALUES ('ns', 'wi', 'registered', 3, 'r')`,
	)
	before := snapshotDB(t, db)
	if before.SchemaVersion != first.SchemaVersion || !slices.Equal(before.Schema, first.Schema) {
		t.Fatal("inserting rows changed the schema")
	}
	for range 2 {
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		checkSnapshotsEqual(t, before, snapshotDB(t, db))
	}
}

// TestMigrateKeepsExistingTables: on a database whose reconciler tables
// already exist, with columns of their own and data, Migrate drops and
// rewrites nothing. It adds its own ffwasmhost_* tables, and the due index
// when it is missing.
func TestMigrateKeepsExistingTables(t *testing.T) {
	ctx := context.Background()
	for _, withIndex := range []bool{true, false} {
		t.Run(fmt.Sprintf("index exists=%v", withIndex), func(t *testing.T) {
			db := emptyDB(t)
			for _, tb := range foreignTables {
				execStmts(t, db, createTableSQL(tb.name, tb.columns, ""), tb.insert)
			}
			if withIndex {
				execStmts(t, db, dueIndexSQL)
			}
			// A table the reconcilers do not know about is left alone too.
			execStmts(t, db, `CREATE TABLE ff_other (x)`, `INSERT INTO ff_other VALUES ('other')`)
			before := snapshotDB(t, db)

			for range 2 {
				if err := db.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				after := snapshotDB(t, db)
				// Every table and row that was there is as it was.
				for table, rows := range before.Rows {
					if rows != after.Rows[table] {
						t.Errorf("rows of %s changed:\nbefore %s\n after %s", table, rows, after.Rows[table])
					}
				}
				for _, s := range before.Schema {
					if !slices.Contains(after.Schema, s) {
						t.Errorf("schema entry changed or dropped: %q", s)
					}
				}
				for _, s := range after.Schema {
					if slices.Contains(before.Schema, s) {
						continue
					}
					ours := strings.Contains(s, " ffwasmhost_")
					due := !withIndex && strings.HasPrefix(s, "index ff_budget_policy_reset_due_idx ff_budget_policy: ")
					if !ours && !due {
						t.Errorf("Migrate added %q; want only ffwasmhost_* objects and the missing due index", s)
					}
				}
			}

			// The data and the extra columns are intact.
			var note string
			if err := db.SQL.QueryRow(`SELECT owner_note FROM ff_budget_policy WHERE budget_id = 'b1'`).Scan(&note); err != nil {
				t.Fatal(err)
			}
			if note != "keep me" {
				t.Errorf("owner_note = %q, want %q", note, "keep me")
			}
		})
	}
}

// TestMigrateMissingColumn: when an existing reconciler table lacks a column
// the reconcilers need, Migrate fails with an error naming the table and the
// column, and changes nothing: no other table or index is created.
func TestMigrateMissingColumn(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		table, column string
		others        bool // the other reconciler tables exist, complete
	}{
		{"ff_budget_policy", "next_reset_at_ms", false},
		{"ff_budget_policy", "partition_key", true},
		{"ff_budget_policy", "soft_breach_count", false},
		{"ff_budget_usage", "last_reset_at_ms", false},
		{"ff_budget_usage", "dimensions_key", true},
		{"ff_worker_registry", "liveness_ttl_ms", false},
		{"ff_worker_registry", "capabilities_csv", true},
		{"ff_worker_registry_event", "reason", false},
		{"ff_worker_registry_event", "event_kind", true},
	}
	for _, tt := range tests {
		name := tt.table + " lacks " + tt.column
		if tt.others {
			name += ", other tables exist"
		}
		t.Run(name, func(t *testing.T) {
			db := emptyDB(t)
			found := false
			for _, tb := range foreignTables {
				switch {
				case tb.name == tt.table:
					found = true
					execStmts(t, db, createTableSQL(tb.name, tb.columns, tt.column))
				case tt.others:
					execStmts(t, db, createTableSQL(tb.name, tb.columns, ""), tb.insert)
				}
			}
			if !found {
				t.Fatalf("no table %s in foreignTables", tt.table)
			}
			before := snapshotDB(t, db)

			err := db.Migrate(ctx)
			if err == nil {
				t.Fatal("Migrate succeeded, want an error")
			}
			for _, s := range []string{tt.table, tt.column} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %s", err, s)
				}
			}
			checkSnapshotsEqual(t, before, snapshotDB(t, db))
		})
	}
}

// TestMigrateVersions: the steps applied are recorded with the binary's
// version, shown by SchemaVersion; a database whose host schema is
// newer than the binary is refused with both versions named, changing
// nothing.
func TestMigrateVersions(t *testing.T) {
	ctx := context.Background()
	db := emptyDB(t)
	if v, err := db.SchemaVersion(ctx); err != nil || v != 0 {
		t.Fatalf("before Migrate: version %d, %v; want 0", v, err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if v, err := db.SchemaVersion(ctx); err != nil || v != sqlite.LatestSchemaVersion {
		t.Fatalf("after Migrate: version %d, %v; want %d", v, err, sqlite.LatestSchemaVersion)
	}
	var steps int
	if err := db.SQL.QueryRow(`SELECT count(*) FROM ffwasmhost_migrations WHERE owner = 'host' AND length(checksum) = 64`).Scan(&steps); err != nil || steps != sqlite.LatestSchemaVersion {
		t.Errorf("recorded steps = %d, %v; want %d", steps, err, sqlite.LatestSchemaVersion)
	}
	newer := sqlite.LatestSchemaVersion + 1
	execStmts(t, db, fmt.Sprintf(`INSERT INTO ffwasmhost_migrations VALUES ('host', %d, 'from the future', 'x', 1)`, newer))
	before := snapshotDB(t, db)
	err := db.Migrate(ctx)
	if !errors.Is(err, sqlite.ErrSchemaTooNew) || !strings.Contains(err.Error(), fmt.Sprintf("version %d", newer)) ||
		!strings.Contains(err.Error(), fmt.Sprintf("up to %d", sqlite.LatestSchemaVersion)) {
		t.Errorf("Migrate of a newer database = %v, want ErrSchemaTooNew naming %d and %d", err, newer, sqlite.LatestSchemaVersion)
	}
	checkSnapshotsEqual(t, before, snapshotDB(t, db))
}

// TestOpenDBNotSQLite: Open on a file that is not a SQLite database fails
// with an error wrapping sqlite.ErrNotSQLite, and leaves the file as it was.
func TestOpenDBNotSQLite(t *testing.T) {
	binary := make([]byte, 8192)
	for i := range binary {
		binary[i] = byte(i*131 + 7)
	}
	tests := []struct {
		name    string
		content []byte
	}{
		{"text", bytes.Repeat([]byte("this is not a database\n"), 200)},
		{"binary", binary},
		{"short", []byte("hello")},
		{"truncated SQLite header", []byte("SQLite format 3\x00\x10\x00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "x.db")
			if err := os.WriteFile(path, tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if !errors.Is(err, sqlite.ErrNotSQLite) {
				t.Errorf("Open error %q does not wrap sqlite.ErrNotSQLite", err)
			}
			got, rerr := os.ReadFile(path)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if !bytes.Equal(got, tt.content) {
				t.Errorf("Open changed the file: %d bytes before, %d after", len(tt.content), len(got))
			}
		})
	}
}

// TestWorkerExpiryIndexServesTheSweep: worker_ttl's "is anyone expired?"
// and its sweep search the host's expression index instead of scanning
// the registry.
func TestWorkerExpiryIndexServesTheSweep(t *testing.T) {
	db := emptyDB(t)
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`SELECT 1 FROM ff_worker_registry WHERE last_heartbeat_ms + liveness_ttl_ms < 5 LIMIT 1`,
		`DELETE FROM ff_worker_registry WHERE last_heartbeat_ms + liveness_ttl_ms < 5`,
		`SELECT namespace, worker_instance_id FROM ff_worker_registry WHERE last_heartbeat_ms + liveness_ttl_ms < 5`,
	} {
		rows, err := db.SQL.Query(`EXPLAIN QUERY PLAN ` + q)
		if err != nil {
			t.Fatal(err)
		}
		var steps []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			steps = append(steps, detail)
		}
		rows.Close()
		plan := strings.Join(steps, "; ")
		if !strings.Contains(plan, "SEARCH ff_worker_registry USING ") || !strings.Contains(plan, "INDEX ffwasmhost_worker_registry_expiry_idx") {
			t.Errorf("%s\nplan: %s; want a search of ffwasmhost_worker_registry_expiry_idx", q, plan)
		}
	}
}
