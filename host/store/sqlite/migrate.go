package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

//go:embed schema.sql
var schemaSQL string

// migration is one numbered step of the host's schema. Steps are applied
// in order, each once, and recorded in ffwasmhost_migrations; a step is
// never edited once released, only followed by another.
type migration struct {
	version int
	name    string
	sql     string
	// check, if set, runs before the step and may refuse it; the error
	// then names what is wrong and nothing is changed.
	check func(ctx context.Context, tx *sql.Tx) error
}

// hostMigrations are the host's schema steps. On a database FlowFabric
// created, they drop, rewrite and reorder nothing: every statement creates
// only what is missing.
var hostMigrations = []migration{
	{version: 1, name: "reconciler tables", sql: schemaSQL, check: checkReconcilerColumns},
	// An expression index that answers worker_ttl's "is anyone expired?"
	// and its sweep's WHERE in O(log n): an idle tick reads one index entry
	// instead of scanning the registry. It adds an index to a FlowFabric
	// table and changes nothing else; heartbeats update one more index
	// entry each.
	{version: 2, name: "worker expiry index", sql: `CREATE INDEX IF NOT EXISTS ffwasmhost_worker_registry_expiry_idx
    ON ff_worker_registry (last_heartbeat_ms + liveness_ttl_ms)`},
	// The tick ledger (ledger.go): each plugin's last tick, across restarts.
	{version: ledgerVersion, name: "tick ledger", sql: ledgerTableSQL},
	// Plugins' migrations and owned tables (plugins.go).
	{version: 4, name: "plugin migrations", sql: pluginLedgerSQL},
}

// ledgerVersion is the host schema step that creates the tick ledger.
const ledgerVersion = 3

// LatestSchemaVersion is the host schema version this binary migrates to.
var LatestSchemaVersion = len(hostMigrations)

// ledgerSQL creates the table that records applied migrations, by owner:
// "host" for the host's own steps.
const ledgerSQL = `CREATE TABLE IF NOT EXISTS ffwasmhost_migrations (
    owner          TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    name           TEXT    NOT NULL,
    checksum       TEXT    NOT NULL,
    applied_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (owner, version)
)`

// hostOwner is the owner of the host's own steps in ffwasmhost_migrations.
const hostOwner = "host"

// ErrSchemaTooNew is wrapped by Migrate when the database's host schema is
// newer than this binary's.
var ErrSchemaTooNew = errors.New("database schema is newer than this ffwasmhost")

// Migrate applies the host schema steps the database has not had yet, in
// one transaction, and records each. It is idempotent. It refuses, changing
// nothing, a database whose schema version is newer than LatestSchemaVersion,
// and one where an existing reconciler table lacks a column the
// reconcilers need (the error names the table and column).
func (db *Store) Migrate(ctx context.Context) error {
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock)
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, ledgerSQL); err != nil {
		return fmt.Errorf("migrate: create ffwasmhost_migrations: %w", err)
	}
	have, err := appliedVersion(ctx, tx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if have > LatestSchemaVersion {
		return fmt.Errorf("migrate: database has host schema version %d, this ffwasmhost knows up to %d: %w (upgrade ffwasmhost)",
			have, LatestSchemaVersion, ErrSchemaTooNew)
	}
	for _, m := range hostMigrations[have:] {
		if m.check != nil {
			if err := m.check(ctx, tx); err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migrate: step %d (%s): %w", m.version, m.name, err)
		}
		sum := sha256.Sum256([]byte(m.sql))
		if _, err := tx.ExecContext(ctx, `INSERT INTO ffwasmhost_migrations (owner, version, name, checksum, applied_at_ms)
VALUES (?, ?, ?, ?, ?)`, hostOwner, m.version, m.name, hex.EncodeToString(sum[:]), time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("migrate: record step %d: %w", m.version, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}

// SchemaVersion returns the database's host schema version: the last host
// step applied, 0 before the first Migrate.
func (db *Store) SchemaVersion(ctx context.Context) (int, error) {
	var n int
	err := db.SQL.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'ffwasmhost_migrations'`).Scan(&n)
	if err != nil || n == 0 {
		return 0, err
	}
	return appliedVersion(ctx, db.SQL)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func appliedVersion(ctx context.Context, q querier) (int, error) {
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT max(version) FROM ffwasmhost_migrations WHERE owner = ?`, hostOwner).Scan(&v); err != nil {
		return 0, fmt.Errorf("read host schema version: %w", err)
	}
	return int(v.Int64), nil
}

// checkReconcilerColumns refuses step 1 when a reconciler table exists but
// lacks a column the reconcilers need: schema.sql creates only missing
// tables, so it would not add the column.
func checkReconcilerColumns(ctx context.Context, tx *sql.Tx) error {
	want, err := schemaColumns(ctx)
	if err != nil {
		return err
	}
	for _, table := range slices.Sorted(maps.Keys(want)) {
		have, err := tableColumns(ctx, tx, table)
		if err != nil {
			return fmt.Errorf("read columns of %s: %w", table, err)
		}
		if len(have) == 0 {
			continue // created by the step
		}
		for _, col := range want[table] {
			if !have[col] {
				return fmt.Errorf("table %s exists but lacks column %s; nothing was changed", table, col)
			}
		}
	}
	return nil
}

// schemaColumns applies schema.sql to a scratch in-memory database and
// returns each table's columns, so the check above never drifts from the
// schema it checks for.
func schemaColumns(ctx context.Context) (map[string][]string, error) {
	mem, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return nil, err
	}
	defer mem.Close()
	mem.SetMaxOpenConns(1)
	if _, err := mem.ExecContext(ctx, schemaSQL); err != nil {
		return nil, fmt.Errorf("reference schema: %w", err)
	}
	rows, err := mem.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table'`)
	if err != nil {
		return nil, err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return nil, err
		}
		tables = append(tables, t)
	}
	rows.Close()
	out := map[string][]string{}
	for _, t := range tables {
		cols, err := tableColumns(ctx, mem, t)
		if err != nil {
			return nil, err
		}
		out[t] = slices.Sorted(maps.Keys(cols))
	}
	return out, nil
}

// tableColumns returns the lowercased column names of table, or none if it
// does not exist.
func tableColumns(ctx context.Context, q querier, table string) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols[strings.ToLower(c)] = true
	}
	return cols, rows.Err()
}
