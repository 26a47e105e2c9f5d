package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/jackc/pgx/v5"
)

// migrateLockKey is the transaction-scoped advisory lock that serializes
// concurrent Migrate calls on one database (daemons starting together).
// Transaction-scoped locks end with their transaction, so they work behind
// transaction-mode poolers; nothing else in the host uses advisory locks,
// and plugins may not call the advisory lock functions at all.
var migrateLockKey = func() int64 {
	h := fnv.New64a()
	h.Write([]byte("ffwasmhost migrate"))
	return int64(h.Sum64())
}()

// Migrate creates FlowFabric's reconciler tables that are missing (each
// with its 256 hash partitions and its indexes) and applies the host's own
// migrations not yet recorded in ffwasmhost_migrations. It creates
// everything in the connection's current schema (the first of its
// search_path, normally public).
//
// It is idempotent. A reconciler table that exists is never altered,
// recreated or indexed: Migrate only checks that it has every column the
// host expects, and if one lacks a column it returns an error naming the
// table and column having changed nothing at all, host tables included.
//
// Each table is created in a transaction of its own, so that no single
// transaction holds the locks of all 1,024 partitions; concurrent calls
// wait for one another on a transaction-scoped advisory lock and create
// each table once.
func (s *Store) Migrate(ctx context.Context) error {
	// First, in one read-only pass, refuse a database whose existing
	// tables lack columns, before anything is created.
	if err := s.checkExisting(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	} else if v > LatestSchemaVersion {
		return fmt.Errorf("migrate: host schema version %d, this ffwasmhost knows up to %d: %w (upgrade ffwasmhost)",
			v, LatestSchemaVersion, ErrSchemaTooNew)
	}
	for _, t := range reconcilerTables {
		if err := s.inLockedTx(ctx, func(tx pgx.Tx) error { return createTable(ctx, tx, t) }); err != nil {
			return fmt.Errorf("migrate: create table %s: %w", t.name, err)
		}
	}
	if err := s.inLockedTx(ctx, func(tx pgx.Tx) error { return applyHostMigrations(ctx, tx) }); err != nil {
		return fmt.Errorf("migrate: host tables: %w", err)
	}
	return nil
}

// checkExisting returns an error naming the first table and column
// missing from an existing reconciler table.
func (s *Store) checkExisting(ctx context.Context) error {
	var schema *string
	if err := s.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("read current schema: %w", err)
	}
	if schema == nil {
		return ErrNoSchema
	}
	for _, t := range reconcilerTables {
		have, err := tableColumns(ctx, s.pool, t.name)
		if err != nil {
			return fmt.Errorf("read columns of %s: %w", t.name, err)
		}
		if have == nil {
			continue // created later
		}
		for _, c := range t.columns {
			if !have[c.name] {
				return fmt.Errorf("table %s exists but lacks column %s; nothing was changed", t.name, c.name)
			}
		}
	}
	return nil
}

// querier is what tableColumns needs: a pool, a connection or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// tableColumns returns the column names of table in the current schema,
// or nil if there is no such table.
func tableColumns(ctx context.Context, q querier, table string) (map[string]bool, error) {
	rows, err := q.Query(ctx, `SELECT a.attname FROM pg_class c
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = $1 AND c.relkind IN ('r', 'p')`, table)
	if err != nil {
		return nil, err
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(cols) == 0 {
		return nil, err
	}
	have := make(map[string]bool, len(cols))
	for _, c := range cols {
		have[c] = true
	}
	return have, nil
}

// inLockedTx runs fn in a transaction that holds the migration lock.
func (s *Store) inLockedTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey); err != nil {
			return fmt.Errorf("take the migration lock: %w", err)
		}
		return fn(tx)
	})
}

// createTable creates t unless it exists, checking its columns again now
// that the lock is held: another daemon may have created it meanwhile.
func createTable(ctx context.Context, tx pgx.Tx, t table) error {
	have, err := tableColumns(ctx, tx, t.name)
	if err != nil {
		return err
	}
	if have != nil {
		for _, c := range t.columns {
			if !have[c.name] {
				return fmt.Errorf("table %s exists but lacks column %s", t.name, c.name)
			}
		}
		return nil
	}
	// One round trip: the statements are the host's own text.
	batch := &pgx.Batch{}
	for _, stmt := range t.create() {
		batch.Queue(stmt)
	}
	return tx.SendBatch(ctx, batch).Close()
}

// applyHostMigrations applies every host migration not yet recorded.
func applyHostMigrations(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, migrationsTable); err != nil {
		return fmt.Errorf("create ffwasmhost_migrations: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT version FROM ffwasmhost_migrations`)
	if err != nil {
		return err
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return fmt.Errorf("read ffwasmhost_migrations: %w", err)
	}
	done := map[int]bool{}
	for _, v := range applied {
		done[int(v)] = true
	}
	var schema string
	if err := tx.QueryRow(ctx, `SELECT quote_ident(current_schema())`).Scan(&schema); err != nil {
		return fmt.Errorf("read current schema: %w", err)
	}
	for _, m := range hostMigrations {
		if done[m.version] {
			continue
		}
		for _, stmt := range m.stmts(schema) {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.version, m.description, err)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO ffwasmhost_migrations (version, description) VALUES ($1, $2)`,
			m.version, m.description); err != nil {
			return fmt.Errorf("record migration %d: %w", m.version, err)
		}
	}
	return nil
}

// ErrSchemaTooNew is wrapped by Migrate when the database's host schema is
// newer than this binary's.
var ErrSchemaTooNew = errors.New("database schema is newer than this ffwasmhost")

// ErrNoSchema is returned by a current schema that does not exist: an
// empty or wrong search_path.
var ErrNoSchema = errors.New("no current schema (check search_path)")
