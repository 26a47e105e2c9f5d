package workerttl

import (
	"context"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/abi/guest"
	sql "github.com/ffwasmhost/ffwasmhost/internal/pgreconcilesql"
)

// tickPostgres sweeps partition's expired workers on FlowFabric's
// PostgreSQL schema in one statement (the delete, the events and the
// count), as the reference (host/internal/pgreconcile) does: it needs no
// transaction, and a busy failure is retried whole.
func tickPostgres(ctx context.Context, db *guest.Conn, partition, now int64) (guest.Report, error) {
	var rep guest.Report
	err := guest.Retry(ctx, func() error {
		return db.QueryRow(sql.WorkerSweep, partition, now).Scan(&rep.Processed)
	})
	if err != nil {
		return guest.Report{}, guest.Wrap("sweep expired workers", err)
	}
	return rep, nil
}

// tick runs the SQLite reconciler, or on PostgreSQL the one of the
// partition the host ticks.
func tick(ctx context.Context, db *guest.Conn, now int64) (guest.Report, error) {
	if guest.Dialect() == abi.DialectPostgres {
		return tickPostgres(ctx, db, int64(guest.Partition()), now)
	}
	return tickSQLite(ctx, db, now)
}
