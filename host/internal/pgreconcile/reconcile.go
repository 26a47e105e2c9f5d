// Package pgreconcile is the reference implementation of FlowFabric's two
// reconcilers, budget_reset and worker_ttl, on its PostgreSQL schema: one
// partition per call, the SQL a plugin sends (text and wire-encoded
// arguments through the calls a plugin makes), the retries it makes.
//
// The plugins' PostgreSQL paths (plugins/budget_reset, plugins/worker_ttl)
// send this package's statements (internal/pgreconcilesql) with its control
// flow. Its tests run every case table three times: through a
// pgsandbox.Session, as a plugin's calls reach one, and with the plugins'
// wasm builds, ffhost and Extism (plugins/extism), on the host's
// PostgreSQL store, one partition per tick.
//
// Differences from the SQLite reconcilers, as FlowFabric's Postgres
// backend has them:
//
//   - each call handles one partition P (budget_reset walks 32, worker_ttl
//     256), and touches no row of another partition;
//   - budget_reset's per-budget transaction is SERIALIZABLE (the session's
//     isolation) and re-reads the budget FOR NO KEY UPDATE; serialization
//     failures are busy and retried like SQLite's busy;
//   - now + interval overflowing bigint fails that budget (counted in
//     errors, the budget stays due) instead of saturating;
//   - policy_json is jsonb, so it cannot be malformed, and a number is
//     read as jsonb stores it: 1e3 is the integer 1000 (as FlowFabric's
//     reader, given jsonb's text, sees it), 1.0 is not an integer;
//   - worker_ttl is one statement: the delete, the events and the count.
//
// It is test reference code beside the plugins: it must not import the
// plugin runtime (its tests do, to run the plugins), and the runtime must
// not import it.
package pgreconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/internal/pgreconcilesql"
)

// Conn is a plugin's connection as the runtime serves its host calls: the
// method set of pgsandbox.Session.
type Conn interface {
	Exec(ctx context.Context, buf, sql, args []byte) ([]byte, error)
	Query(ctx context.Context, buf, sql, args []byte, limit uint32) ([]byte, error)
	Begin(ctx context.Context) error
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
	Explain(err error) (abi.Status, string)
}

// Report is what one partition's tick did.
type Report struct {
	Processed int64 // budgets reset, workers swept
	Errors    int64 // budgets that failed
}

// BatchSize is how many due budgets one partition's tick resets at most.
const BatchSize = pgreconcilesql.BatchSize

// Backoff is the wait before each retry of a busy call: three attempts in
// all, as the guest SDK and FlowFabric do.
var Backoff = []time.Duration{5 * time.Millisecond, 10 * time.Millisecond}

// resultLimit is the largest result the reconcilers ask for.
const resultLimit = 1 << 20

// The statements, shared with the plugins (internal/pgreconcilesql).
const (
	BudgetSelectDue   = pgreconcilesql.BudgetSelectDue
	BudgetSelectOne   = pgreconcilesql.BudgetSelectOne
	BudgetResetUsage  = pgreconcilesql.BudgetResetUsage
	BudgetResetPolicy = pgreconcilesql.BudgetResetPolicy
	WorkerSweep       = pgreconcilesql.WorkerSweep
)

// callError is a failed call as a plugin sees it: a status and a message.
type callError struct {
	status abi.Status
	msg    string
}

func (e *callError) Error() string { return e.status.String() + ": " + e.msg }

// call turns a Conn error into what the plugin would see.
func call(c Conn, err error) error {
	if err == nil {
		return nil
	}
	st, msg := c.Explain(err)
	return &callError{st, msg}
}

func busy(err error) bool {
	var ce *callError
	return errors.As(err, &ce) && ce.status == abi.StatusBusy
}

// retry runs fn, again after each wait in Backoff while it fails busy.
func retry(ctx context.Context, fn func() error) error {
	err := fn()
	for _, wait := range Backoff {
		if !busy(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		err = fn()
	}
	return err
}

func args(vs ...any) []byte {
	b, err := abi.AppendArgs(nil, vs)
	if err != nil {
		panic(err) // the reconcilers pass only int64 and string
	}
	return b
}

// query runs sql and returns its rows.
func query(ctx context.Context, c Conn, sql string, a []byte) ([][]any, error) {
	out, err := c.Query(ctx, nil, []byte(sql), a, resultLimit)
	if err != nil {
		return nil, call(c, err)
	}
	d := abi.NewDecoder(out)
	cols, n, err := abi.QueryHeader(d)
	if err != nil {
		return nil, err
	}
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = make([]any, len(cols))
		for j := range cols {
			if rows[i][j], err = d.Value(); err != nil {
				return nil, err
			}
		}
	}
	return rows, nil
}

