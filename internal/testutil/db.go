package testutil

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // the "sqlite" driver, for TryWriteLock
)

// SeedEveryTable inserts a few rows into every reconciler table of a
// migrated database, none of them due: a plugin that changes any of them
// changed what it should not have.
func SeedEveryTable(tb testing.TB, db *sql.DB) {
	tb.Helper()
	for _, s := range []string{
		`INSERT INTO ff_budget_policy (partition_key, budget_id, policy_json, created_at_ms, updated_at_ms, next_reset_at_ms)
		 VALUES (0, 'b1', '{"limit":10}', 1, 1, 1000), (0, 'b2', '{}', 2, 2, NULL)`,
		`INSERT INTO ff_budget_usage (partition_key, budget_id, dimensions_key, current_value, updated_at_ms)
		 VALUES (0, 'b1', 'tokens', 7, 1)`,
		`INSERT INTO ff_worker_registry VALUES ('ns', 'w1', 'w1', 'default', 'gpu', 100, 30000, 1),
		 ('ns', 'w2', 'w2', 'default', '', 200, 30000, 2)`,
		`INSERT INTO ff_worker_registry_event VALUES ('ns', 'w0', 'ttl_swept', 5, NULL)`,
	} {
		if _, err := db.Exec(s); err != nil {
			tb.Fatalf("seed: %v", err)
		}
	}
}

// SeedDue inserts budgets due at now (each with two usage rows, reset every
// hour) and workers whose TTL expired before now: work for budget_reset
// and worker_ttl.
func SeedDue(tb testing.TB, db *sql.DB, now int64, budgets, workers int) {
	tb.Helper()
	for i := range budgets {
		id := fmt.Sprintf("b%03d", i)
		if _, err := db.Exec(`INSERT INTO ff_budget_policy (partition_key, budget_id, policy_json, created_at_ms,
			updated_at_ms, last_breach_at_ms, last_breach_dim, next_reset_at_ms)
			VALUES (0, ?, '{"reset_interval_ms":3600000}', 0, 0, ?, 'tokens', ?)`, id, now-5, now-int64(i)-1); err != nil {
			tb.Fatal(err)
		}
		for _, dim := range []string{"tokens", "requests"} {
			if _, err := db.Exec(`INSERT INTO ff_budget_usage (partition_key, budget_id, dimensions_key, current_value, updated_at_ms)
				VALUES (0, ?, ?, 42, 0)`, id, dim); err != nil {
				tb.Fatal(err)
			}
		}
	}
	for i := range workers {
		if _, err := db.Exec(`INSERT INTO ff_worker_registry VALUES ('ns', ?, 'w', 'a', '', ?, 1000, 0)`,
			fmt.Sprintf("w%03d", i), now-5000); err != nil {
			tb.Fatal(err)
		}
	}
}

// Count returns the single integer query yields.
func Count(tb testing.TB, db *sql.DB, query string, args ...any) int64 {
	tb.Helper()
	var n int64
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	return n
}

// DumpDatabase renders sqlite_schema and every row of every table, sorted,
// with each value's type (DumpQuery): two dumps are equal exactly when the
// content is. where maps a table to an SQL condition that selects the rows
// to include, to leave out rows a test expects to change.
func DumpDatabase(tb testing.TB, db *sql.DB, where map[string]string) string {
	tb.Helper()
	var tables []string
	rows, err := db.Query(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		tb.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			tb.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	var b strings.Builder
	b.WriteString(DumpQuery(tb, db, "sqlite_schema", `SELECT type, name, tbl_name, rootpage, sql FROM sqlite_schema`))
	for _, name := range tables {
		q := `SELECT * FROM "` + name + `"`
		if w, ok := where[name]; ok {
			q += ` WHERE ` + w
		}
		b.WriteString(DumpQuery(tb, db, name, q))
	}
	return b.String()
}

// TryWriteLock takes and releases the database's write lock (BEGIN
// IMMEDIATE, ROLLBACK) from a new connection that does not wait for it.
func TryWriteLock(path string) error {
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)")
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, "ROLLBACK")
	return err
}

// HoldWriteLock takes the write lock of db's database (BEGIN IMMEDIATE on
// a connection of its own) and returns the function that releases it.
func HoldWriteLock(tb testing.TB, db *sql.DB) (release func()) {
	tb.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		conn.Close()
		tb.Fatal(err)
	}
	return func() {
		tb.Helper()
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
			tb.Fatal(err)
		}
	}
}
