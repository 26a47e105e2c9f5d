package host

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"sort"
	"strings"
)

//go:embed schema.sql
var schemaSQL string

// Migrate creates the reconciler tables and index where they are missing.
// It is idempotent, and on a database where the tables already exist it
// changes nothing. If an existing table lacks a column the reconcilers
// need, it returns an error naming the table and column and changes
// nothing at all.
func Migrate(ctx context.Context, db *DB) error {
	want, err := schemaColumns(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
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
	for _, table := range sortedKeys(want) {
		have, err := tableColumns(ctx, tx, table)
		if err != nil {
			return fmt.Errorf("migrate: read columns of %s: %w", table, err)
		}
		if len(have) == 0 {
			continue // created below
		}
		for _, col := range want[table] {
			if !have[col] {
				return fmt.Errorf("migrate: table %s exists but lacks column %s; nothing was changed", table, col)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, schemaSQL); err != nil {
		return fmt.Errorf("migrate: create schema: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
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
		for c := range cols {
			out[t] = append(out[t], c)
		}
		sort.Strings(out[t])
	}
	return out, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