func exec(ctx context.Context, c Conn, sql string, a []byte) error {
	_, err := c.Exec(ctx, nil, []byte(sql), a)
	return call(c, err)
}

// withTx runs fn in one transaction and commits it, rolling back if fn or
// the commit fails, the whole retried while it fails busy.
func withTx(ctx context.Context, c Conn, fn func() error) error {
	return retry(ctx, func() error {
		if err := c.Begin(ctx); err != nil {
			return fmt.Errorf("begin: %w", call(c, err))
		}
		if err := fn(); err != nil {
			_ = c.Rollback(ctx)
			return err
		}
		if err := c.Commit(ctx); err != nil {
			_ = c.Rollback(ctx) // on Postgres the failed commit ended it; this closes it for the ABI
			return fmt.Errorf("commit: %w", call(c, err))
		}
		return nil
	})
}

// BudgetReset resets partition's due budgets at now, at most BatchSize,
// earliest due first, each in its own transaction (which the session runs
// SERIALIZABLE). A budget that fails is counted in Errors and the others
// go on; failed lists why, by budget id. The error is for a tick that could
// not even select its budgets.
func BudgetReset(ctx context.Context, c Conn, partition int, now int64) (rep Report, failed map[string]error, err error) {
	var ids []string
	err = retry(ctx, func() error {
		rows, err := query(ctx, c, BudgetSelectDue, args(int64(partition), now, int64(BatchSize)))
		if err != nil {
			return err
		}
		ids = ids[:0]
		for _, r := range rows {
			id, ok := r[0].(string)
			if !ok {
				return fmt.Errorf("budget_id is %T, want text", r[0])
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return rep, nil, fmt.Errorf("select due budgets of partition %d: %w", partition, err)
	}
	for _, id := range ids {
		var reset bool
		err := withTx(ctx, c, func() error {
			var err error
			reset, err = resetOne(ctx, c, partition, id, now)
			return err
		})
		switch {
		case err != nil:
			rep.Errors++
			if failed == nil {
				failed = map[string]error{}
			}
			failed[id] = err
		case reset:
			rep.Processed++
		}
	}
	return rep, failed, nil
}

// resetOne resets one budget in the open transaction and reports whether
// it did: a budget gone, unscheduled or no longer due is left alone.
func resetOne(ctx context.Context, c Conn, partition int, id string, now int64) (bool, error) {
	rows, err := query(ctx, c, BudgetSelectOne, args(int64(partition), id))
	if err != nil {
		return false, fmt.Errorf("re-read budget %s: %w", id, err)
	}
	if len(rows) == 0 {
		return false, nil
	}
	next, ok := rows[0][1].(int64)
	if !ok || next > now {
		return false, nil
	}
	interval := ResetInterval(rows[0][0])
	if err := exec(ctx, c, BudgetResetUsage, args(now, int64(partition), id)); err != nil {
		return false, fmt.Errorf("reset usage of budget %s: %w", id, err)
	}
	if err := exec(ctx, c, BudgetResetPolicy, args(now, interval, int64(partition), id)); err != nil {
		return false, fmt.Errorf("reschedule budget %s: %w", id, err)
	}
	return true, nil
}

// ResetInterval is reset_interval_ms as BudgetSelectOne returns it (the
// jsonb value's text, or NULL): the integer if it is a JSON integer that
// fits an int64, else 0. A negative one is returned as is; the policy
// UPDATE treats every interval below 1 as none.
func ResetInterval(v any) int64 {
	s, ok := v.(string)
	if !ok {
		return 0
	}
	return pgreconcilesql.ResetInterval(s)
}

// WorkerTTL sweeps partition's workers whose heartbeat expired before now,
// recording a ttl_swept event for each, in one statement.
func WorkerTTL(ctx context.Context, c Conn, partition int, now int64) (Report, error) {
	var rep Report
	err := retry(ctx, func() error {
		rows, err := query(ctx, c, WorkerSweep, args(int64(partition), now))
		if err != nil {
			return err
		}
		if len(rows) != 1 {
			return fmt.Errorf("sweep returned %d rows, want 1", len(rows))
		}
		n, ok := rows[0][0].(int64)
		if !ok {
			return fmt.Errorf("sweep count is %T, want int", rows[0][0])
		}
		rep.Processed = n
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("sweep worker partition %d: %w", partition, err)
	}
	return rep, nil
}
