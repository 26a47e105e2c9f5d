package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ffwasmhost/ffwasmhost/host/store"
)

// ledgerTableSQL is host schema step 3: the tick ledger.
const ledgerTableSQL = `CREATE TABLE IF NOT EXISTS ffwasmhost_ticks (
    plugin                TEXT    NOT NULL,
    partition_key         INTEGER NOT NULL,
    since_ms              INTEGER NOT NULL,
    start_ms              INTEGER NOT NULL,
    end_ms                INTEGER NOT NULL,
    error                 TEXT,
    processed             INTEGER NOT NULL,
    errors                INTEGER NOT NULL,
    version               TEXT    NOT NULL,
    sha256                TEXT    NOT NULL,
    daemon                TEXT    NOT NULL,
    interval_ms           INTEGER NOT NULL,
    last_success_ms       INTEGER,
    consecutive_failures  INTEGER NOT NULL,
    ticks                 INTEGER NOT NULL,
    failures              INTEGER NOT NULL,
    changes               TEXT,
    PRIMARY KEY (plugin, partition_key)
)`

// recordTickSQL upserts one tick; the counts and the last success are kept
// by the statement itself, so a record needs no read first.
const recordTickSQL = `INSERT INTO ffwasmhost_ticks (plugin, partition_key, since_ms, start_ms, end_ms, error,
    processed, errors, version, sha256, daemon, interval_ms, last_success_ms, consecutive_failures, ticks, failures, changes)
VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,
    CASE WHEN ?5 IS NULL THEN ?4 END, CASE WHEN ?5 IS NULL THEN 0 ELSE 1 END, 1, CASE WHEN ?5 IS NULL THEN 0 ELSE 1 END, ?12)
ON CONFLICT (plugin, partition_key) DO UPDATE SET
    start_ms = excluded.start_ms, end_ms = excluded.end_ms, error = excluded.error,
    processed = excluded.processed, errors = excluded.errors, version = excluded.version,
    sha256 = excluded.sha256, daemon = excluded.daemon, interval_ms = excluded.interval_ms, changes = excluded.changes,
    last_success_ms = CASE WHEN excluded.error IS NULL THEN excluded.end_ms ELSE last_success_ms END,
    consecutive_failures = CASE WHEN excluded.error IS NULL THEN 0 ELSE consecutive_failures + 1 END,
    ticks = ticks + 1,
    failures = failures + CASE WHEN excluded.error IS NULL THEN 0 ELSE 1 END`

// RecordTick writes t to the tick ledger.
func (db *Store) RecordTick(ctx context.Context, t store.Tick) error {
	var errText sql.NullString
	if t.Err != "" {
		errText = sql.NullString{String: t.Err, Valid: true}
	}
	changes, err := json.Marshal(t.Changes)
	if err != nil {
		return fmt.Errorf("record tick of %s: %w", t.Plugin, err)
	}
	_, err = db.SQL.ExecContext(ctx, recordTickSQL, t.Plugin, t.Partition, t.Start.UnixMilli(), t.End.UnixMilli(),
		errText, t.Processed, t.Errors, t.Version, t.SHA256, t.Daemon, t.Interval.Milliseconds(), string(changes))
	if err != nil {
		return fmt.Errorf("record tick of %s: %w", t.Plugin, err)
	}
	return nil
}

// Ticks returns the tick ledger, sorted by plugin and partition; none
// before the ledger exists.
func (db *Store) Ticks(ctx context.Context) ([]store.TickRecord, error) {
	if v, err := db.SchemaVersion(ctx); err != nil || v < ledgerVersion {
		return nil, err
	}
	rows, err := db.SQL.QueryContext(ctx, `SELECT plugin, partition_key, since_ms, start_ms, end_ms, error,
    processed, errors, version, sha256, daemon, interval_ms, last_success_ms, consecutive_failures, ticks, failures, changes
FROM ffwasmhost_ticks ORDER BY plugin, partition_key`)
	if err != nil {
		return nil, fmt.Errorf("read the tick ledger: %w", err)
	}
	defer rows.Close()
	var out []store.TickRecord
	for rows.Next() {
		var (
			r                           store.TickRecord
			since, start, end, interval int64
			errText, changes            sql.NullString
			lastSuccess                 sql.NullInt64
		)
		if err := rows.Scan(&r.Plugin, &r.Partition, &since, &start, &end, &errText, &r.Processed, &r.Errors,
			&r.Version, &r.SHA256, &r.Daemon, &interval, &lastSuccess, &r.ConsecutiveFailures, &r.Ticks, &r.Failures, &changes); err != nil {
			return nil, fmt.Errorf("read the tick ledger: %w", err)
		}
		r.Since, r.Start, r.End = time.UnixMilli(since), time.UnixMilli(start), time.UnixMilli(end)
		r.Err, r.Interval = errText.String, time.Duration(interval)*time.Millisecond
		if lastSuccess.Valid {
			r.LastSuccess = time.UnixMilli(lastSuccess.Int64)
		}
		if changes.Valid && changes.String != "null" {
			if err := json.Unmarshal([]byte(changes.String), &r.Changes); err != nil {
				return nil, fmt.Errorf("read the tick ledger: changes of %s: %w", r.Plugin, err)
			}
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the tick ledger: %w", err)
	}
	return out, nil
}
