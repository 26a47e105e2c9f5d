package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/internal/sqlsandbox"
	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// pluginLedgerSQL is host schema step 4: the migrations each plugin has
// had, and the owner of each owned table.
const pluginLedgerSQL = `CREATE TABLE IF NOT EXISTS ffwasmhost_plugin_migrations (
    plugin         TEXT    NOT NULL,
    id             INTEGER NOT NULL,
    name           TEXT    NOT NULL,
    checksum       TEXT    NOT NULL,
    applied_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (plugin, id)
);
CREATE TABLE IF NOT EXISTS ffwasmhost_owned_tables (
    name         TEXT    NOT NULL PRIMARY KEY COLLATE NOCASE,
    plugin       TEXT    NOT NULL,
    since_ms     INTEGER NOT NULL
)`

// PendingMigrations returns the steps of s the database lacks, changing
// nothing (store.PluginMigrator).
func (db *Store) PendingMigrations(ctx context.Context, s store.PluginSchema) ([]store.PluginMigration, error) {
	applied, err := pluginApplied(ctx, db.SQL, s.Plugin)
	if err != nil {
		return nil, err
	}
	if err := checkOwners(ctx, db.SQL, s); err != nil {
		return nil, err
	}
	return pending(s, applied)
}

// ApplyMigrations applies the steps of s the database lacks, each in a
// transaction of its own under the migration sandbox
// (sqlsandbox.Migrator), and records each (store.PluginMigrator).
func (db *Store) ApplyMigrations(ctx context.Context, s store.PluginSchema) ([]store.PluginMigration, error) {
	todo, err := db.PendingMigrations(ctx, s)
	if err != nil {
		return nil, err
	}
	if len(todo) == 0 {
		return nil, db.claim(ctx, s)
	}
	m, err := sqlsandbox.OpenMigrator(ctx, db.file, sqlsandbox.MigratorSpec{Plugin: s.Plugin, Owns: s.Owns, Declared: s.Declared,
		Timeout: db.opts.MigrationTimeout})
	if err != nil {
		return nil, err
	}
	defer m.Close()
	var done []store.PluginMigration
	for _, step := range todo {
		sum := store.MigrationChecksum(step.SQL)
		before := func(ctx context.Context, tx sqlsandbox.HostTx) error {
			if err := checkOwners(ctx, tx, s); err != nil {
				return err
			}
			applied, err := pluginApplied(ctx, tx, s.Plugin)
			if err != nil {
				return err
			}
			if a, ok := applied[step.ID]; ok {
				if a.Checksum != sum {
					return &store.ChecksumError{Plugin: s.Plugin, ID: step.ID, Name: step.Name, Applied: a.Checksum, Now: sum}
				}
				return sqlsandbox.ErrSkip
			}
			return nil
		}
		after := func(ctx context.Context, tx sqlsandbox.HostTx) error {
			now := time.Now().UnixMilli()
			if err := recordOwner(ctx, tx, s, now); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO ffwasmhost_plugin_migrations (plugin, id, name, checksum, applied_at_ms)
VALUES (?, ?, ?, ?, ?)`, s.Plugin, step.ID, step.Name, sum, now); err != nil {
				return fmt.Errorf("record: %w", err)
			}
			return nil
		}
		err := m.Step(ctx, step.SQL, before, after)
		if errors.Is(err, sqlsandbox.ErrSkip) {
			continue
		}
		if err != nil {
			var ce *store.ChecksumError
			var oe *store.OwnerError
			if errors.As(err, &ce) || errors.As(err, &oe) {
				return done, err
			}
			return done, fmt.Errorf("plugin %s: migration %d (%s): %w", s.Plugin, step.ID, step.Name, err)
		}
		done = append(done, step)
	}
	return done, nil
}

// claim records s's plugin as the owner of its tables, if no plugin is
// yet: a plugin whose tables exist without its migrations owns them too.
func (db *Store) claim(ctx context.Context, s store.PluginSchema) error {
	if len(s.Owns) == 0 {
		return nil
	}
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("plugin %s: record owned tables: %w", s.Plugin, err)
	}
	defer tx.Rollback()
	if err := checkOwners(ctx, tx, s); err != nil {
		return err
	}
	if err := recordOwner(ctx, tx, s, time.Now().UnixMilli()); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("plugin %s: record owned tables: %w", s.Plugin, err)
	}
	return nil
}

func recordOwner(ctx context.Context, tx sqlsandbox.HostTx, s store.PluginSchema, nowMS int64) error {
	for _, t := range s.Owns {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ffwasmhost_owned_tables (name, plugin, since_ms) VALUES (?, ?, ?)
ON CONFLICT (name) DO NOTHING`, t, s.Plugin, nowMS); err != nil {
			return fmt.Errorf("record owner of %s: %w", t, err)
		}
	}
	return nil
}

