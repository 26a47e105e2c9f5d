// Command budget_reset is the ffwasmhost plugin that resets budgets whose
// reset window has lapsed. docs/reconcilers.md, at the repository's root,
// is the contract it keeps. Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared.
package main

import (
	"context"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi"
	"github.com/ffwasmhost/ffwasmhost/abi/guest"
)

func init() {
	guest.Register(guest.Plugin{
		Name:            "budget_reset",
		Version:         "1.0.0",
		Description:     "Resets budget usage whose reset window has lapsed and reschedules the next reset.",
		DefaultInterval: 15 * time.Second,
		Writes:          []string{"ff_budget_policy", "ff_budget_usage"},
		Dialects:        []string{"sqlite", "postgres"},
		PartitionFamily: "budget",
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
