// Package workerttl is the worker_ttl reconciler: it sweeps workers whose
// liveness TTL has expired. docs/reconcilers.md, at the repository's root,
// is the contract it keeps. The Go plugin (plugins/worker_ttl) and the
// Extism one (plugins/extism/worker_ttl) register Plugin.
package workerttl

import (
	"context"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
)

// Plugin is worker_ttl's registration.
var Plugin = guest.Plugin{
	Name:            "worker_ttl",
	Version:         "1.0.0",
	Description:     "Deletes workers whose heartbeat is older than their liveness TTL and records a ttl_swept event for each.",
	DefaultInterval: 30 * time.Second,
	Writes:          []string{"ff_worker_registry", "ff_worker_registry_event"},
	Dialects:        []string{"sqlite", "postgres"},
	PartitionFamily: "worker_registry",
	Tick:            tick,
}

// The sweep is two set-based statements in one transaction, so it costs the
// same two host calls for one expired worker or a hundred thousand. The
// event insert runs first, over the very rows the delete then removes.
//
// Before it, one read outside any transaction asks whether any worker is
// expired at all: an idle tick, the usual one, then takes no write lock.
// The host's expression index on last_heartbeat_ms + liveness_ttl_ms (host
// schema step 2) answers it, and the sweep's own WHERE, in O(log n)
// whatever the registry's size; without the index they scan.
const (
	anyExpired   = `SELECT 1 FROM ff_worker_registry WHERE last_heartbeat_ms + liveness_ttl_ms < ? LIMIT 1`
	insertEvents = `INSERT INTO ff_worker_registry_event
(namespace, worker_instance_id, event_kind, event_at_ms, reason)
SELECT namespace, worker_instance_id, 'ttl_swept', ?, NULL
FROM ff_worker_registry WHERE last_heartbeat_ms + liveness_ttl_ms < ?
ON CONFLICT DO NOTHING`
	deleteExpired = `DELETE FROM ff_worker_registry WHERE last_heartbeat_ms + liveness_ttl_ms < ?`
)

// tickSQLite is the reconciler on SQLite, where every row is in partition 0.
func tickSQLite(ctx context.Context, db *guest.Conn, now int64) (guest.Report, error) {
	var rep guest.Report
	var one int64
	err := guest.Retry(ctx, func() error { return db.QueryRow(anyExpired, now).Scan(&one) })
	if err == guest.ErrNoRows {
		return rep, nil // nothing expired: no transaction, no write lock
	}
	if err != nil {
		return rep, guest.Wrap("look for expired workers", err)
	}
	err = guest.WithTx(ctx, db, func() error {
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
