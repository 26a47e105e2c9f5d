package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// ledgerTableSQL is host migration 2: the tick ledger, one row per plugin
// and partition, as on SQLite.
const ledgerTableSQL = `CREATE TABLE ffwasmhost_ticks (
    plugin               text    NOT NULL,
    partition_key        integer NOT NULL,
    since_ms             bigint  NOT NULL,
    start_ms             bigint  NOT NULL,
    end_ms               bigint  NOT NULL,
    error                text,
    processed            bigint  NOT NULL,
    errors               bigint  NOT NULL,
    version              text    NOT NULL,
    sha256               text    NOT NULL,
    daemon               text    NOT NULL,
    interval_ms          bigint  NOT NULL,
    last_success_ms      bigint,
    consecutive_failures bigint  NOT NULL,
    ticks                bigint  NOT NULL,
    failures             bigint  NOT NULL,
    changes              jsonb,
    PRIMARY KEY (plugin, partition_key)
)`

// recordTickSQL upserts one tick; the counts and the last success are kept
// by the statement itself, so a record needs no read first and two daemons
// recording the same row serialize on it.
const recordTickSQL = `INSERT INTO ffwasmhost_ticks AS t (plugin, partition_key, since_ms, start_ms, end_ms, error,
    processed, errors, version, sha256, daemon, interval_ms, last_success_ms, consecutive_failures, ticks, failures, changes)
VALUES ($1, $2, $3::bigint, $3::bigint, $4::bigint, $5::text, $6, $7, $8, $9, $10, $11,
    CASE WHEN $5::text IS NULL THEN $4::bigint END, CASE WHEN $5::text IS NULL THEN 0 ELSE 1 END, 1,
    CASE WHEN $5::text IS NULL THEN 0 ELSE 1 END, $12::jsonb)
ON CONFLICT (plugin, partition_key) DO UPDATE SET
    start_ms = excluded.start_ms, end_ms = excluded.end_ms, error = excluded.error,
    processed = excluded.processed, errors = excluded.errors, version = excluded.version,
    sha256 = excluded.sha256, daemon = excluded.daemon, interval_ms = excluded.interval_ms, changes = excluded.changes,
    last_success_ms = CASE WHEN excluded.error IS NULL THEN excluded.end_ms ELSE t.last_success_ms END,
    consecutive_failures = CASE WHEN excluded.error IS NULL THEN 0 ELSE t.consecutive_failures + 1 END,
    ticks = t.ticks + 1,
    failures = t.failures + CASE WHEN excluded.error IS NULL THEN 0 ELSE 1 END`

// RecordTick writes t to the tick ledger.
func (s *Store) RecordTick(ctx context.Context, t store.Tick) error {
	var errText *string
	if t.Err != "" {
		errText = &t.Err
	}
	changes, err := json.Marshal(t.Changes)
	if err != nil {
		return fmt.Errorf("record tick of %s: %w", t.Plugin, err)
	}
	_, err = s.pool.Exec(ctx, recordTickSQL, t.Plugin, t.Partition, t.Start.UnixMilli(), t.End.UnixMilli(),
		errText, t.Processed, t.Errors, t.Version, t.SHA256, t.Daemon, t.Interval.Milliseconds(), string(changes))
	if err != nil {
		return fmt.Errorf("record tick of %s partition %d: %w", t.Plugin, t.Partition, oneLine(err))
	}
	return nil
}

// Ticks returns the tick ledger, sorted by plugin and partition; none
// before the ledger exists.
func (s *Store) Ticks(ctx context.Context) ([]store.TickRecord, error) {
	rows, err := s.pool.Query(ctx, `SELECT plugin, partition_key, since_ms, start_ms, end_ms, error,
    processed, errors, version, sha256, daemon, interval_ms, last_success_ms, consecutive_failures, ticks, failures,
    changes::text
FROM ffwasmhost_ticks ORDER BY plugin, partition_key`)
	if undefinedTable(err) {
		return nil, nil // not migrated yet
	}
	if err != nil {
		return nil, fmt.Errorf("read the tick ledger: %w", oneLine(err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.TickRecord, error) {
		var (
			r                           store.TickRecord
			since, start, end, interval int64
			errText, changes            *string
			lastSuccess                 *int64
		)
		if err := row.Scan(&r.Plugin, &r.Partition, &since, &start, &end, &errText, &r.Processed, &r.Errors,
			&r.Version, &r.SHA256, &r.Daemon, &interval, &lastSuccess, &r.ConsecutiveFailures, &r.Ticks, &r.Failures, &changes); err != nil {
			return r, err
		}
		r.Since, r.Start, r.End = time.UnixMilli(since), time.UnixMilli(start), time.UnixMilli(end)
		r.Interval = time.Duration(interval) * time.Millisecond
		if errText != nil {
			r.Err = *errText
		}
		if lastSuccess != nil {
			r.LastSuccess = time.UnixMilli(*lastSuccess)
		}
		if changes != nil && *changes != "null" {
			if err := json.Unmarshal([]byte(*changes), &r.Changes); err != nil {
				return r, fmt.Errorf("changes of %s: %w", r.Plugin, err)
			}
		}
		return r, nil
	})
	if undefinedTable(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the tick ledger: %w", oneLine(err))
	}
	return out, nil
}

// SchemaVersion is the newest host migration the database has, 0 before
// the first Migrate.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v *int32
	err := s.pool.QueryRow(ctx, `SELECT max(version) FROM ffwasmhost_migrations`).Scan(&v)
	if undefinedTable(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read the host schema version: %w", oneLine(err))
	}
	if v == nil {
		return 0, nil
	}
	return int(*v), nil
}

// undefinedTable reports whether err is PostgreSQL's undefined_table.
func undefinedTable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42P01"
}
