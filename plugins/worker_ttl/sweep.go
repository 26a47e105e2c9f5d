package main

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
)

// The sweep is two set-based statements in one transaction, so it costs the
// same two host calls for one expired worker or a hundred thousand. The
// event insert runs first, over the very rows the delete then removes.
const (
	insertEvents = `INSERT INTO ff_worker_registry_event
(namespace, worker_instance_id, event_kind, event_at_ms, reason)
SELECT namespace, worker_instance_id, 'ttl_swept', ?, NULL
FROM ff_worker_registry WHERE last_heartbeat_ms + liveness_ttl_ms < ?
ON CONFLICT DO NOTHING`
	deleteExpired = `DELETE FROM ff_worker_registry WHERE last_heartbeat_ms + liveness_ttl_ms < ?`
)

func tick(ctx context.Context, db *sql.DB, now int64) (guest.Report, error) {
	var rep guest.Report
	err := guest.WithTx(ctx, db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, insertEvents, now, now); err != nil {
			return fmt.Errorf("record ttl_swept events: %w", err)
		}
		res, err := tx.ExecContext(ctx, deleteExpired, now)
		if err != nil {
			return fmt.Errorf("delete expired workers: %w", err)
		}
		rep.Processed, err = res.RowsAffected()
		return err
	})
	return rep, err
}
