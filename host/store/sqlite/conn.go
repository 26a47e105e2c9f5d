package sqlite

import (
	"context"
	"fmt"

	"github.com/ffwasmhost/ffwasmhost/host/internal/sqlsandbox"
	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// Dialect returns store.SQLite.
func (db *Store) Dialect() store.Dialect { return store.SQLite }

// Location returns the database file's path.
func (db *Store) Location() string { return db.path }

// Ping checks that the database answers.
func (db *Store) Ping(ctx context.Context) error {
	var v int64
	return db.SQL.QueryRowContext(ctx, "PRAGMA schema_version").Scan(&v)
}

// OpenConn opens a plugin's own connection to the file, sandboxed by
// SQLite's authorizer to what spec allows (abi/ABI.md, section 8).
func (db *Store) OpenConn(ctx context.Context, spec store.ConnSpec) (store.Conn, error) {
	s, err := sqlsandbox.Open(ctx, db.file, spec)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Columns lists a table's columns in order (PRAGMA table_info).
func (db *Store) Columns(ctx context.Context, table string) ([]store.Column, error) {
	rows, err := db.SQL.QueryContext(ctx, "SELECT name, pk FROM pragma_table_info(?) ORDER BY cid", table)
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	defer rows.Close()
	var cols []store.Column
	for rows.Next() {
		var c store.Column
		var pk int
		if err := rows.Scan(&c.Name, &pk); err != nil {
			return nil, fmt.Errorf("columns of %s: %w", table, err)
		}
		c.Key = pk > 0
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("columns of %s: no such table", table)
	}
	return cols, nil
}
