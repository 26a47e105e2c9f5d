package main

// Native Go implementations of the two reconcilers, used only by the
// benchmark as the baseline. The SQL text is copied verbatim from
// internal/budgetreset/budgetreset.go and internal/workerttl/workerttl.go, and the
// transaction shape is the same: one BEGIN IMMEDIATE transaction per budget
// (re-read, reset usage, reschedule), one transaction for the whole sweep,
// busy retried three times (5 ms, then 10 ms) as abi/guest.Retry does.
//
// Two flavours run the same code:
//   - "native": statements go through *sql.DB / *sql.Tx with their text, as
//     the plugin writes them. modernc.org/sqlite prepares and finalizes the
//     statement on every call.
//   - "native-prepared": every statement is prepared once per connection
//     and reused, which is what the host does for a plugin (host/session.go
//     caches prepared statements). This is the stricter baseline: the same
//     SQLite work, minus only the sandbox.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/url"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ffwasmhost/ffwasmhost/internal/policyjson"
)

const budgetBatch = 20

// SQL of internal/budgetreset/budgetreset.go.
const (
	selectDue = `SELECT budget_id FROM ff_budget_policy
WHERE partition_key = 0 AND next_reset_at_ms IS NOT NULL AND next_reset_at_ms <= ?
ORDER BY next_reset_at_ms ASC LIMIT ?`
	selectOne = `SELECT policy_json, next_reset_at_ms FROM ff_budget_policy
WHERE partition_key = 0 AND budget_id = ?`
	resetUsage = `UPDATE ff_budget_usage SET current_value = 0, last_reset_at_ms = ?, updated_at_ms = ?
WHERE partition_key = 0 AND budget_id = ?`
	resetPolicy = `UPDATE ff_budget_policy SET last_breach_at_ms = NULL, last_breach_dim = NULL,
updated_at_ms = ?, next_reset_at_ms = ?
WHERE partition_key = 0 AND budget_id = ?`
)

// SQL of internal/workerttl/workerttl.go.
const (
	insertEvents = `INSERT INTO ff_worker_registry_event
(namespace, worker_instance_id, event_kind, event_at_ms, reason)
SELECT namespace, worker_instance_id, 'ttl_swept', ?, NULL
FROM ff_worker_registry WHERE last_heartbeat_ms + liveness_ttl_ms < ?
ON CONFLICT DO NOTHING`
	deleteExpired = `DELETE FROM ff_worker_registry WHERE last_heartbeat_ms + liveness_ttl_ms < ?`
)

// nativeDSN is the data source name of a plugin's connection in host/db.go
// (dsn with plugin=true) at the daemon's defaults: WAL, synchronous=NORMAL,
// busy_timeout 5 s, BEGIN IMMEDIATE, defensive mode, trusted_schema off.
// Only the authorizer and the lowered sqlite3_limits are missing; both act
// when a statement is prepared, not when it runs.
func nativeDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_txlock", "immediate")
	q.Add("_defensive", "1")
	q.Add("_pragma", "trusted_schema(OFF)")
	return path + "?" + q.Encode()
}

// nativeConn is the baseline's connection: one connection, as the plugin
// has, optionally with a statement cache.
type nativeConn struct {
	db       *sql.DB
	prepared bool
	stmts    map[string]*sql.Stmt
}

func openNative(ctx context.Context, path string, prepared bool) (*nativeConn, error) {
	db, err := sql.Open("sqlite", nativeDSN(path))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	c := &nativeConn{db: db, prepared: prepared, stmts: map[string]*sql.Stmt{}}
	if prepared {
		for _, q := range allStatements {
			s, err := db.PrepareContext(ctx, q)
			if err != nil {
				c.Close()
				return nil, err
			}
			c.stmts[q] = s
		}
	}
	return c, nil
}

func (c *nativeConn) Close() error {
	for _, s := range c.stmts {
		s.Close()
	}
	return c.db.Close()
}

// allStatements are prepared up front by the prepared flavour. They must
// be: the pool has one connection, so a statement prepared on the *sql.DB
// while a transaction holds that connection would wait forever, and one
// prepared on the transaction would be re-prepared by the next.
var allStatements = []string{selectDue, selectOne, resetUsage, resetPolicy, insertEvents, deleteExpired, "SELECT 1"}

// stmt returns the prepared statement for q (prepared flavour only).
func (c *nativeConn) stmt(q string) (*sql.Stmt, error) {
	if s, ok := c.stmts[q]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("statement not prepared: %q", q)
}