// AppliedMigrations returns every plugin's applied steps, by plugin and id
// (store.PluginMigrator).
func (db *Store) AppliedMigrations(ctx context.Context) ([]store.AppliedMigration, error) {
	if ok, err := db.hasPluginLedger(ctx); err != nil || !ok {
		return nil, err
	}
	rows, err := db.SQL.QueryContext(ctx, `SELECT plugin, id, name, checksum, applied_at_ms FROM ffwasmhost_plugin_migrations ORDER BY plugin, id`)
	if err != nil {
		return nil, fmt.Errorf("read plugin migrations: %w", err)
	}
	defer rows.Close()
	var out []store.AppliedMigration
	for rows.Next() {
		var a store.AppliedMigration
		var ms int64
		if err := rows.Scan(&a.Plugin, &a.ID, &a.Name, &a.Checksum, &ms); err != nil {
			return nil, fmt.Errorf("read plugin migrations: %w", err)
		}
		a.AppliedAt = time.UnixMilli(ms).UTC()
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read plugin migrations: %w", err)
	}
	return out, nil
}

// hasPluginLedger reports whether host schema step 4 has run: before it,
// no plugin migration has been applied.
func (db *Store) hasPluginLedger(ctx context.Context) (bool, error) {
	var n int
	if err := db.SQL.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'ffwasmhost_plugin_migrations'`).Scan(&n); err != nil {
		return false, fmt.Errorf("read schema: %w", err)
	}
	return n > 0, nil
}

// pluginApplied returns the plugin's applied steps by id.
func pluginApplied(ctx context.Context, q querier, plugin string) (map[int64]store.AppliedMigration, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, name, checksum, applied_at_ms FROM ffwasmhost_plugin_migrations WHERE plugin = ?`, plugin)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return nil, fmt.Errorf("read migrations of plugin %s: the database has no plugin migration ledger (run ffwasmhost migrate)", plugin)
		}
		return nil, fmt.Errorf("read migrations of plugin %s: %w", plugin, err)
	}
	defer rows.Close()
	out := map[int64]store.AppliedMigration{}
	for rows.Next() {
		a := store.AppliedMigration{Plugin: plugin}
		var ms int64
		if err := rows.Scan(&a.ID, &a.Name, &a.Checksum, &ms); err != nil {
			return nil, fmt.Errorf("read migrations of plugin %s: %w", plugin, err)
		}
		a.AppliedAt = time.UnixMilli(ms).UTC()
		out[a.ID] = a
	}
	return out, rows.Err()
}

// checkOwners fails with a *store.OwnerError if another plugin owns one of
// s's tables.
func checkOwners(ctx context.Context, q querier, s store.PluginSchema) error {
	for _, t := range s.Owns {
		var owner string
		err := q.QueryRowContext(ctx, `SELECT plugin FROM ffwasmhost_owned_tables WHERE name = ?`, t).Scan(&owner)
		switch {
		case err == nil && owner != s.Plugin:
			return &store.OwnerError{Table: t, Owner: owner, Plugin: s.Plugin}
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("read owner of table %s: %w", t, err)
		}
	}
	return nil
}

// pending compares s's steps with the applied ones.
func pending(s store.PluginSchema, applied map[int64]store.AppliedMigration) ([]store.PluginMigration, error) {
	declared := map[int64]bool{}
	var out []store.PluginMigration
	for _, m := range s.Migrations {
		declared[m.ID] = true
		a, ok := applied[m.ID]
		if !ok {
			out = append(out, m)
			continue
		}
		if sum := store.MigrationChecksum(m.SQL); sum != a.Checksum {
			return nil, &store.ChecksumError{Plugin: s.Plugin, ID: m.ID, Name: m.Name, Applied: a.Checksum, Now: sum}
		}
	}
	var missing *store.AppliedMigration
	for id, a := range applied {
		if !declared[id] && (missing == nil || id < missing.ID) {
			missing = &a
		}
	}
	if missing != nil {
		return nil, &store.MissingMigrationError{Plugin: s.Plugin, ID: missing.ID, Name: missing.Name}
	}
	return out, nil
}

var _ store.PluginMigrator = (*Store)(nil)
