package sqlite

import (
	"context"

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
