package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
)

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

func tick(ctx context.Context, db *sql.DB, now int64) (guest.Report, error) {
	var rep guest.Report
	ids, err := dueBudgets(ctx, db, now)
	if err != nil {
		return rep, fmt.Errorf("select due budgets: %w", err)
	}
	log := guest.Logger()
	for _, id := range ids {
		var reset bool
		err := guest.WithTx(ctx, db, func(tx *sql.Tx) error {
			var err error
			reset, err = resetOne(ctx, tx, id, now)
			return err
		})
		switch {
		case err != nil:
			rep.Errors++
			log.Warn("budget reset failed", "budget_id", id, "err", err)
		case reset:
			rep.Processed++
		}
	}
	return rep, nil
}

func dueBudgets(ctx context.Context, db *sql.DB, now int64) ([]string, error) {
	var ids []string
	err := guest.Retry(ctx, func() error {
		ids = ids[:0]
		rows, err := db.QueryContext(ctx, selectDue, now, batchSize)
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

// resetOne resets one budget inside tx and reports whether it did. A budget
// that is gone, or no longer due, is left alone.
func resetOne(ctx context.Context, tx *sql.Tx, id string, now int64) (bool, error) {
	var policy string
	var next sql.NullInt64
	err := tx.QueryRowContext(ctx, selectOne, id).Scan(&policy, &next)
	if err == sql.ErrNoRows || (err == nil && (!next.Valid || next.Int64 > now)) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("re-read budget %s: %w", id, err)
	}
	var nextReset any // NULL unless the policy has a positive interval
	if iv := resetInterval(policy); iv > 0 {
		next := now + iv
		if next < now { // overflowed: a huge interval means "not in our lifetime", never "already due"
			next = math.MaxInt64
		}
		nextReset = next
	}
	if _, err := tx.ExecContext(ctx, resetUsage, now, now, id); err != nil {
		return false, fmt.Errorf("reset usage of budget %s: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, resetPolicy, now, nextReset, id); err != nil {
		return false, fmt.Errorf("reschedule budget %s: %w", id, err)
	}
	return true, nil
}

// resetInterval is policy_json's reset_interval_ms when that is an integer
// JSON number that fits in an int64, and 0 otherwise: a missing key, a
// fraction or exponent, a string, or malformed JSON.
func resetInterval(policy string) int64 {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(policy), &fields); err != nil {
		return 0
	}
	raw := bytes.TrimSpace(fields["reset_interval_ms"])
	v, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0
	}
	return v
}
