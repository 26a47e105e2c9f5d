// Package budgetreset is the budget_reset reconciler: it resets budgets
// whose reset window has lapsed. docs/reconcilers.md, at the repository's
// root, is the contract it keeps. The Go plugin (plugins/budget_reset)
// and the Extism one (plugins/extism/budget_reset) register Plugin.
package budgetreset

import (
	"context"
	"math"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
	"github.com/ffwasmhost/ffwasmhost/internal/policyjson"
)

// Plugin is budget_reset's registration.
var Plugin = guest.Plugin{
	Name:            "budget_reset",
	Version:         "1.0.0",
	Description:     "Resets budget usage whose reset window has lapsed and reschedules the next reset.",
	DefaultInterval: 15 * time.Second,
	Writes:          []string{"ff_budget_policy", "ff_budget_usage"},
	Dialects:        []string{"sqlite", "postgres"},
	PartitionFamily: "budget",
	Tick:            tick,
}

// batchSize is how many due budgets one tick resets at most.
const batchSize = 20

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

// tickSQLite is the reconciler on SQLite, where every row is in partition 0.
func tickSQLite(ctx context.Context, db *guest.Conn, now int64) (guest.Report, error) {
	var rep guest.Report
	ids, err := dueBudgets(ctx, db, now)
	if err != nil {
		return rep, guest.Wrap("select due budgets", err)
	}
	for _, id := range ids {
		var reset bool
		err := guest.WithTx(ctx, db, func() error {
			var err error
			reset, err = resetOne(db, id, now)
			return err
		})
		switch {
		case err != nil:
			rep.Errors++
			guest.Log.Warn("budget reset failed", "budget_id", id, "err", err)
		case reset:
			rep.Processed++
		}
	}
	// A full batch may have left more due: with drain on, the host ticks
	// again soon (ABI 1.1).
	rep.More = len(ids) == batchSize
	return rep, nil
}

func dueBudgets(ctx context.Context, db *guest.Conn, now int64) ([]string, error) {
	return queryIDs(ctx, db, selectDue, now, batchSize)
}

// queryIDs runs query, which selects one text column, and returns its
// values, retrying the whole read while the database is busy.
func queryIDs(ctx context.Context, db *guest.Conn, query string, args ...any) ([]string, error) {
	var ids []string
	err := guest.Retry(ctx, func() error {
		ids = ids[:0]
		rows, err := db.Query(query, args...)
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

// resetOne resets one budget inside the open transaction and reports
// whether it did. A budget that is gone, or no longer due, is left alone.
func resetOne(db *guest.Conn, id string, now int64) (bool, error) {
	var policyJSON string
	var next guest.NullInt64
	err := db.QueryRow(selectOne, id).Scan(&policyJSON, &next)
	if err == guest.ErrNoRows || (err == nil && (!next.Valid || next.Int64 > now)) {
		return false, nil
	}
	if err != nil {
		return false, guest.Wrap("re-read budget "+id, err)
	}
	var nextReset any // NULL unless the policy has a positive interval
	if iv := policyjson.ResetInterval(policyJSON); iv > 0 {
		next := now + iv
		if next < now { // overflowed: a huge interval means "not in our lifetime", never "already due"
			next = math.MaxInt64
		}
		nextReset = next
	}
	if _, err := db.Exec(resetUsage, now, now, id); err != nil {
		return false, guest.Wrap("reset usage of budget "+id, err)
	}
	if _, err := db.Exec(resetPolicy, now, nextReset, id); err != nil {
		return false, guest.Wrap("reschedule budget "+id, err)
	}
	return true, nil
}