func (c *nativeConn) query(ctx context.Context, tx *sql.Tx, q string, args ...any) (*sql.Rows, error) {
	if !c.prepared {
		if tx != nil {
			return tx.QueryContext(ctx, q, args...)
		}
		return c.db.QueryContext(ctx, q, args...)
	}
	s, err := c.stmt(q)
	if err != nil {
		return nil, err
	}
	if tx != nil {
		s = tx.StmtContext(ctx, s)
	}
	return s.QueryContext(ctx, args...)
}

func (c *nativeConn) queryRow(ctx context.Context, tx *sql.Tx, q string, args ...any) *sql.Row {
	if !c.prepared {
		if tx != nil {
			return tx.QueryRowContext(ctx, q, args...)
		}
		return c.db.QueryRowContext(ctx, q, args...)
	}
	s, err := c.stmt(q)
	if err != nil {
		panic(err) // a statement missing from allStatements is a bug here
	}
	if tx != nil {
		s = tx.StmtContext(ctx, s)
	}
	return s.QueryRowContext(ctx, args...)
}

func (c *nativeConn) exec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if !c.prepared {
		return tx.ExecContext(ctx, q, args...)
	}
	s, err := c.stmt(q)
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, s).ExecContext(ctx, args...)
}

// Report mirrors guest.Report / host.Report.
type Report struct {
	Processed int64 `json:"processed"`
	Errors    int64 `json:"errors"`
}

// --- retry, as abi/guest/retry.go ---

var backoff = []time.Duration{5 * time.Millisecond, 10 * time.Millisecond}

func isRetryable(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
	}
	return false
}

func retry(ctx context.Context, fn func() error) error {
	err := fn()
	for _, wait := range backoff {
		if !isRetryable(err) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		err = fn()
	}
	return err
}

func withTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	return retry(ctx, func() error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		if err := fn(tx); err != nil {
			_ = tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	})
}

// --- budget_reset, as internal/budgetreset/budgetreset.go ---

func nativeBudgetTick(ctx context.Context, c *nativeConn, now int64) (Report, error) {
	var rep Report
	ids, err := nativeDueBudgets(ctx, c, now)
	if err != nil {
		return rep, fmt.Errorf("select due budgets: %w", err)
	}
	for _, id := range ids {
		var reset bool
		err := withTx(ctx, c.db, func(tx *sql.Tx) error {
			var err error
			reset, err = nativeResetOne(ctx, c, tx, id, now)
			return err
		})
		switch {
		case err != nil:
			rep.Errors++
		case reset:
			rep.Processed++
		}
	}
	return rep, nil
}

func nativeDueBudgets(ctx context.Context, c *nativeConn, now int64) ([]string, error) {
	var ids []string
	err := retry(ctx, func() error {
		ids = ids[:0]
		rows, err := c.query(ctx, nil, selectDue, now, budgetBatch)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	return ids, err
}

func nativeResetOne(ctx context.Context, c *nativeConn, tx *sql.Tx, id string, now int64) (bool, error) {
	var policyJSON string
	var next sql.NullInt64
	err := c.queryRow(ctx, tx, selectOne, id).Scan(&policyJSON, &next)
	if err == sql.ErrNoRows || (err == nil && (!next.Valid || next.Int64 > now)) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("re-read budget %s: %w", id, err)
	}
	var nextReset any
	if iv := policyjson.ResetInterval(policyJSON); iv > 0 { // the plugin's own parser
		next := now + iv
		if next < now {
			next = math.MaxInt64
		}
		nextReset = next
	}
	if _, err := c.exec(ctx, tx, resetUsage, now, now, id); err != nil {
		return false, fmt.Errorf("reset usage of budget %s: %w", id, err)
	}
	if _, err := c.exec(ctx, tx, resetPolicy, now, nextReset, id); err != nil {
		return false, fmt.Errorf("reschedule budget %s: %w", id, err)
	}
	return true, nil
}

// --- worker_ttl, as internal/workerttl/workerttl.go ---

func nativeSweepTick(ctx context.Context, c *nativeConn, now int64) (Report, error) {
	var rep Report
	err := withTx(ctx, c.db, func(tx *sql.Tx) error {
		if _, err := c.exec(ctx, tx, insertEvents, now, now); err != nil {
			return fmt.Errorf("record ttl_swept events: %w", err)
		}
		res, err := c.exec(ctx, tx, deleteExpired, now)
		if err != nil {
			return fmt.Errorf("delete expired workers: %w", err)
		}
		rep.Processed, err = res.RowsAffected()
		return err
	})
	return rep, err
}

// --- round trip, as tests/bench/plugins/roundtrip ---

func nativeRoundTrip(ctx context.Context, c *nativeConn, n int) error {
	for i := 0; i < n; i++ {
		var v int64
		if err := c.queryRow(ctx, nil, "SELECT 1").Scan(&v); err != nil {
			return err
		}
	}
	return nil
}
