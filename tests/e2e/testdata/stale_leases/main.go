// Command stale_leases is a plugin written as in a repository of its own
// (it is a Go module of its own, with a replace to this repository): it
// owns the table leases, which its migrations create, and each tick
// releases the leases held by workers no longer in ff_worker_registry.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o stale_leases.wasm .
// With -ldflags=-X=main.edited=yes its first migration's text differs:
// the build a host must refuse once the original has been applied.
package main

import (
	"context"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi/guest"
)

// edited, set at link time, changes the text of the applied migration 1.
var edited string

func init() {
	create := `CREATE TABLE leases (
    lease_id     TEXT    NOT NULL PRIMARY KEY,
    namespace    TEXT    NOT NULL,
    worker_instance_id TEXT NOT NULL,
    acquired_ms  INTEGER NOT NULL
)`
	if edited != "" {
		create += " -- edited after release"
	}
	guest.Register(guest.Plugin{
		Name:            "stale_leases",
		Version:         "1.0.0",
		Description:     "Releases leases held by workers that are no longer registered.",
		DefaultInterval: 2 * time.Second,
		Reads:           []string{"ff_worker_registry"},
		Owns:            []string{"leases"},
		Migrations: map[string][]guest.Migration{
			guest.SQLite: {
				{ID: 1, Name: "create leases", SQL: create},
				{ID: 2, Name: "index leases by worker", SQL: `CREATE INDEX leases_worker ON leases (namespace, worker_instance_id)`},
			},
		},
		Tick: tick,
	})
}

func tick(_ context.Context, db *guest.Conn, nowMS int64) (guest.Report, error) {
	res, err := db.Exec(`DELETE FROM leases WHERE NOT EXISTS (
    SELECT 1 FROM ff_worker_registry w
    WHERE w.namespace = leases.namespace AND w.worker_instance_id = leases.worker_instance_id)`)
	if err != nil {
		return guest.Report{}, err
	}
	return guest.Report{Processed: res.RowsAffected}, nil
}

func main() {}
