package budgetreset

import (
	"context"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/abi/guest"
	sql "github.com/ffwasmhost/ffwasmhost/internal/pgreconcilesql"
)

// tickPostgres resets partition's due budgets on FlowFabric's PostgreSQL
// schema: the statements and control flow of the reference
// (host/internal/pgreconcile). Each budget's transaction runs SERIALIZABLE
// (the host's isolation on PostgreSQL) and re-reads the budget FOR NO KEY
// UPDATE; a serialization failure is busy, and WithTx retries the whole
// transaction. now + interval past bigint fails that budget, which stays
// due, instead of saturating as on SQLite.
func tickPostgres(ctx context.Context, db *guest.Conn, partition, now int64) (guest.Report, error) {
	var rep guest.Report
	ids, err := queryIDs(ctx, db, sql.BudgetSelectDue, partition, now, int64(sql.BatchSize))
	if err != nil {
		return rep, guest.Wrap("select due budgets", err)
	}
	for _, id := range ids {
		var reset bool
		err := guest.WithTx(ctx, db, func() error {
			var err error
			reset, err = resetOnePostgres(db, partition, id, now)
			return err
		})
		switch {
		case err != nil:
			rep.Errors++
			guest.Log.Warn("budget reset failed", "partition", partition, "budget_id", id, "err", err)
		case reset:
			rep.Processed++
		}
	}
	rep.More = len(ids) == sql.BatchSize
	return rep, nil
}

// resetOnePostgres resets one budget in the open transaction and reports
// whether it did: a budget gone, unscheduled or no longer due is left
// alone.
func resetOnePostgres(db *guest.Conn, partition int64, id string, now int64) (bool, error) {
	var interval guest.NullString
	var next guest.NullInt64
	err := db.QueryRow(sql.BudgetSelectOne, partition, id).Scan(&interval, &next)
	if err == guest.ErrNoRows || (err == nil && (!next.Valid || next.Int64 > now)) {
		return false, nil
	}
	if err != nil {
		return false, guest.Wrap("re-read budget "+id, err)
	}
	var iv int64
	if interval.Valid {
		iv = sql.ResetInterval(interval.String)
	}
	if _, err := db.Exec(sql.BudgetResetUsage, now, partition, id); err != nil {
		return false, guest.Wrap("reset usage of budget "+id, err)
	}
	if _, err := db.Exec(sql.BudgetResetPolicy, now, iv, partition, id); err != nil {
		return false, guest.Wrap("reschedule budget "+id, err)
	}
	return true, nil
}

// tick runs the SQLite reconciler, or on PostgreSQL the one of the
// partition the host ticks.
func tick(ctx context.Context, db *guest.Conn, now int64) (guest.Report, error) {
	if guest.Dialect() == abi.DialectPostgres {
		return tickPostgres(ctx, db, int64(guest.Partition()), now)
	}
	return tickSQLite(ctx, db, now)
}
