package main

import (
	"context"

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

func tick(ctx context.Context, db *guest.Conn, now int64) (guest.Report, error) {
	var rep guest.Report
	err := guest.WithTx(ctx, db, func() error {
		if _, err := db.Exec(insertEvents, now, now); err != nil {
			return guest.Wrap("record ttl_swept events", err)
		}
		res, err := db.Exec(deleteExpired, now)
		if err != nil {
			return guest.Wrap("delete expired workers", err)
		}
		rep.Processed = res.RowsAffected
		return nil
	})
	return rep, err
}
