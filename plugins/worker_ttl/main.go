// Command worker_ttl is the ffwasmhost plugin that sweeps workers whose
// liveness TTL has expired. See docs/reconcilers.md, at the repository's root, for the
// contract it keeps. Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared.
package main

import (
	"context"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/abi/guest"
)

func init() {
	guest.Register(guest.Plugin{
		Name:            "worker_ttl",
		Version:         "1.0.0",
		Description:     "Deletes workers whose heartbeat is older than their liveness TTL and records a ttl_swept event for each.",
		DefaultInterval: 30 * time.Second,
		Writes:          []string{"ff_worker_registry", "ff_worker_registry_event"},
		Dialects:        []string{"sqlite", "postgres"},
		PartitionFamily: "worker_registry",
		Tick:            tick,
	})
}

// tick runs the SQLite reconciler, or on PostgreSQL the one of the
// partition the host ticks.
func tick(ctx context.Context, db *guest.Conn, now int64) (guest.Report, error) {
	if guest.Dialect() == abi.DialectPostgres {
		return tickPostgres(ctx, db, int64(guest.Partition()), now)
	}
	return tickSQLite(ctx, db, now)
}

func main() {}
