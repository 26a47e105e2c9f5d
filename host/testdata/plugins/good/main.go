// Command good is a well-behaved fixture: each tick appends one row to ff_worker_registry_event (namespace 'good') and reports how many it has written.
package main

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
	"github.com/ffwasmhost/ffwasmhost/abi/guest/stdlib"
)

func init() {
	guest.Register(guest.Plugin{
		Name:            "good",
		Version:         "1.0.0",
		Description:     "Counts its ticks in ff_worker_registry_event.",
		DefaultInterval: time.Second,
		Writes:          []string{"ff_worker_registry_event"},
		Tick:            tick,
	})
}

// The n-th tick writes event_at_ms = n, so the rows count the ticks that
// committed, whatever now_ms is; reason records now_ms.
const insertTick = `INSERT INTO ff_worker_registry_event
(namespace, worker_instance_id, event_kind, event_at_ms, reason)
SELECT 'good', 'good', 'tick', coalesce(max(event_at_ms), 0) + 1, ?
FROM ff_worker_registry_event WHERE namespace = 'good'`

func tick(ctx context.Context, _ *guest.Conn, now int64) (guest.Report, error) {
	db := stdlib.DB()
	var n int64
	err := stdlib.WithTx(ctx, db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, insertTick, strconv.FormatInt(now, 10)); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM ff_worker_registry_event WHERE namespace = 'good'`).Scan(&n)
	})
	return guest.Report{Processed: n}, err
}

func main() {}
